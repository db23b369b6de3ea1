//! Editor support: every pipeline names the schema in its `yaml-language-server` modeline, and a real YAML
//! language server (npm `yaml-language-server`, as VS Code's YAML extension, Neovim and Helix run it) reads
//! that modeline and flags mistakes and completes keys from the schema.
//!
//! The server is installed by this test with npm into the target directory on first use (a few seconds),
//! then driven over stdio with LSP's JSON-RPC, as an editor does.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The server's version: 1.x runs on Node.js 20 (2.x needs Node.js 22).
const SERVER: &str = "yaml-language-server@1.25.0";
const SCHEMA: &str = "schemas/pipeline.schema.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pipeline files of `dir`.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_pipeline_names_the_schema_in_its_modeline() {
    let schema = root().join(SCHEMA).canonicalize().expect("schema");
    let files: Vec<PathBuf> =
        ["pipelines", "tests/conformance"].iter().flat_map(|d| yaml_files(&root().join(d))).collect();
    assert!(files.len() > 1, "pipelines found: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let first = text.lines().next().unwrap_or_default();
        let relative = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: first line is not the modeline: {first}", file.display()));
        let target = file.parent().expect("parent").join(relative).canonicalize();
        assert_eq!(target.ok().as_ref(), Some(&schema), "{}: the modeline names the schema", file.display());
    }
}

/// The language server's installed entry point, installed with npm on first use.
fn server() -> PathBuf {
    let prefix = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("yaml-ls");
    let bin = prefix.join("node_modules/yaml-language-server/bin/yaml-language-server");
    let version = prefix.join("node_modules/yaml-language-server/package.json");
    let installed = std::fs::read_to_string(&version).is_ok_and(|t| t.contains("\"version\": \"1.25.0\""));
    if !installed {
        std::fs::create_dir_all(&prefix).expect("prefix");
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&prefix)
            .arg(SERVER)
            .status()
            .expect("this test needs Node.js and npm, to install the YAML language server");
        assert!(status.success(), "npm install {SERVER} failed");
    }
    bin
}

/// A language server process, killed when dropped (a failing assertion included).
struct Server {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: u64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads LSP messages (`Content-Length` header, blank line, JSON body) into a channel.
fn read_messages(stdout: impl Read + Send + 'static) -> Receiver<Value> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut length = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse::<usize>().ok();
                }
            }
            let mut body = vec![0; length.unwrap_or(0)];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let Ok(message) = serde_json::from_slice(&body) else { return };
            if sender.send(message).is_err() {
                return;
            }
        }
    });
    receiver
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new("node")
            .arg(server())
            .arg("--stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the YAML language server");
        let stdin = child.stdin.take().expect("stdin");
        let messages = read_messages(child.stdout.take().expect("stdout"));
        Server { child, stdin, messages, next_id: 100 }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write to the server");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}));
        self.next_id
    }

    /// The next message `wanted` accepts, answering the server's own requests meanwhile as an editor would
    /// (settings: validation on, no schema store, which would need the network).
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.messages.recv_timeout(left).unwrap_or_else(|_| panic!("no {what} within 60 s"));
            if wanted(&message) {
                return message;
            }
            if let (Some(id), Some(method)) = (message.get("id"), message.get("method").and_then(Value::as_str)) {
                let result = if method == "workspace/configuration" {
                    let items = message["params"]["items"].as_array().cloned().unwrap_or_default();
                    let settings = |item: &Value| match item.get("section").and_then(Value::as_str) {
                        Some("yaml") => settings(),
                        _ => Value::Null,
                    };
                    Value::Array(items.iter().map(settings).collect())
                } else {
                    Value::Null
                };
                let id = id.clone();
                self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
            }
        }
    }

    /// Starts the session for the workspace at the project's root.
    fn initialize(&mut self) {
        let uri = format!("file://{}", root().display());
        let id = self.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": uri,
                "capabilities": {"workspace": {"configuration": true}, "textDocument": {"publishDiagnostics": {}}},
            }),
        );
        self.wait_for("initialize result", |m| m.get("id") == Some(&json!(id)));
        self.notify("initialized", json!({}));
        self.notify("workspace/didChangeConfiguration", json!({"settings": {"yaml": settings()}}));
    }

    /// Opens a document that is not on disk, at `path` under the project's root.
    fn open(&mut self, path: &str, text: &str) -> String {
        let uri = format!("file://{}/{path}", root().display());
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        uri
    }
}

fn settings() -> Value {
    json!({"validate": true, "completion": true, "hover": true, "schemaStore": {"enable": false}})
}

/// A pipeline with two schema mistakes, as a user might type it: a misspelled key and a string for a number.
const WITH_ERRORS: &str = "# yaml-language-server: $schema=../schemas/pipeline.schema.json
name: editor-example
streams:
  s: {type: embedded, shards: many}
destinations:
  out:
    type: s3
    bucket: file://./bucket
    source: s
    bufer: {size: 1MiB}
";

/// A datagen producer being typed: completion is asked for at `ev` (line 6, column 6).
const COMPLETING: &str = "# yaml-language-server: $schema=../schemas/pipeline.schema.json
name: c
producers:
  p:
    type: datagen
    stream: s
    ev
streams:
  s: {type: embedded}
";

#[test]
fn the_yaml_language_server_flags_mistakes_and_completes_keys_from_the_schema() {
    let mut server = Server::start();
    server.initialize();
    let uri = server.open("pipelines/editor-example.yaml", WITH_ERRORS);
    let published = server.wait_for("diagnostics", |m| {
        m.get("method").and_then(Value::as_str) == Some("textDocument/publishDiagnostics")
            && m["params"]["uri"] == json!(uri)
            && m["params"]["diagnostics"].as_array().is_some_and(|d| !d.is_empty())
    });
    let diagnostics = published["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
    let schema_uri = format!("file://{}/{SCHEMA}", root().display());
    let find = |message: &str| {
        diagnostics.iter().find(|d| d["message"].as_str().is_some_and(|m| m.contains(message))).cloned()
    };
    let unknown =
        find("Property bufer is not allowed").unwrap_or_else(|| panic!("unknown key flagged: {diagnostics:#?}"));
    assert_eq!(unknown["range"]["start"], json!({"line": 9, "character": 4}), "at `bufer`");
    assert!(unknown["source"].as_str().is_some_and(|s| s.starts_with("yaml-schema: destination `s3`")), "{unknown}");
    assert_eq!(unknown["data"]["schemaUri"], json!([schema_uri]), "from sluice's schema, via the modeline");
    let mistyped =
        find("Expected \"integer\"").unwrap_or_else(|| panic!("string for shards flagged: {diagnostics:#?}"));
    assert_eq!(mistyped["range"]["start"], json!({"line": 3, "character": 30}), "at `many`");

    // Completion inside a datagen producer offers its keys.
    let uri = server.open("pipelines/editor-completion.yaml", COMPLETING);
    let id = server.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 6, "character": 6}}),
    );
    let response = server.wait_for("completion", |m| m.get("id") == Some(&json!(id)) && m.get("method").is_none());
    let items = match &response["result"] {
        Value::Array(items) => items.clone(),
        result => result["items"].as_array().cloned().unwrap_or_default(),
    };
    let labels: Vec<&str> = items.iter().filter_map(|i| i["label"].as_str()).collect();
    for key in ["every", "rate", "record", "count", "seed", "partition_key"] {
        assert!(labels.contains(&key), "`{key}` offered: {labels:?}");
    }
}
