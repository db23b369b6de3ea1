//! `sluice tap PIPELINE STREAM`: the new records of a stream of a pipeline that is running (or not), as JSON
//! lines, read straight from the embedded stream's segment files ([`StreamTail`]): no lock, no effect on the run.
//! A Kinesis stream is followed from its latest records by a reader of its own ([`OutsideReader`]).
//!
//! Rows of in-app streams exist only inside the run: they are tapped with `sluice run --tap app.STREAM`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sluice_core::embedded::StreamTail;
use sluice_core::runtime::tap::record_line;

use sluice_core::runtime::stream::StartPosition;

use crate::discover::{Failure, StreamPlace, locate_stream};
use crate::served_stream::{OutsideReader, ServedStream};

/// How often the segment files are looked at for new records.
const POLL: Duration = Duration::from_millis(200);

/// `sluice tap` arguments.
#[derive(clap::Args)]
pub struct TapArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// The stream whose records to print (an embedded or a Kinesis stream).
    stream: String,
    /// Where the pipeline's streams live [default: .sluice/<pipeline name>/ beside the pipeline file].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Stop after this many records.
    #[arg(long)]
    records: Option<u64>,
    /// Stop after this long (`30s`, `5m`).
    #[arg(long)]
    duration: Option<sluice_core::units::Duration>,
}

/// Runs `sluice tap`.
pub fn tap_command(args: TapArgs) -> ExitCode {
    match follow(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn follow(args: &TapArgs) -> Result<(), Failure> {
    let (shown, stream) = (args.pipeline.display().to_string(), args.stream.as_str());
    if stream.contains('.') && locate_stream(&args.pipeline, stream).is_err() {
        return Err(Failure(
            2,
            format!(
                "{shown}: `{stream}` looks like an in-app stream: its rows exist only inside the run; tap them with \
                 `sluice run {shown} --tap {stream}`"
            ),
        ));
    }
    let default_dir = match locate_stream(&args.pipeline, stream)? {
        StreamPlace::Embedded(dir) => dir,
        StreamPlace::Served { plugin, config, base_dir } => {
            let source = ServedStream { entry: stream, plugin: &plugin, config, base_dir };
            return follow_served(args, source)
                .map_err(|e| Failure(1, format!("{shown}: stream `{stream}` ({plugin}): {e}")));
        }
    };
    let data_dir = args.data_dir.clone().unwrap_or(default_dir);
    let tail = StreamTail::at_end(&data_dir, stream).map_err(|e| Failure(1, format!("{shown}: {e}")))?;
    let Some(mut tail) = tail else {
        let dir = data_dir.display();
        return Err(Failure(
            1,
            format!(
                "{shown}: stream `{stream}` has no data in {dir}: start the pipeline, or give the --data-dir it runs with"
            ),
        ));
    };
    let deadline = args.duration.map(|d| Instant::now() + d.as_std());
    let mut left = args.records.unwrap_or(u64::MAX);
    let mut out = std::io::stdout().lock();
    while left > 0 && deadline.is_none_or(|d| Instant::now() < d) {
        let mut records = tail.poll().map_err(|e| Failure(1, format!("{shown}: {e}")))?;
        records.sort_by_key(|r| (r.arrival_ms, r.shard, r.sequence));
        for record in records.iter().take(usize::try_from(left).unwrap_or(usize::MAX)) {
            print_record(&mut out, stream, &record.partition_key, record.arrival_ms, &record.data)
                .map_err(|e| Failure(1, format!("stdout: {e}")))?;
            left -= 1;
        }
        if left > 0 {
            std::thread::sleep(POLL);
        }
    }
    Ok(())
}

/// `sluice tap` on a stream another service keeps (Kinesis): its records put from now on, read by a reader of its
/// own ([`OutsideReader`]) that commits nothing.
fn follow_served(args: &TapArgs, source: ServedStream<'_>) -> Result<(), String> {
    let stream = args.stream.as_str();
    let deadline = args.duration.map(|d| Instant::now() + d.as_std());
    let mut reader = OutsideReader::open(source, StartPosition::Latest)?;
    let mut left = args.records.unwrap_or(u64::MAX);
    let mut out = std::io::stdout().lock();
    while left > 0 && deadline.is_none_or(|d| Instant::now() < d) {
        // Wake up now and then even when nothing comes, to notice the deadline.
        let until = deadline.map_or(Instant::now() + POLL * 5, |d| d.min(Instant::now() + POLL * 5));
        let max = usize::try_from(left).unwrap_or(usize::MAX).min(10_000);
        let Some(records) = reader.next(max, until)? else { continue };
        for record in records.iter().take(max) {
            print_record(&mut out, stream, &record.partition_key, record.arrival_ms, &record.data)
                .map_err(|e| format!("stdout: {e}"))?;
            left -= 1;
        }
    }
    reader.close()
}

/// One record as a JSON line on `out`, flushed at once so a reader sees it as it comes.
fn print_record(out: &mut impl Write, stream: &str, key: &str, arrival_ms: i64, data: &[u8]) -> std::io::Result<()> {
    writeln!(out, "{}", record_line(stream, key, arrival_ms, data))?;
    out.flush()
}
