//! Real protocol peers the tests start: an SMTP server and an SMS gateway.

pub mod sms_gateway;
pub mod smtp;
pub mod webhook_receiver;
