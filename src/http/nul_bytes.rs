//! NUL is no character of any text this service keeps: PostgreSQL cannot
//! store it in `text` (a 500 and a cut-off export before this), SQLite
//! would. Refused alike on both backends: in the path 404 (it names
//! nothing) and in a query parameter 422 naming it, by this middleware
//! before any route runs; in a JSON body 422 naming the field, by the body
//! extractor (`extract::parse_json`), which reads the body anyway.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::ResponseError;

use crate::error::ApiError;

/// Whether percent-encoded text holds an encoded NUL.
fn encodes_nul(raw: &str) -> bool {
    raw.as_bytes().windows(3).any(|w| w == b"%00")
}

/// The query parameter whose name or value holds a NUL.
fn query_field(query: &str) -> Option<String> {
    query.split('&').find(|pair| encodes_nul(pair)).map(|pair| {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        if encodes_nul(name) {
            "query".to_owned()
        } else {
            name.to_owned()
        }
    })
}

/// Whether JSON text holds the escape `\u0000` (an escaped backslash
/// followed by `u0000` is not one). A raw NUL byte is not JSON at all and
/// is left to the parser.
fn json_escapes_nul(body: &[u8]) -> bool {
    body.windows(6)
        .enumerate()
        .any(|(i, w)| w == b"\\u0000" && body[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0)
}

/// The dotted path of the first string (or key) in `v` that holds a NUL.
fn json_field(v: &serde_json::Value, path: &str) -> Option<String> {
    let at = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match v {
        serde_json::Value::String(s) if s.contains('\0') => {
            Some(if path.is_empty() { "body".into() } else { path.into() })
        }
        serde_json::Value::Object(map) => {
            map.iter().find_map(|(k, v)| if k.contains('\0') { Some(at("key")) } else { json_field(v, &at(k)) })
        }
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| json_field(v, &format!("{path}[{i}]")))
        }
        _ => None,
    }
}

fn nul_error(field: &str) -> ApiError {
    ApiError::field(field, "invalid", "must not contain NUL characters")
}

pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if encodes_nul(req.uri().path()) {
        return Ok(req.into_response(ApiError::NotFound.error_response()));
    }
    if let Some(field) = query_field(req.query_string()) {
        return Ok(req.into_response(nul_error(&field).error_response()));
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

/// A JSON body's NUL, as 422 naming its field.
pub fn refuse_in_json(body: &[u8]) -> Result<(), ApiError> {
    if !json_escapes_nul(body) {
        return Ok(());
    }
    let field = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| json_field(&v, ""))
        .unwrap_or_else(|| "body".to_owned());
    Err(nul_error(&field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_where_it_is_and_only_there() {
        assert!(encodes_nul("/api/v1/public/%00/tickets/x"));
        assert!(!encodes_nul("/api/v1/public/acme/tickets/x%2000"));
        assert_eq!(query_field("limit=5&q=a%00b").as_deref(), Some("q"));
        assert_eq!(query_field("a%00=1").as_deref(), Some("query"));
        assert_eq!(query_field("q=100%25"), None);
        assert!(json_escapes_nul(br#"{"username":"a\u0000b"}"#));
        assert!(!json_escapes_nul(br#"{"username":"a\\u0000b"}"#), "an escaped backslash");
        assert!(json_escapes_nul(br#"{"username":"a\\\u0000b"}"#));
        let v: serde_json::Value = serde_json::from_str(r#"{"a":{"b":["x","y\u0000"]}}"#).unwrap();
        assert_eq!(json_field(&v, "").as_deref(), Some("a.b[1]"));
    }
}
