DROP FUNCTION filingdesk_in_standing(text, integer, text[]);
