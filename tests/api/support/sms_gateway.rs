//! An HTTP SMS gateway on a free port: records every request, and answers
//! 200, or whatever failure status the test sets.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    pub signature: Option<String>,
    pub idempotency_key: Option<String>,
    /// The status the gateway answered.
    pub answered: u16,
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    /// 0: accept; otherwise answer this status.
    failing: AtomicU16,
    /// Run on each request before answering it: a fault to inject while
    /// the sender waits for the answer.
    on_receive: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

pub struct SmsGateway {
    pub port: u16,
    state: Arc<State>,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(hook) = state.on_receive.lock().unwrap().as_ref() {
        hook();
    }
    let failing = state.failing.load(Ordering::SeqCst);
    let answered = if failing == 0 { 200 } else { failing };
    state.received.lock().unwrap().push(Received {
        body: String::from_utf8_lossy(&body).into_owned(),
        signature: header("x-filingdesk-signature"),
        idempotency_key: header("idempotency-key"),
        answered,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).finish()
}

impl SmsGateway {
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/sms", web::post().to(receive)))
            .workers(1)
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
        format!("http://127.0.0.1:{}/sms", self.port)
    }

    /// From now on, answer `status` (e.g. 503); `None` to accept again.
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.failing.store(status.unwrap_or(0), Ordering::SeqCst);
    }

    /// Runs `hook` on every request before answering it.
    pub fn on_receive(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.state.on_receive.lock().unwrap() = Some(Box::new(hook));
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Requests the gateway accepted, with their parsed bodies.
    pub fn delivered(&self) -> Vec<serde_json::Value> {
        self.received().iter().filter(|r| r.answered < 300).map(|r| serde_json::from_str(&r.body).unwrap()).collect()
    }

    /// The notification ids of the accepted requests, sorted, repeats kept.
    pub fn delivered_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> =
            self.delivered().iter().map(|b| b["notification_id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    }
}

impl Drop for SmsGateway {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
