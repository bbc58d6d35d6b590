//! A real OTLP/gRPC trace receiver, in-process: what the services export is what tests see.

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::sync::{Notify, oneshot};
use tonic::transport::server::TcpIncoming;

use super::counting::CountingService;
use super::span::RecordedSpan;

#[derive(Default)]
struct Store {
    counts: Mutex<BTreeMap<String, u64>>,
    spans: Mutex<Vec<RecordedSpan>>,
    last_arrival: Mutex<HashMap<String, Instant>>,
    arrived: Notify,
}

impl Store {
    fn spans(&self) -> MutexGuard<'_, Vec<RecordedSpan>> {
        self.spans.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Receiver(Arc<Store>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = RecordedSpan::from_request(request.get_ref());
        {
            let mut counts = self.0.counts.lock().unwrap_or_else(|p| p.into_inner());
            for span in &spans {
                *counts.entry(span.service.clone()).or_default() += 1;
            }
        }
        let now = Instant::now();
        {
            let mut arrivals = self.0.last_arrival.lock().unwrap_or_else(|p| p.into_inner());
            for span in &spans {
                arrivals.insert(span.trace_id.clone(), now);
            }
        }
        self.0.spans().extend(spans);
        self.0.arrived.notify_waiters();
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// An OTLP/gRPC collector on its own thread and runtime, so it keeps receiving whatever the
/// test's own runtime is doing. Stops when dropped.
pub struct Collector {
    addr: SocketAddr,
    store: Arc<Store>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    /// Listens on an ephemeral loopback port.
    pub fn start() -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0".parse().expect("a valid socket address"))
    }

    pub fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        Self::start_with(addr, true)
    }

    /// A collector that only counts spans per service: constant memory under load.
    pub fn start_counting_on(addr: SocketAddr) -> std::io::Result<Self> {
        Self::start_with(addr, false)
    }

    fn start_with(addr: SocketAddr, keep: bool) -> std::io::Result<Self> {
        // Bind here, on the caller's thread, so a busy port is the caller's error, not a panic.
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let store = Arc::new(Store::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let receiver = Receiver(Arc::clone(&store));
        let counter = {
            let store = Arc::clone(&store);
            CountingService(Arc::new(move |service: &str, n: u64| {
                let mut counts = store.counts.lock().unwrap_or_else(|p| p.into_inner());
                match counts.get_mut(service) {
                    Some(count) => *count += n,
                    None => {
                        counts.insert(service.to_owned(), n);
                    }
                }
            }))
        };
        let thread = std::thread::Builder::new().name("otlp-collector".into()).spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return eprintln!("collector: cannot use the listener: {e}"),
                };
                // Keeping spans decodes them into structs; counting only walks the bytes.
                let mut server = tonic::transport::Server::builder();
                let router = if keep {
                    server.add_service(TraceServiceServer::new(receiver))
                } else {
                    server.add_service(counter)
                };
                let served = router
                    .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                        let _ = stopped.await;
                    })
                    .await;
                if let Err(e) = served {
                    eprintln!("collector: server stopped: {e}");
                }
            });
        })?;
        Ok(Self { addr, store, stop: Some(stop), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Spans received per `service.name`, kept or not.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.store.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<RecordedSpan> {
        self.store.spans().clone()
    }

    /// The spans of one trace received so far.
    pub fn trace(&self, trace_id: &str) -> Vec<RecordedSpan> {
        self.store.spans().iter().filter(|s| s.trace_id == trace_id).cloned().collect()
    }

    /// Trace ids with when their latest span arrived, for deciding a trace is complete.
    pub fn trace_arrivals(&self) -> HashMap<String, Instant> {
        self.store.last_arrival.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Drops a trace's spans; the viewer forgets traces it has shown, to keep memory bounded.
    pub fn forget(&self, trace_id: &str) {
        self.store.spans().retain(|s| s.trace_id != trace_id);
        self.store.last_arrival.lock().unwrap_or_else(|p| p.into_inner()).remove(trace_id);
    }

    /// Waits until `done` holds for all spans received, and returns them; after `timeout`,
    /// an error naming `what` and listing what did arrive.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[RecordedSpan]) -> bool,
    ) -> Result<Vec<RecordedSpan>, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before checking, so an arrival in between is not missed.
            let arrived = self.store.arrived.notified();
            {
                let spans = self.store.spans();
                if done(&spans) {
                    return Ok(spans.clone());
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let spans = self.spans();
                let seen: Vec<String> =
                    spans.iter().map(|s| format!("[{}] {} ({:?})", s.service, s.name, s.kind)).collect();
                return Err(format!("timed out after {timeout:?} waiting for {what}; received {seen:?}"));
            }
        }
    }

    /// Waits until the trace holds a span named `name`, and returns the trace. Wait for the
    /// span that ends last (a root, a job's run) rather than for a count.
    pub async fn wait_for_span(
        &self,
        trace_id: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<Vec<RecordedSpan>, String> {
        let what = format!("span {name:?} in trace {trace_id}");
        self.wait_for(&what, timeout, |spans| spans.iter().any(|s| s.trace_id == trace_id && s.name == name))
            .await
            .map(|_| self.trace(trace_id))
    }

    /// Waits until the trace has at least `min_spans` spans, and returns them.
    pub async fn wait_for_trace(
        &self,
        trace_id: &str,
        min_spans: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedSpan>, String> {
        let what = format!("{min_spans} spans of trace {trace_id}");
        self.wait_for(&what, timeout, |spans| {
            spans.iter().filter(|s| s.trace_id == trace_id).count() >= min_spans
        })
        .await
        .map(|_| self.trace(trace_id))
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
