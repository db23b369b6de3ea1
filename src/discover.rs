//! `sluice discover`: sample records from a file or from a stream, infer an `sql` application's input mapping
//! (`sluice_sql::discover`), and print it as the YAML `input:` block to paste under `applications.<name>`.
//!
//! The block goes to stdout, a summary and notes to stderr. An embedded stream is read straight from its segment
//! files (`sluice_core::embedded::peek_records`): no ledger and no lock, so a pipeline running on the same data
//! directory goes on undisturbed. A stream another service keeps (Kinesis) is read by [`crate::served_stream`].
//! Exit codes: 0 printed, 2 a file could not be read, 1 anything else.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sluice_core::embedded::{peek_records, shard_id};
use sluice_core::interpolate::{resolve, resolve_value};
use sluice_core::units::Duration;
use sluice_sql::discover::{self, Discovery, FormatChoice, SampleRecord};

use crate::served_stream::{self, ServedStream};

/// The most of a file read for a sample.
const MAX_SAMPLE_BYTES: usize = 64 << 20;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "stream"])))]
pub(crate) struct DiscoverArgs {
    /// Sample this file: NDJSON, JSON (objects, or one array of them) or CSV.
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Sample this stream of PIPELINE: an embedded stream read-only (a running pipeline is not disturbed), a
    /// Kinesis stream from its oldest record by a reader of its own (the pipeline's checkpoints are not touched).
    #[arg(long, value_name = "STREAM", requires = "pipeline")]
    stream: Option<String>,
    /// The pipeline file declaring STREAM.
    #[arg(requires = "stream")]
    pipeline: Option<PathBuf>,
    /// The record format [default: by the file's extension (`.json`, `.ndjson`, `.jsonl`, `.csv`, `.tsv`), else JSON if
    /// the sample starts with a JSON object, else CSV].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Read at most this many records (CSV: rows).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    limit: u32,
    /// CSV column delimiter; `\t`, `\n`, `\r` and `\\` are escapes [default: `,`].
    #[arg(long, value_name = "TEXT")]
    column_delimiter: Option<String>,
    /// CSV row delimiter, with the same escapes [default: `\r\n` if the sample holds one, else `\n`].
    #[arg(long, value_name = "TEXT")]
    row_delimiter: Option<String>,
    /// Where the pipeline's streams live [default: .sluice/<pipeline name>/ beside the pipeline file].
    #[arg(long, requires = "stream")]
    data_dir: Option<PathBuf>,
    /// For a stream another service keeps (`type: kinesis`): how long to read before inferring from what came.
    #[arg(long, default_value = "10s", requires = "stream")]
    wait: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Json,
    Csv,
}

/// Why discovery stopped: the message (naming the file) and the exit code.
pub(crate) struct Failure(pub u8, pub String);

/// Runs `sluice discover`.
pub(crate) fn discover_command(args: DiscoverArgs) -> ExitCode {
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn run(args: &DiscoverArgs) -> Result<(), Failure> {
    let choice = format_choice(args)?;
    match (&args.file, &args.stream, &args.pipeline) {
        (Some(file), _, _) => from_file(file, choice, args.limit as usize),
        (None, Some(stream), Some(pipeline)) => from_stream(pipeline, stream, args, choice),
        _ => Err(Failure(2, "give --file FILE, or --stream STREAM PIPELINE".into())),
    }
}

fn from_file(file: &Path, choice: FormatChoice, limit: usize) -> Result<(), Failure> {
    let shown = file.display().to_string();
    let bytes = read_sample(file).map_err(|e| Failure(2, format!("{shown}: cannot read it: {e}")))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure(1, format!("{shown}: the file is empty: there is nothing to discover from")));
    }
    let choice = match choice {
        FormatChoice::Auto => file_format(file, &bytes),
        choice => choice,
    };
    let records = discover::file_records(&bytes, choice == FormatChoice::Json, limit);
    let found = discover::discover(&records, &choice, limit).map_err(|e| Failure(1, format!("{shown}: {e}")))?;
    let stream = stream_name_from(file);
    let note = format!("`stream: {stream}` is the file's name: set it to the stream the application reads");
    print(&stream, &found, &shown, Some(note));
    Ok(())
}

