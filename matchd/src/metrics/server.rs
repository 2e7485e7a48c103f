//! The metrics thread's HTTP server: hyper on a current-thread tokio runtime, answering
//! `GET /metrics` and `GET /healthz`, one request per connection.
//!
//! An async runtime is allowed here because this is a control thread; the pipeline's threads never
//! run one. Each connection is its own task, so a slow or half-sent request holds only its own
//! slot, never the others: its request head must arrive within [`HEADER_READ_TIMEOUT`], the whole
//! exchange must end within [`CONNECTION_TIMEOUT`], and at most [`MAX_CONNECTIONS`] are served
//! at once (further ones wait in the kernel's listen backlog until a slot frees).

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{render, Registry};
use crate::stats::Health;

/// Connections served at once. Scrapers and probes need a handful; the cap bounds the memory and
/// tasks that a flood of idle connections can hold.
pub const MAX_CONNECTIONS: usize = 64;
/// From the server's first read of a request to its last header byte: a client that sends its
/// request head slower than this, or only half of it, is disconnected.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole connection, request and response: bounds a client that does not read its response.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the server looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);
/// How long requests in flight when the stop flag is set may take before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// After a failed `accept` (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(200);
/// A connection's read buffer (hyper's minimum): a longer request head is answered 431.
const MAX_REQUEST_HEAD_BYTES: usize = 8192;

const _: () = assert!(MAX_CONNECTIONS > 0);
const _: () = assert!(HEADER_READ_TIMEOUT.as_millis() < CONNECTION_TIMEOUT.as_millis());

const TEXT: &str = "text/plain";
/// The Prometheus text format's content type.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Binds the metrics listener (port 0 picks a free port), before any thread starts, so a taken
/// address stops startup.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    // tokio takes the socket over as it is and needs it non-blocking.
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Starts the metrics thread serving `listener` until `stop` is set.
pub fn spawn(listener: TcpListener, registry: Arc<Registry>, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    // Built here so a failure is a startup error, not a silent thread exit.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
    std::thread::Builder::new().name("matchd-metrics".into()).spawn(move || {
        runtime.block_on(async {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => serve(listener, registry, &stop).await,
                Err(e) => tracing::error!("metrics listener unusable, /metrics and /healthz are off: {e}"),
            }
        });
    })
}

/// The accept loop: each connection becomes a task holding one of the [`MAX_CONNECTIONS`] slots.
async fn serve(listener: tokio::net::TcpListener, registry: Arc<Registry>, stop: &AtomicBool) {
    let http = http1_builder();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut stop_poll = tokio::time::interval(STOP_POLL);
    loop {
        tokio::select! {
            _ = stop_poll.tick() => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            accepted = accept(&listener, &slots) => match accepted {
                Ok((stream, slot)) => {
                    let registry = registry.clone();
                    let service = service_fn(move |req| std::future::ready(Ok::<_, Infallible>(respond(&req, &registry))));
                    let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => tracing::debug!("metrics connection: {e}"),
                            Err(_) => tracing::debug!("metrics connection cut after {CONNECTION_TIMEOUT:?}"),
                        }
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!("metrics accept failed: {e}");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
        }
    }
    drop(listener);
    // Requests in flight finish; half-sent ones are not waited for past the grace period (the
    // runtime's end closes their sockets).
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::debug!("metrics: connections still open at stop were closed");
    }
}

/// One request per connection, as scrapers and probes use it; the header-read timeout needs
/// hyper's timer.
fn http1_builder() -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(false)
        .max_buf_size(MAX_REQUEST_HEAD_BYTES);
    http
}

/// Waits for a free slot, then for a connection. Cancel-safe: dropping it (the stop poll won)
/// returns the slot and leaves any pending connection in the backlog.
async fn accept(
    listener: &tokio::net::TcpListener,
    slots: &Arc<Semaphore>,
) -> std::io::Result<(tokio::net::TcpStream, OwnedSemaphorePermit)> {
    let slot = slots.clone().acquire_owned().await.map_err(|_| std::io::Error::other("connection slots closed"))?;
    let (stream, _) = listener.accept().await?;
    Ok((stream, slot))
}

/// The answer to one request: `GET /metrics`, `GET /healthz`, 404 for other paths, 405 for other
/// methods.
fn respond<B>(req: &Request<B>, registry: &Registry) -> Response<String> {
    if req.method() != Method::GET {
        let mut response = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET\n".into());
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    match req.uri().path() {
        "/metrics" => reply(StatusCode::OK, EXPOSITION, render(registry)),
        "/healthz" => {
            let (status, body) = health(&registry.health);
            reply(status, TEXT, body.into())
        }
        _ => reply(StatusCode::NOT_FOUND, TEXT, "try /metrics or /healthz\n".into()),
    }
}

/// `/healthz`: 200 only while ready, not stopping and not stalled.
fn health(h: &Health) -> (StatusCode, &'static str) {
    if h.stopping.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping\n")
    } else if !h.ready.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    } else if h.stalled.load(Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "pipeline stalled\n")
    } else {
        (StatusCode::OK, "ok\n")
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stats;

    fn registry() -> Registry {
        Registry {
            stats: Stats::default(),
            health: Arc::default(),
            input_ring_slots: 64,
            output_ring_slots: 64,
            replayed_commands: 0,
            replay_seconds: 0.0,
            start_time_unix: 0.0,
        }
    }

    fn get(registry: &Registry, method: Method, target: &str) -> Response<String> {
        respond(&Request::builder().method(method).uri(target).body(()).unwrap(), registry)
    }

    #[test]
    fn routes_and_methods() {
        let r = registry();
        let metrics = get(&r, Method::GET, "/metrics?x=1");
        assert_eq!(metrics.status(), StatusCode::OK);
        assert_eq!(metrics.headers()[CONTENT_TYPE], EXPOSITION);
        assert!(metrics.body().contains("# TYPE matchd_ready gauge"));
        assert_eq!(get(&r, Method::GET, "/").status(), StatusCode::NOT_FOUND);
        let post = get(&r, Method::POST, "/metrics");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET");
        assert_eq!(get(&r, Method::HEAD, "/healthz").status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn healthz_follows_the_health_flags() {
        let r = registry();
        let healthz = |r: &Registry| {
            let resp = get(r, Method::GET, "/healthz");
            (resp.status().as_u16(), resp.body().clone())
        };
        assert_eq!(healthz(&r), (503, "starting\n".into()));
        r.health.ready.store(true, Ordering::Relaxed);
        assert_eq!(healthz(&r), (200, "ok\n".into()));
        r.health.stalled.store(true, Ordering::Relaxed);
        assert_eq!(healthz(&r), (503, "pipeline stalled\n".into()));
        r.health.stopping.store(true, Ordering::Relaxed);
        assert_eq!(healthz(&r), (503, "stopping\n".into()));
    }
}
