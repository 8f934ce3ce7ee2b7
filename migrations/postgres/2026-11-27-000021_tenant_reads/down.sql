DROP FUNCTION filingdesk_enter_tenant(text, text, integer, text[]);
