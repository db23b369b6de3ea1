//! Builds a validated pipeline into running tasks and runs it to the end.
//!
//! ```text
//!  producers ──▶ streams ──▶ consumers ──▶ (application) ──▶ destination channels ──▶ destinations
//!      │ all of a stream's producers done: close_writers()        │ last sender dropped: flush, return
//!      ▼                                                           ▼
//!   readers drain what was written, then end ──▶ committers write the final checkpoints ──▶ streams shut down
//! ```
//!
//! Core knows no plugin by name: it builds each entry through the registry and wires entries by the links
//! their validate hooks declared (`writes`, `reads`, `feeds`).
//!
//! Services added with [`Topology::add_service`] (the Kinesis API) run beside the components and count as
//! writers of the streams they serve, like producers: those streams close only once the services returned.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::ack::{AckTracker, Delivery};
use super::component::{
    Application, Budget, ConsumerInput, Destination, DestinationContext, Output, OutputShape, Producer,
    ProducerContext, RunError,
};
use super::ledger::Ledger;
use super::metrics::StageMetrics;
use super::record::Positions;
use super::service::{Service, ServiceContext};
use super::stream::{StartPosition, Stream};
use super::tap::{Tap, TapSet, record_line};
use crate::plugin::{BuildContext, Built, LinkRole, PluginKind, find};
use crate::validate::Validated;

/// Deliveries a destination's channel holds before senders wait: the back-pressure bound.
const DELIVERY_CHANNEL_BATCHES: usize = 4;

/// How a run is bounded and where it keeps its state.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The pipeline file's directory.
    pub base_dir: PathBuf,
    /// Where streams and the ledger live.
    pub data_dir: PathBuf,
    /// Stop producing after this many records in total (`--records`).
    pub records: Option<u64>,
    /// Stop after this long (`--duration`).
    pub duration: Option<Duration>,
}

/// One stage's name and counters, for the progress line and the summary.
#[derive(Debug, Clone)]
pub struct Stage {
    /// `producer shop-metrics`, `destination bucket`, ...
    pub label: String,
    /// Its kind.
    pub kind: PluginKind,
    /// Its counters.
    pub metrics: Arc<StageMetrics>,
    /// The consumer whose reads it counts (`application/app`, `destination/raw`): two destinations reading one
    /// stream have a stage each.
    pub consumer: Option<String>,
}

/// A pipeline built and ready to start.
pub struct Topology {
    streams: BTreeMap<String, Arc<dyn Stream>>,
    producers: Vec<ProducerNode>,
    applications: Vec<ApplicationNode>,
    destinations: Vec<DestinationNode>,
    services: Vec<ServiceNode>,
    taps: TapSet,
}

/// A service, its stage label and the streams it writes.
struct ServiceNode {
    label: String,
    streams: Vec<String>,
    service: Box<dyn Service>,
}

/// A producer and the stream it writes.
struct ProducerNode {
    name: String,
    stream: String,
    producer: Box<dyn Producer>,
}

/// An application, the stream it reads and the destinations it feeds (in sink order).
struct ApplicationNode {
    name: String,
    stream: String,
    application: Box<dyn Application>,
    outputs: Vec<String>,
}

