//! Pure types and rules: no actix, no diesel. Request bodies are parsed into
//! these once; a value of one of these types is valid by construction.

pub mod agency;
pub mod budget;
pub mod contact;
pub mod filing;
pub mod ids;
pub mod password_policy;
pub mod rate;
pub mod role;
pub mod scope;
pub mod settings;
pub mod staff;
pub mod tenant;
pub mod ticket;
pub mod webhook;

use serde::{Deserialize, Serialize};

/// One broken rule on one input field, as listed in a problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The JSON field (dotted for nested fields).
    pub field: String,
    /// A stable machine word, e.g. `too_short`, `invalid`, `required`.
    pub code: String,
    /// A human explanation; never echoes a secret.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// Collects field errors while parsing a whole body, so every broken rule is
/// reported at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    /// Keeps the parsed value, or records its error and yields `None`.
    pub fn check<T>(&mut self, parsed: Result<T, FieldError>) -> Option<T> {
        parsed.map_err(|e| self.0.push(e)).ok()
    }

    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// `Ok` when nothing was recorded.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// Trims and checks a free-text field for length (in characters) and control
/// characters.
pub fn parse_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "required", format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid", format!("{field} must not contain control characters")));
    }
    Ok(v.to_owned())
}
