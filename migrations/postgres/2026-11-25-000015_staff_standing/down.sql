DROP FUNCTION filingdesk_confirm_staff(text);