/// A destination, and the stream it reads when it reads one directly.
struct DestinationNode {
    name: String,
    destination: Box<dyn Destination>,
    source: Option<String>,
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topology").field("streams", &self.streams.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

/// The target of an entry's first link of `role`.
fn link_target(validated: &Validated, kind: PluginKind, name: &str, role: LinkRole) -> Vec<String> {
    validated
        .links
        .iter()
        .filter(|(k, n, link)| *k == kind && n == name && link.role == role)
        .map(|(_, _, link)| link.target.clone())
        .collect()
}

impl Topology {
    /// Builds every entry of a validated pipeline whose `${VAR}`s are resolved in `value`.
    pub async fn build(validated: &Validated, value: &Value, options: &RunOptions) -> Result<Self, RunError> {
        std::fs::create_dir_all(&options.data_dir)
            .map_err(|e| RunError(format!("cannot create data directory {}: {e}", options.data_dir.display())))?;
        let ledger_path = options.data_dir.join("ledger.redb");
        let ledger = Arc::new(Ledger::open(&ledger_path).map_err(|e| {
            RunError(format!("{e} (is another `sluice run` using the data directory {}?)", options.data_dir.display()))
        })?);
        let mut built = BTreeMap::new();
        for kind in PluginKind::ALL {
            let Some(section) = value.get(kind.section()).and_then(Value::as_object) else { continue };
            for (name, entry) in section {
                let mut config = entry.clone();
                let type_name = config
                    .as_object_mut()
                    .and_then(|o| o.remove("type"))
                    .and_then(|t| t.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let plugin = find(kind, &type_name)
                    .ok_or_else(|| RunError(format!("{} `{name}`: unknown type `{type_name}`", kind.noun())))?;
                let cx = BuildContext {
                    base_dir: options.base_dir.clone(),
                    data_dir: options.data_dir.clone(),
                    ledger: Arc::clone(&ledger),
                    name: name.clone(),
                };
                let component = plugin
                    .build(&config, &cx)
                    .map_err(|e| RunError(format!("{} `{name}` ({type_name}): {e}", kind.noun())))?;
                built.insert((kind, name.clone()), component);
            }
        }
        Self::connect(validated, built)
    }

    fn connect(validated: &Validated, built: BTreeMap<(PluginKind, String), Built>) -> Result<Self, RunError> {
        let mut topology = Topology {
            streams: BTreeMap::new(),
            producers: Vec::new(),
            applications: Vec::new(),
            destinations: Vec::new(),
            services: Vec::new(),
            taps: TapSet::default(),
        };
        let mismatch = |kind: PluginKind, name: &str| {
            RunError(format!("{} `{name}`: its plugin built something else than a {}", kind.noun(), kind.noun()))
        };
        for ((kind, name), component) in built {
            let one = |role| link_target(validated, kind, &name, role).into_iter().next();
            match (kind, component) {
                (PluginKind::Stream, Built::Stream(stream)) => {
                    topology.streams.insert(name, stream);
                }
                (PluginKind::Producer, Built::Producer(producer)) => {
                    let stream = one(LinkRole::WritesStream)
                        .ok_or_else(|| RunError(format!("producer `{name}` names no stream")))?;
                    topology.producers.push(ProducerNode { name, stream, producer });
                }
                (PluginKind::Application, Built::Application(application)) => {
                    let stream = one(LinkRole::ReadsStream)
                        .ok_or_else(|| RunError(format!("application `{name}` reads no stream")))?;
                    let outputs = link_target(validated, kind, &name, LinkRole::FeedsDestination);
                    topology.applications.push(ApplicationNode { name, stream, application, outputs });
                }
                (PluginKind::Destination, Built::Destination(destination)) => {
                    let source = one(LinkRole::ReadsStream);
                    topology.destinations.push(DestinationNode { name, destination, source });
                }
                (kind, _) => return Err(mismatch(kind, &name)),
            }
        }
        Ok(topology)
    }

    /// The pipeline's streams, by name.
    pub fn streams(&self) -> &BTreeMap<String, Arc<dyn Stream>> {
        &self.streams
    }

    /// Sets the run's taps (`sluice run --tap`): streams' records are read by readers of their own, in-app
    /// streams' rows are published by their application.
    pub fn set_taps(&mut self, taps: TapSet) {
        self.taps = taps;
    }

    /// Adds a service that writes into `streams` from outside (see [`Service`]); `label` names its stage in the
    /// progress line and the summary.
    pub fn add_service(&mut self, label: String, streams: Vec<String>, service: Box<dyn Service>) {
        self.services.push(ServiceNode { label, streams, service });
    }
}

/// What a finished run did.
#[derive(Debug)]
pub struct RunSummary {
    /// Each stage's final counters.
    pub stages: Vec<(Stage, super::metrics::MetricsSnapshot)>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs a built pipeline until its producers finish and everything is delivered, or until `stop` is
/// cancelled (then it stops the producers, drains, flushes and checkpoints). `on_start` receives the stages
/// so the caller can show progress.
pub async fn run(
    mut topology: Topology,
    options: &RunOptions,
    stop: CancellationToken,
    on_start: impl FnOnce(Vec<Stage>),
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    // A failing stage stops the whole run; the caller's token stops it from outside.
    let stop = stop.child_token();
    let mut tasks: JoinSet<Result<(), RunError>> = JoinSet::new();
    let mut stages = Vec::new();
    let stage = |stages: &mut Vec<Stage>, kind: PluginKind, name: &str| {
        let metrics = Arc::new(StageMetrics::default());
        let label = format!("{} {name}", kind.noun());
        stages.push(Stage { label, kind, metrics: Arc::clone(&metrics), consumer: None });
        metrics
    };
    if let Some(duration) = options.duration {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop.cancel();
        });
    }

