DROP TABLE agency_authorizations;
DROP TABLE agencies;