fn from_stream(pipeline: &Path, stream: &str, args: &DiscoverArgs, choice: FormatChoice) -> Result<(), Failure> {
    let shown = pipeline.display().to_string();
    let default_dir = match locate_stream(pipeline, stream)? {
        StreamPlace::Embedded(dir) => dir,
        StreamPlace::Served { plugin, config, base_dir } => {
            let source = ServedStream { entry: stream, plugin: &plugin, config, base_dir };
            let wait = args.wait.as_std();
            let sampled = served_stream::sample(source, args.limit as usize, wait)
                .map_err(|e| Failure(1, format!("{shown}: stream `{stream}` ({plugin}): {e}")))?;
            if sampled.is_empty() {
                return Err(Failure(
                    1,
                    format!("{shown}: stream `{stream}` ({plugin}) gave no records in {}", args.wait),
                ));
            }
            let records: Vec<_> =
                sampled.iter().map(|r| SampleRecord { data: &r.data, place: r.place.clone() }).collect();
            return infer_and_print(
                stream,
                &records,
                &choice,
                args.limit as usize,
                &format!("{shown}: stream `{stream}` ({plugin})"),
            );
        }
    };
    let data_dir = args.data_dir.clone().unwrap_or(default_dir);
    let dir = data_dir.display();
    let limit = args.limit as usize;
    let peeked = peek_records(&data_dir, stream, limit).map_err(|e| Failure(1, format!("{shown}: {e}")))?;
    let Some(peeked) = peeked else {
        return Err(Failure(
            1,
            format!(
                "{shown}: stream `{stream}` has no data in {dir}: run the pipeline first (`sluice run {shown}`), or \
                 give the --data-dir it ran with"
            ),
        ));
    };
    if peeked.is_empty() {
        return Err(Failure(1, format!("{shown}: stream `{stream}` (in {dir}) holds no records yet")));
    }
    let records: Vec<_> = peeked
        .iter()
        .map(|r| SampleRecord { data: &r.data, place: format!("{} sequence number {}", shard_id(r.shard), r.sequence) })
        .collect();
    infer_and_print(stream, &records, &choice, limit, &format!("{shown}: stream `{stream}` (in {dir})"))
}

/// Infers the input block from a stream's sampled `records` and prints it; errors start with `whence`.
fn infer_and_print(
    stream: &str,
    records: &[SampleRecord<'_>],
    choice: &FormatChoice,
    limit: usize,
    whence: &str,
) -> Result<(), Failure> {
    let found = discover::discover(records, choice, limit).map_err(|e| Failure(1, format!("{whence}: {e}")))?;
    print(stream, &found, &format!("stream `{stream}`"), None);
    Ok(())
}

/// The format asked for, delimiters included.
fn format_choice(args: &DiscoverArgs) -> Result<FormatChoice, Failure> {
    let delimiters = args.column_delimiter.is_some() || args.row_delimiter.is_some();
    match args.format {
        Some(Format::Json) if delimiters => {
            Err(Failure(2, "--column-delimiter and --row-delimiter are for CSV, not --format json".into()))
        }
        Some(Format::Json) => Ok(FormatChoice::Json),
        None if !delimiters => Ok(FormatChoice::Auto),
        Some(Format::Csv) | None => Ok(FormatChoice::Csv {
            column_delimiter: args.column_delimiter.as_deref().map(unescape),
            row_delimiter: args.row_delimiter.as_deref().map(unescape),
        }),
    }
}

/// A delimiter as typed on a command line: `\t`, `\n`, `\r` and `\\` are escapes.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('t' | 'n' | 'r' | '\\'))) => {
                chars.next();
                out.push(match next {
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    _ => '\\',
                });
            }
            (c, _) => out.push(c),
        }
    }
    out
}

/// The format of a file when none is given: by its extension (`.json`, `.ndjson`, `.jsonl`; `.csv`, and `.tsv` with
/// tabs), else JSON if it starts with `{` or `[`, else CSV.
fn file_format(file: &Path, bytes: &[u8]) -> FormatChoice {
    let csv = |column_delimiter: Option<&str>| FormatChoice::Csv {
        column_delimiter: column_delimiter.map(str::to_owned),
        row_delimiter: None,
    };
    let extension = file.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("json" | "ndjson" | "jsonl") => FormatChoice::Json,
        Some("csv") => csv(None),
        Some("tsv") => csv(Some("\t")),
        _ if discover::looks_like_json(bytes) => FormatChoice::Json,
        _ => csv(None),
    }
}

/// The start of a file, up to [`MAX_SAMPLE_BYTES`] (cut after its last whole line when longer).
fn read_sample(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_SAMPLE_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_SAMPLE_BYTES {
        bytes.truncate(MAX_SAMPLE_BYTES);
        let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |at| at + 1);
        bytes.truncate(end);
    }
    Ok(bytes)
}

