DROP TABLE filing_domains;
DROP TABLE filings;
