//! A folder holding one pipeline file and whatever it reads and writes, as a user keeps them: the CLI runs on
//! `pipeline.yaml` there and a `file://` bucket is a folder beside it. Shared by the CLI test suites
//! (`#[path = "support/workspace.rs"] mod workspace;`).

#![allow(dead_code)] // Each test binary uses the part it needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A temporary folder with `pipeline.yaml` in it; removed when dropped.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A fresh folder whose `pipeline.yaml` is `pipeline`.
    pub fn new(pipeline: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pipeline.yaml"), pipeline).expect("write pipeline");
        Workspace { dir }
    }

    /// `name` inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to `name` inside the folder.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).expect("write");
    }

    /// `sluice <verb> pipeline.yaml`, logging at warn so failures show only what matters.
    pub fn sluice(&self, verb: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command.arg(verb).arg(self.path("pipeline.yaml")).env("RUST_LOG", "warn");
        command
    }

    /// Every object in the bucket folder `bucket`: key (relative, `/`-separated) -> bytes.
    pub fn objects(&self, bucket: &str) -> BTreeMap<String, Vec<u8>> {
        let root = self.path(bucket);
        let mut objects = BTreeMap::new();
        collect(&root, &root, &mut objects);
        objects
    }
}

/// Waits for `child` to exit, failing the test with `why` if it is still running after `limit`; returns its
/// status and its stderr (when piped).
pub fn exit_within(child: &mut Child, limit: Duration, why: &str) -> (ExitStatus, String) {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "{why}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
    }
    (status, stderr)
}

fn collect(root: &Path, dir: &Path, objects: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, objects);
        } else {
            let key = path.strip_prefix(root).expect("inside").to_string_lossy().replace('\\', "/");
            match std::fs::read(&path) {
                Ok(bytes) => {
                    objects.insert(key, bytes);
                }
                // A bucket read while a run writes it: a staging file renamed into its object meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("read object {}: {e}", path.display()),
            }
        }
    }
}
