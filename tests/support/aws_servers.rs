//! Real AWS-compatible servers for the tests, started on 127.0.0.1 by the tests themselves and stopped when
//! dropped (a failing assertion included): moto (Kinesis, S3, Firehose), kinesalite (Kinesis with faithful
//! resharding) and s3rver (S3 that keeps its objects on disk across a restart). See
//! `../shared/reference/local-aws-servers.md` for what each does and does not do faithfully.
//!
//! Python packages come from `tests/support/requirements.txt` into `target/ci-venv` (shared with
//! `cargo xtask ci`), npm packages into `target/aws-servers`; both are installed on first use. When a server
//! cannot be installed or started, [`Server::start_or_skip`]-style helpers print a loud SKIPPED message and
//! return `None`, unless `SLUICE_REQUIRE_AWS_SERVERS=1` (set by `cargo xtask ci`), where they panic: CI never
//! skips. Use with `#[path = "support/aws_servers.rs"] mod aws_servers;`.

#![allow(dead_code)] // Each test binary uses the part it needs.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The workspace's `target/` folder.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target")
}

/// Whether a missing server fails the test instead of skipping it.
fn required() -> bool {
    std::env::var("SLUICE_REQUIRE_AWS_SERVERS").is_ok_and(|v| v == "1")
}

/// `Some(value)`, or a loud skip (`None`), or a panic under `SLUICE_REQUIRE_AWS_SERVERS=1`.
fn or_skip<T>(what: &str, result: Result<T, String>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) if required() => panic!("{what} is required (SLUICE_REQUIRE_AWS_SERVERS=1) but failed: {e}"),
        Err(e) => {
            eprintln!("\n*** SKIPPED: {what} could not be started, so this test did not run: {e}\n");
            None
        }
    }
}

/// The venv's python with every package of `tests/support/requirements.txt`: `target/ci-venv`, created and
/// filled from PyPI when the requirements changed since it was last filled.
pub fn python() -> Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/requirements.txt");
            let wanted =
                std::fs::read_to_string(&requirements).map_err(|e| format!("{}: {e}", requirements.display()))?;
            let venv = target_dir().join("ci-venv");
            let python = venv.join("bin/python");
            // The requirements the venv was last filled from: unchanged means nothing to install.
            let stamp = venv.join("sluice-requirements.txt");
            if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
                return Ok(python);
            }
            // Serialise the install across the test binaries cargo runs one after another (and threads in one).
            let _lock = lock_dir(&target_dir().join("ci-venv.lock"));
            if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
                return Ok(python);
            }
            if !python.exists() {
                run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
            }
            run(Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&requirements))?;
            std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
            Ok(python)
        })
        .clone()
}

/// `target/aws-servers` with kinesalite and s3rver from npm.
fn npm_servers() -> Result<PathBuf, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join("aws-servers");
        let ready = |dir: &Path| ["kinesalite", "s3rver"].iter().all(|p| dir.join("node_modules").join(p).is_dir());
        if ready(&dir) {
            return Ok(dir);
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let _lock = lock_dir(&target_dir().join("aws-servers.lock"));
        if !ready(&dir) {
            run(Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "kinesalite@3.3.3", "s3rver@3.7.1"])
                .current_dir(&dir))?;
        }
        Ok(dir)
    })
    .clone()
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr)))
    }
}

/// A lock held while the directory `path` exists: `mkdir` is atomic across processes. Waits up to 10 minutes
/// (an install), then breaks a lock left by a killed process.
struct DirLock(PathBuf);

fn lock_dir(path: &Path) -> DirLock {
    let deadline = Instant::now() + Duration::from_secs(600);
    while std::fs::create_dir(path).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    DirLock(path.to_owned())
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A free port of 127.0.0.1 (the OS picks it; a server started right after takes it).
pub fn free_port() -> u16 {
    // Ports handed out in this process are remembered so two servers starting together never get the same one.
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a port");
        let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// moto's server mode: Kinesis, S3, Firehose (no faithful resharding).
    Moto,
    /// kinesalite: Kinesis, with faithful resharding.
    Kinesalite,
    /// s3rver: S3 on a folder, so objects survive a restart.
    S3rver,
}

/// A running server on 127.0.0.1, killed when dropped.
pub struct Server {
    kind: Kind,
    port: u16,
    child: Option<Child>,
    /// s3rver's folder (kept across [`Server::restart`]).
    folder: Option<tempfile::TempDir>,
}

impl Server {
    /// moto on a free port, or `None` (loudly) when it cannot be started outside CI.
    pub fn moto() -> Option<Server> {
        or_skip("moto_server (PyPI moto[server])", Server::start(Kind::Moto))
    }

    /// kinesalite on a free port, or `None` (loudly) when it cannot be started outside CI.
    pub fn kinesalite() -> Option<Server> {
        or_skip("kinesalite (npm)", Server::start(Kind::Kinesalite))
    }

    /// s3rver on a free port over a fresh folder, or `None` (loudly) when it cannot be started outside CI.
    pub fn s3rver() -> Option<Server> {
        or_skip("s3rver (npm)", Server::start(Kind::S3rver))
    }

    fn start(kind: Kind) -> Result<Server, String> {
        let folder = match kind {
            Kind::S3rver => Some(tempfile::tempdir().map_err(|e| e.to_string())?),
            _ => None,
        };
        let mut server = Server { kind, port: free_port(), child: None, folder };
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let mut command = match self.kind {
            Kind::Moto => {
                let python = python()?;
                let mut command = Command::new(python.with_file_name("moto_server"));
                command.args(["-H", "127.0.0.1", "-p", &port]);
                command
            }
            Kind::Kinesalite => {
                let dir = npm_servers()?;
                // Its Node API, not its CLI: the CLI listens on every interface.
                let script = format!(
                    "require('kinesalite')({{createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, \
                     shardLimit: 100}}).listen({port}, '127.0.0.1')"
                );
                let mut command = Command::new("node");
                command.args(["-e", &script]).current_dir(dir);
                command
            }
            Kind::S3rver => {
                let dir = npm_servers()?;
                let folder = self.folder.as_ref().map(|f| f.path().to_owned()).unwrap_or_default();
                let mut command = Command::new(dir.join("node_modules/.bin/s3rver"));
                command.arg("-d").arg(folder).args(["-a", "127.0.0.1", "-p", &port, "--silent"]);
                command
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", self.kind))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("{:?} exited at start ({status})", self.kind));
            }
            if Instant::now() > deadline {
                return Err(format!("{:?} did not listen on 127.0.0.1:{} within 30 s", self.kind, self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The AWS environment a client (sluice, boto3, the Rust SDK) needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let (key, secret) = match self.kind {
            Kind::S3rver => ("S3RVER", "S3RVER"),
            _ => ("testing", "testing"),
        };
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", key.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// Stops the server (an outage); [`Server::restart`] brings it back on the same port (s3rver: with its objects).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a stopped server again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn().unwrap_or_else(|e| panic!("restarting {:?}: {e}", self.kind));
    }

    /// Runs a Python script with boto3 against this server; `args` follow the script's name. Returns its stdout,
    /// and panics with its stderr when it fails.
    pub fn python(&self, script: &str, args: &[&str]) -> String {
        let python = python().unwrap_or_else(|e| panic!("the test venv: {e}"));
        let output =
            Command::new(python).arg("-c").arg(script).args(args).envs(self.env()).output().expect("python runs");
        assert!(
            output.status.success(),
            "the Python client failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
