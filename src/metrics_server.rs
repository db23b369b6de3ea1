//! `sluice run --metrics ADDR`: the stages' counters as Prometheus text at `http://ADDR/metrics`.
//!
//! A plain thread serves it (one short HTTP/1.1 exchange per connection, then close): scrapes are rare and
//! tiny, and the pipeline's tasks never wait on it. Counters are read with relaxed loads, as the progress
//! line reads them.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sluice_core::plugin::PluginKind;
use sluice_core::runtime::topology::Stage;

/// A bound metrics endpoint, not yet serving.
pub struct MetricsEndpoint {
    listener: TcpListener,
}

/// A serving endpoint; dropping it stops the thread.
pub struct Serving {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl MetricsEndpoint {
    /// Binds `addr` before the run starts, so a busy port is an error up front.
    pub fn bind(addr: SocketAddr) -> std::io::Result<MetricsEndpoint> {
        let listener = TcpListener::bind(addr)?;
        // Non-blocking accepts let the thread notice the end of the run.
        listener.set_nonblocking(true)?;
        Ok(MetricsEndpoint { listener })
    }

    /// The bound address (the real port when `:0` was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves the `stages` of the pipeline `pipeline` until the returned handle is dropped.
    pub fn serve(self, pipeline: String, stages: Vec<Stage>) -> Serving {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match self.listener.accept() {
                    Ok((stream, _)) => answer(stream, &pipeline, &stages),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => tracing::debug!(error = %e, "metrics: accept failed"),
                }
            }
        });
        Serving { stop, thread: Some(thread) }
    }
}

/// One exchange: `GET /metrics` gets the text, anything else 404; a slow or odd client is dropped.
fn answer(mut stream: TcpStream, pipeline: &str, stages: &[Stage]) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    let deadline = Instant::now() + Duration::from_secs(2);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 && Instant::now() < deadline {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let request = String::from_utf8_lossy(&head);
    let path = request.lines().next().and_then(|l| l.strip_prefix("GET ")).and_then(|l| l.split(' ').next());
    let (status, body) = match path {
        Some("/metrics") => ("200 OK", render(pipeline, stages)),
        _ => ("404 Not Found", "not found: try /metrics\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// A label value with Prometheus's escapes.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The Prometheus text exposition of every stage's counters.
pub fn render(pipeline: &str, stages: &[Stage]) -> String {
    type Read = fn(&sluice_core::runtime::metrics::MetricsSnapshot) -> u64;
    let families: [(&str, &str, &str, Option<PluginKind>, Read); 5] = [
        ("sluice_stage_records_total", "counter", "Records a stage emitted (put, read, delivered).", None, |m| {
            m.records
        }),
        ("sluice_stage_bytes_total", "counter", "Payload bytes of those records.", None, |m| m.bytes),
        ("sluice_stage_errors_total", "counter", "Records that failed and went to an error output.", None, |m| {
            m.errors
        }),
        (
            "sluice_destination_buffered_bytes",
            "gauge",
            "Bytes buffered in a destination, not yet written.",
            Some(PluginKind::Destination),
            |m| m.buffered_bytes,
        ),
        (
            "sluice_destination_objects_total",
            "counter",
            "Objects a destination wrote.",
            Some(PluginKind::Destination),
            |m| m.objects,
        ),
    ];
    let snapshots: Vec<_> = stages.iter().map(|s| s.metrics.snapshot()).collect();
    let mut out = String::new();
    for (name, kind, help, only, read) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (stage, snapshot) in stages.iter().zip(&snapshots).filter(|(s, _)| only.is_none_or(|k| s.kind == k)) {
            let noun = stage.kind.noun();
            let stage_name = stage.label.strip_prefix(&format!("{noun} ")).unwrap_or(&stage.label);
            let _ = writeln!(
                out,
                "{name}{{pipeline=\"{}\",kind=\"{noun}\",stage=\"{}\"}} {}",
                escape(pipeline),
                escape(stage_name),
                read(snapshot)
            );
        }
    }
    out
}

/// Binds `--metrics` if given, telling where it serves; `Err` after printing why it cannot.
pub fn bind(addr: Option<SocketAddr>) -> Result<Option<MetricsEndpoint>, ()> {
    let Some(addr) = addr else { return Ok(None) };
    match MetricsEndpoint::bind(addr).and_then(|m| m.local_addr().map(|at| (m, at))) {
        Ok((endpoint, at)) => {
            eprintln!("serving metrics at http://{at}/metrics");
            Ok(Some(endpoint))
        }
        Err(e) => {
            eprintln!("error: --metrics {addr}: {e}");
            Err(())
        }
    }
}
