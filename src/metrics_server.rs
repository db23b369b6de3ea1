//! `sluice run --metrics ADDR`: the stages' counters, gauges and object sizes as Prometheus text at
//! `http://ADDR/metrics`.
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
use sluice_core::runtime::histogram::OBJECT_SIZE_BUCKETS;
use sluice_core::runtime::metrics::MetricsSnapshot;
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

/// Which stages a family covers.
#[derive(Clone, Copy)]
enum Covers {
    All,
    Kind(PluginKind),
    /// Stages that consume a stream: an application, or the stream a destination reads directly.
    Consumers,
    /// Applications with GROUP BY windows (their gauge is only set by a program that has them).
    Applications,
}

/// One metric family: name, type, help, which stages, and the value of a stage as Prometheus text.
type Family = (&'static str, &'static str, &'static str, Covers, fn(&MetricsSnapshot) -> String);

/// Every family but the object size histogram.
const FAMILIES: [Family; 9] = [
    ("sluice_stage_records_total", "counter", "Records a stage emitted (put, read, delivered).", Covers::All, |m| {
        m.records.to_string()
    }),
    ("sluice_stage_bytes_total", "counter", "Payload bytes of those records.", Covers::All, |m| m.bytes.to_string()),
    ("sluice_stage_errors_total", "counter", "Records that failed and went to an error output.", Covers::All, |m| {
        m.errors.to_string()
    }),
    (
        "sluice_destination_buffered_bytes",
        "gauge",
        "Bytes buffered in a destination, not yet written.",
        Covers::Kind(PluginKind::Destination),
        |m| m.buffered_bytes.to_string(),
    ),
    (
        "sluice_destination_objects_total",
        "counter",
        "Objects a destination wrote.",
        Covers::Kind(PluginKind::Destination),
        |m| m.objects.to_string(),
    ),
    (
        "sluice_application_window_groups",
        "gauge",
        "Window state of an application: groups of open GROUP BY and stagger windows, sliding-window partitions.",
        Covers::Applications,
        |m| m.window_groups.to_string(),
    ),
    (
        "sluice_consumer_unacknowledged_records",
        "gauge",
        "Records a consumer read that its destinations have not made durable yet (not checkpointed).",
        Covers::Consumers,
        |m| m.unacknowledged_records.to_string(),
    ),
    (
        "sluice_consumer_checkpoint_lag_seconds",
        "gauge",
        "How long the oldest record read and not yet acknowledged has waited for its checkpoint (0: none waits).",
        Covers::Consumers,
        |m| format!("{:.3}", m.checkpoint_lag_ms as f64 / 1000.0),
    ),
    (
        "sluice_consumer_millis_behind_latest",
        "gauge",
        "How far a consumer's last read was behind the newest record of its stream, in ms (Kinesis's MillisBehindLatest).",
        Covers::Consumers,
        |m| m.millis_behind_latest.to_string(),
    ),
];

/// The labels of a stage: `pipeline="..",kind="..",stage=".."` and, for a consumer, `consumer=".."`.
fn labels(pipeline: &str, stage: &Stage) -> String {
    let noun = stage.kind.noun();
    let stage_name = stage.label.strip_prefix(&format!("{noun} ")).unwrap_or(&stage.label);
    let mut labels = format!("pipeline=\"{}\",kind=\"{noun}\",stage=\"{}\"", escape(pipeline), escape(stage_name));
    // Two destinations reading one stream: the consumer tells their stream stages apart.
    if let Some(consumer) = &stage.consumer {
        let _ = write!(labels, ",consumer=\"{}\"", escape(consumer));
    }
    labels
}

/// The Prometheus text exposition of every stage's counters.
pub fn render(pipeline: &str, stages: &[Stage]) -> String {
    let snapshots: Vec<_> = stages.iter().map(|s| s.metrics.snapshot()).collect();
    let mut out = String::new();
    for (name, kind, help, covers, value) in FAMILIES {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (stage, snapshot) in stages.iter().zip(&snapshots) {
            let covered = match covers {
                Covers::All => true,
                Covers::Kind(kind) => stage.kind == kind,
                Covers::Consumers => snapshot.consumer,
                Covers::Applications => stage.kind == PluginKind::Application,
            };
            if covered {
                let _ = writeln!(out, "{name}{{{}}} {}", labels(pipeline, stage), value(snapshot));
            }
        }
    }
    let name = "sluice_application_error_rows_total";
    let _ = writeln!(out, "# HELP {name} Rows an application sent to error_stream, by ERROR_NAME.");
    let _ = writeln!(out, "# TYPE {name} counter");
    for stage in stages.iter().filter(|s| s.kind == PluginKind::Application) {
        let labels = labels(pipeline, stage);
        for (kind, count) in stage.metrics.errors_by_kind() {
            let _ = writeln!(out, "{name}{{{labels},error=\"{}\"}} {count}", escape(&kind));
        }
    }
    let name = "sluice_destination_object_size_bytes";
    let _ = writeln!(out, "# HELP {name} Sizes of the objects a destination wrote (after compression).");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (stage, snapshot) in stages.iter().zip(&snapshots).filter(|(s, _)| s.kind == PluginKind::Destination) {
        let (labels, sizes) = (labels(pipeline, stage), snapshot.object_sizes);
        for (bound, count) in OBJECT_SIZE_BUCKETS.iter().zip(sizes.cumulative) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", sizes.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", sizes.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", sizes.count);
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
