DROP TABLE tenant_settings;
DROP TABLE refresh_tokens;
DROP TABLE staff;
DROP TABLE tenants;
DROP TABLE service_meta;
