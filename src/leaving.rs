//! How an instance leaves a load balancer without failing anyone's request.
//!
//! On SIGTERM `/readyz` answers 503 for `FILINGDESK_DRAIN_SECONDS` while
//! everything is still served, so balancers that poll it move away. Then
//! the listener stops completing new handshakes, the connections the kernel
//! had already completed are accepted and served, and only then does the
//! server stop.
//!
//! Why not just stop: closing a listening socket resets the connections
//! still in its accept queue, and actix drops connections it accepted but
//! had not yet handed to a worker. Either way the client has already sent
//! its request, and a proxy may not repeat a POST (nginx answers 502;
//! the multi-instance test saw it about once in seven restarts). A
//! handshake that never completes is safe instead: the client retries the
//! SYN after a second, finds the port closed (or the instance back), and a
//! proxy moves a refused connection to another instance.
//!
//! Before the server stops, the pipelined database connections are ended
//! properly (`Db::close_pipelined`): the HTTP workers' runtimes drive them,
//! and end with the server.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;

use crate::db::Db;

/// Long enough for actix's accept thread to take what the kernel queued
/// and for its workers to pick it up (both react within microseconds;
/// every request that reaches the instance meanwhile waits for its SYN to
/// be resent, so this is kept short).
const QUEUED_PICKUP: Duration = Duration::from_millis(100);

/// How long the stop waits for pipelined database connections still in use
/// (a read takes milliseconds).
const PIPELINED_CLOSE: Duration = Duration::from_secs(2);

pub struct Leaving {
    handle: ServerHandle,
    draining: Arc<AtomicBool>,
    /// The server's own listening socket (a second descriptor of it).
    listener: TcpListener,
    db: Db,
}

impl Leaving {
    pub(crate) fn new(handle: ServerHandle, draining: Arc<AtomicBool>, listener: TcpListener, db: Db) -> Self {
        Self { handle, draining, listener, db }
    }

    /// Out of the load balancer: `/readyz` answers 503, requests are still served.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// No new connection, every queued one served, in-flight requests finished.
    pub async fn stop(self) {
        if let Err(e) = refuse_handshakes(&self.listener) {
            tracing::warn!(error = %e, "could not hold back new connections; queued ones may be reset");
        }
        tokio::time::sleep(QUEUED_PICKUP).await;
        // While the HTTP workers' runtimes still drive them (they end with
        // the server); the requests still to come read without them.
        if !self.db.close_pipelined(PIPELINED_CLOSE).await {
            tracing::warn!("a pipelined database connection was still in use at the stop");
        }
        self.handle.stop(true).await;
    }
}

/// A socket filter that passes nothing: the listener drops every SYN (and
/// the last ACK of a handshake in progress) from now on, while the
/// connections already completed stay queued for `accept`.
#[cfg(target_os = "linux")]
fn refuse_handshakes(listener: &TcpListener) -> std::io::Result<()> {
    // Classic BPF `ret #0`: keep zero bytes of the packet, i.e. drop it.
    const RET_K: u16 = 0x06;
    socket2::SockRef::from(listener).attach_filter(&[socket2::SockFilter::new(RET_K, 0, 0, 0)])
}

#[cfg(not(target_os = "linux"))]
fn refuse_handshakes(_: &TcpListener) -> std::io::Result<()> {
    Ok(())
}
