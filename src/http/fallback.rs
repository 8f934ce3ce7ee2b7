//! Answers for requests no route matched: 405 (with `Allow`) when the path
//! exists under another method, 404 otherwise. actix's own answer for a
//! method mismatch between separately registered handlers would be 404.

use actix_web::dev::ResourceDef;
use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::error::ApiError;

/// Every documented path template with its methods.
pub struct KnownPaths(Vec<(ResourceDef, Vec<String>)>);

impl KnownPaths {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let paths = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods = Vec::new();
                let ops = [
                    ("GET", &item.get),
                    ("POST", &item.post),
                    ("PUT", &item.put),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                ];
                for (m, op) in ops {
                    if op.is_some() {
                        methods.push(m.to_owned());
                    }
                }
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self(paths)
    }

    fn allowed(&self, path: &str) -> Option<&[String]> {
        self.0.iter().find(|(def, _)| def.is_match(path)).map(|(_, m)| m.as_slice())
    }
}

pub async fn not_matched(req: HttpRequest, known: web::Data<KnownPaths>) -> HttpResponse {
    match known.allowed(req.path()) {
        Some(methods) if !methods.iter().any(|m| m == req.method().as_str()) && req.method() != Method::OPTIONS => {
            let mut resp = ApiError::MethodNotAllowed.error_response();
            if let Ok(v) = header::HeaderValue::from_str(&methods.join(", ")) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            resp
        }
        _ => ApiError::NotFound.error_response(),
    }
}