/// Where a stream of a pipeline keeps its records, as `sluice run` would find them.
pub(crate) enum StreamPlace {
    /// An embedded stream, in this data directory.
    Embedded(PathBuf),
    /// A stream another plugin serves (`kinesis`): its `type`, its config with `${VAR}`s resolved, and the
    /// directory the pipeline file is in.
    Served { plugin: String, config: serde_json::Value, base_dir: PathBuf },
}

/// Finds `stream` in `pipeline`: an embedded stream's data directory, or another stream's plugin and config.
pub(crate) fn locate_stream(pipeline: &Path, stream: &str) -> Result<StreamPlace, Failure> {
    let shown = pipeline.display().to_string();
    let bytes = std::fs::read(pipeline).map_err(|e| Failure(2, format!("{shown}: cannot read it: {e}")))?;
    let doc = sluice_core::yaml::load(&bytes)
        .map_err(|e| Failure(1, format!("{shown}:{}:{}: {}", e.position.line, e.position.column, e.message)))?;
    let streams = doc.value.get("streams").and_then(|s| s.as_object());
    let Some(entry) = streams.and_then(|s| s.get(stream)) else {
        let names: Vec<&str> = streams.map(|s| s.keys().map(String::as_str).collect()).unwrap_or_default();
        let help = sluice_core::suggest::did_you_mean(stream, names.iter().copied()).unwrap_or_else(|| {
            format!("its streams: {}", if names.is_empty() { "none".into() } else { names.join(", ") })
        });
        return Err(Failure(1, format!("{shown}: the pipeline declares no stream `{stream}` ({help})")));
    };
    let env = |var: &str| std::env::var(var).ok();
    let base_dir =
        pipeline.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), PathBuf::from);
    match entry.get("type").and_then(|t| t.as_str()) {
        Some("embedded") => {}
        Some(other) => {
            let mut config = entry.clone();
            resolve_value(&mut config, &env).map_err(|e| Failure(1, format!("{shown}: stream `{stream}`: {e}")))?;
            return Ok(StreamPlace::Served { plugin: other.to_owned(), config, base_dir });
        }
        None => return Err(Failure(1, format!("{shown}: stream `{stream}` has no `type`"))),
    }
    // As `sluice run` picks it: `.sluice/<pipeline name>/` beside the pipeline file.
    let name = doc.value.get("name").and_then(|n| n.as_str()).unwrap_or("pipeline");
    let name = resolve(name, &env).map_err(|e| Failure(1, format!("{shown}: the pipeline's name: {e}")))?;
    Ok(StreamPlace::Embedded(base_dir.join(".sluice").join(name)))
}

/// A stream name from a file's name: its stem, with characters stream names cannot hold replaced by `_`.
fn stream_name_from(file: &Path) -> String {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).take(128).collect();
    if name.is_empty() { "input".into() } else { name }
}

/// Prints the block to stdout, and the summary and notes to stderr.
fn print(stream: &str, found: &Discovery, source: &str, extra: Option<String>) {
    print!("{}", discover::render_input(stream, found));
    let what = match found.format {
        sluice_sql::input::InputFormat::Json => format!("{} JSON records", found.rows),
        sluice_sql::input::InputFormat::Csv { .. } => format!("{} CSV rows", found.rows),
    };
    eprintln!("discovered {} columns from {what} of {source}", found.columns.len());
    for note in found.notes.iter().chain(&extra) {
        eprintln!("note: {note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_take_escapes() {
        assert_eq!(unescape("\\t"), "\t");
        assert_eq!(unescape("\\r\\n"), "\r\n");
        assert_eq!(unescape("a\\\\b\\x|"), "a\\b\\x|");
        assert_eq!(unescape(";"), ";");
    }

    #[test]
    fn stream_names_come_from_file_names() {
        assert_eq!(stream_name_from(Path::new("data/orders.ndjson")), "orders");
        assert_eq!(stream_name_from(Path::new("my sample.v2.json")), "my_sample.v2");
        assert_eq!(stream_name_from(Path::new("/")), "input");
    }

    #[test]
    fn a_file_format_is_read_from_its_extension_then_its_start() {
        let csv = FormatChoice::Csv { column_delimiter: None, row_delimiter: None };
        assert_eq!(file_format(Path::new("a.JSONL"), b"x,y"), FormatChoice::Json);
        assert_eq!(file_format(Path::new("a.csv"), b"{}"), csv);
        let tabs = FormatChoice::Csv { column_delimiter: Some("\t".into()), row_delimiter: None };
        assert_eq!(file_format(Path::new("a.tsv"), b"a"), tabs);
        assert_eq!(file_format(Path::new("sample"), b"  [{}]"), FormatChoice::Json);
        assert_eq!(file_format(Path::new("sample.txt"), b"a,b"), csv);
    }
}
