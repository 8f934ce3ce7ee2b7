DROP TABLE filing_password_history;
