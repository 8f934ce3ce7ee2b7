DROP FUNCTION filingdesk_submission_context(TEXT, TEXT, TIMESTAMP);