    // Destinations first, so every sender has a receiver.
    let mut senders: BTreeMap<String, mpsc::Sender<Delivery>> = BTreeMap::new();
    let mut direct_sources = Vec::new();
    // Each destination learns the shapes of the application outputs feeding it before it starts.
    let mut shapes: BTreeMap<String, Vec<OutputShape>> = BTreeMap::new();
    for node in &topology.applications {
        for shape in node.application.output_shapes() {
            shapes.entry(shape.destination.clone()).or_default().push(shape);
        }
    }
    // What destinations published past their consumers' checkpoints before a crash (see `Destination::recover`).
    let mut recovered = Vec::new();
    for DestinationNode { name, mut destination, source } in std::mem::take(&mut topology.destinations) {
        destination.accept_input_shapes(shapes.remove(&name).unwrap_or_default());
        recovered.extend(destination.recover().await.map_err(|e| RunError(format!("destination `{name}`: {e}")))?);
        let (sender, receiver) = mpsc::channel(DELIVERY_CHANNEL_BATCHES);
        let cx = DestinationContext { name: name.clone(), metrics: stage(&mut stages, PluginKind::Destination, &name) };
        tasks.spawn(async move { destination.run(receiver, cx).await });
        match source {
            Some(stream) => direct_sources.push((name, stream, sender)),
            None => {
                senders.insert(name, sender);
            }
        }
    }

    let mut committers = Vec::new();
    let stream_of = |topology: &Topology, name: &str| {
        topology.streams.get(name).cloned().ok_or_else(|| RunError(format!("stream `{name}` was not built")))
    };
    // A destination reading a stream directly: a pump moves each batch in with its ack.
    for (name, stream_name, sender) in direct_sources {
        let stream = stream_of(&topology, &stream_name)?;
        let consumer = format!("destination/{name}");
        super::ack::skip_recovered(stream.as_ref(), &consumer, 1, &recovered).await?;
        let reader = stream.open_reader(&consumer, StartPosition::TrimHorizon).await?;
        let (tracker, committable) = AckTracker::named(&consumer, 1);
        committers.push(tokio::spawn(commit_checkpoints(Arc::clone(&stream), consumer, committable)));
        let mut input = ConsumerInput::new(reader, tracker, stage(&mut stages, PluginKind::Stream, &stream_name));
        if let Some(stage) = stages.last_mut() {
            stage.consumer = Some(format!("destination/{name}"));
        }
        tasks.spawn(async move {
            while let Some((records, acks)) = input.next().await? {
                let delivery = Delivery { records, ack: acks.for_sink(0) };
                if sender.send(delivery).await.is_err() {
                    return Ok(()); // The destination ended; its own error says why.
                }
            }
            Ok(())
        });
    }
    for ApplicationNode { name, stream: stream_name, application, outputs } in
        std::mem::take(&mut topology.applications)
    {
        let stream = stream_of(&topology, &stream_name)?;
        let consumer = format!("application/{name}");
        super::ack::skip_recovered(stream.as_ref(), &consumer, outputs.len().max(1), &recovered).await?;
        let reader = stream.open_reader(&consumer, StartPosition::TrimHorizon).await?;
        let checkpoint = stream.checkpoint(&consumer).await.ok().flatten();
        let (tracker, committable) = AckTracker::named(&consumer, outputs.len().max(1));
        committers.push(tokio::spawn(commit_checkpoints(Arc::clone(&stream), consumer, committable)));
        let input = ConsumerInput::new(reader, tracker, stage(&mut stages, PluginKind::Application, &name))
            .with_taps(topology.taps.for_application(&name))
            .with_restart(checkpoint, stop.clone());
        if let Some(stage) = stages.last_mut() {
            stage.consumer = Some(format!("application/{name}"));
        }
        let outputs = outputs
            .into_iter()
            .enumerate()
            .map(|(sink, destination)| {
                let sender = senders
                    .get(&destination)
                    .cloned()
                    .ok_or_else(|| RunError(format!("application `{name}` feeds unknown `{destination}`")))?;
                Ok(Output { destination, sink, sender })
            })
            .collect::<Result<Vec<_>, RunError>>()?;
        tasks.spawn(async move { application.run(input, outputs).await });
    }
    drop(senders);
    // Tapped streams get a reader of their own, opened before any producer starts: the tap sees this run's
    // records, and no consumer of the pipeline waits for it.
    for (name, stream) in &topology.streams {
        if let Some(tap) = topology.taps.stream(name) {
            let reader = stream.open_reader(&format!("tap/{}", std::process::id()), StartPosition::Latest).await?;
            tasks.spawn(tap_records(reader, tap));
        }
    }

