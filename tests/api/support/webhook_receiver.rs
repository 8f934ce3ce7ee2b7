//! A webhook receiver on a free port: records every request with its
//! headers; answers 204, or the status the test sets, or not at all until
//! released (a slow endpoint), or a redirect.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

#[derive(Debug, Clone)]
pub struct Delivered {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub answered: u16,
}

impl Delivered {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The headers as the `standardwebhooks` crate takes them.
    pub fn headers(&self) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("webhook-id", self.id.parse().unwrap());
        h.insert("webhook-timestamp", self.timestamp.parse().unwrap());
        h.insert("webhook-signature", self.signature.parse().unwrap());
        h
    }
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Delivered>>,
    /// 0: accept; otherwise answer this status.
    failing: AtomicU16,
    /// Hold every answer until released.
    hanging: AtomicBool,
    release: tokio::sync::Notify,
    /// Answer with a body this long (the log keeps an excerpt only).
    long_answer: AtomicBool,
}

pub struct WebhookReceiver {
    pub port: u16,
    state: Arc<State>,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let failing = state.failing.load(Ordering::SeqCst);
    let answered = if req.path() == "/redirect" {
        307
    } else if failing == 0 {
        204
    } else {
        failing
    };
    state.received.lock().unwrap().push(Delivered {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered,
    });
    if state.hanging.load(Ordering::SeqCst) {
        state.release.notified().await;
    }
    let mut r = HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap());
    if answered == 307 {
        return r.insert_header(("location", "/hook")).finish();
    }
    if state.long_answer.load(Ordering::SeqCst) {
        return r.body("x".repeat(100_000));
    }
    r.finish()
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
            .workers(2)
            .disable_signals()
            .bind("127.0.0.1:0")
            .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { port, state, handle }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// From now on, answer `status`; `None` to accept again.
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.failing.store(status.unwrap_or(0), Ordering::SeqCst);
    }

    /// From now on, hold every answer until [`release`](Self::release).
    pub fn hang(&self) {
        self.state.hanging.store(true, Ordering::SeqCst);
    }

    pub fn release(&self) {
        self.state.hanging.store(false, Ordering::SeqCst);
        self.state.release.notify_waiters();
    }

    pub fn answer_long(&self) {
        self.state.long_answer.store(true, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Delivered> {
        self.state.received.lock().unwrap().clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.release();
        drop(self.handle.stop(false));
    }
}
