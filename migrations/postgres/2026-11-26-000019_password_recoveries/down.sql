DROP TABLE password_recoveries;