    // Producers last; a stream's writers close when all of its producers are done.
    let budget = Budget::new(options.records);
    let mut writers: BTreeMap<String, usize> = BTreeMap::new();
    let (done_sender, mut done) = mpsc::unbounded_channel::<String>();
    for ProducerNode { name, stream: stream_name, producer } in std::mem::take(&mut topology.producers) {
        let stream = stream_of(&topology, &stream_name)?;
        *writers.entry(stream_name.clone()).or_default() += 1;
        let cx = ProducerContext {
            name: name.clone(),
            stream,
            budget: Arc::clone(&budget),
            stop: stop.clone(),
            metrics: stage(&mut stages, PluginKind::Producer, &name),
        };
        let done_sender = done_sender.clone();
        tasks.spawn(async move {
            let result = producer.run(cx).await.map_err(|e| RunError(format!("producer `{name}`: {}", e.0)));
            let _ = done_sender.send(stream_name);
            result
        });
    }
    // Services write from outside: each counts as a writer of its streams until it returns.
    for ServiceNode { label, streams: written, service } in std::mem::take(&mut topology.services) {
        for stream_name in &written {
            *writers.entry(stream_name.clone()).or_default() += 1;
        }
        let metrics = Arc::new(StageMetrics::default());
        let (kind, consumer) = (PluginKind::Producer, None);
        stages.push(Stage { label: label.clone(), kind, metrics: Arc::clone(&metrics), consumer });
        let cx = ServiceContext { stop: stop.clone(), metrics };
        let done_sender = done_sender.clone();
        tasks.spawn(async move {
            let result = service.run(cx).await.map_err(|e| RunError(format!("{label}: {}", e.0)));
            for stream_name in written {
                let _ = done_sender.send(stream_name);
            }
            result
        });
    }
    drop(done_sender);
    stages.sort_by_key(|s| s.kind);
    on_start(stages.clone());

    // Streams nobody in the pipeline writes to are fed from outside: they close when the run stops.
    let streams = topology.streams.clone();
    let closing_stop = stop.clone();
    let closer = tokio::spawn(async move {
        let stop = closing_stop;
        for (name, stream) in &streams {
            if !writers.contains_key(name) {
                let (stream, stop) = (Arc::clone(stream), stop.clone());
                tokio::spawn(async move {
                    stop.cancelled().await;
                    stream.close_writers();
                });
            }
        }
        while let Some(stream_name) = done.recv().await {
            let left = writers.entry(stream_name.clone()).or_default();
            *left = left.saturating_sub(1);
            if *left == 0
                && let Some(stream) = streams.get(&stream_name)
            {
                stream.close_writers();
            }
        }
    });

    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined.unwrap_or_else(|e| Err(RunError(format!("a pipeline task failed: {e}"))));
        if let Err(e) = result {
            tracing::error!("{e}");
            // Stop everything else: what is buffered is flushed, nothing more is read.
            stop.cancel();
            for stream in topology.streams.values() {
                stream.close_writers();
            }
            first_error.get_or_insert(e);
        }
    }
    closer.abort();
    for committer in committers {
        match committer.await {
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(RunError(format!("a checkpoint task failed: {e}")));
            }
            Ok(Ok(())) => {}
        }
    }
    for stream in topology.streams.values() {
        if let Err(e) = stream.shutdown().await {
            first_error.get_or_insert(e.into());
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => {
            let stages = stages.into_iter().map(|s| (s.metrics.snapshot(), s)).map(|(m, s)| (s, m)).collect();
            Ok(RunSummary { stages, elapsed: started.elapsed() })
        }
    }
}

/// Writes a consumer's checkpoints as its sinks acknowledge; ends with the last one once all acks are in.
async fn commit_checkpoints(
    stream: Arc<dyn Stream>,
    consumer: String,
    mut committable: watch::Receiver<Option<Positions>>,
) -> Result<(), RunError> {
    let mut committed: Option<Positions> = None;
    loop {
        let closed = committable.changed().await.is_err();
        let latest = committable.borrow_and_update().clone();
        if let Some(positions) = latest
            && committed.as_ref() != Some(&positions)
        {
            stream.commit_checkpoint(&consumer, &positions).await?;
            committed = Some(positions);
        }
        if closed {
            return Ok(());
        }
    }
}

/// Reads a tapped stream to its end, publishing each record as a JSON line while the tap has room.
async fn tap_records(mut reader: Box<dyn super::stream::StreamReader>, tap: Tap) -> Result<(), RunError> {
    while let Some(batch) = reader.next_batch(4096).await? {
        for record in &batch.records {
            tap.publish(|| record_line(tap.name(), &record.partition_key, record.arrival_ms, &record.data));
        }
    }
    Ok(())
}
