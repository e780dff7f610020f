//! Helpers for the end-to-end tests: they drive the real `greffier` binary (built by
//! `tests/run.sh` before the tests run) on real files and check its outputs with independent
//! tools (`pdftotext`, `qpdf`).
//!
//! # Layout
//!
//! - `lib.rs`: finding the binary, running it, reading JSON lines, external oracles
//! - `tests/samples.rs`: the shipped samples end to end, duplicates, search, review, CLI contract
//! - `tests/crash.rs`: kill -9 in the middle of 200 spools, restart, nothing lost or doubled
//! - `tests/bad_input.rs`: empty, garbage, vanished, unreadable and 200 MB inputs
//! - `tests/ibmi.rs`: an SCS print run over LPD (rlpr, LPRng) cut into invoices, side-cars

pub mod dovecot;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The greffier binary: `GREFFIER_BIN`, or the debug build in the workspace target folder.
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("GREFFIER_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    let path = target.join("debug").join("greffier");
    assert!(
        path.exists(),
        "{} is missing: build it first (tests/run.sh does: cargo build -p greffier)",
        path.display()
    );
    path
}

/// A `greffier` command with a data folder.
pub fn greffier(data: &Path) -> Command {
    let mut command = Command::new(binary());
    command.current_dir(root()).arg("--data").arg(data);
    command
}

/// Runs a command, panics with its stderr when it fails.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command.output().expect("cannot start command");
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// One JSON value per non-empty line.
pub fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("bad json line {line:?}: {error}"))
        })
        .collect()
}

/// An external tool the test script installs; its absence fails the test loudly.
pub fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(found, "{name} is required (tests/run.sh installs it)");
    Command::new(name)
}

/// `pdftotext -layout` of a PDF file.
pub fn pdftotext(pdf: &Path) -> String {
    let output = run_ok(tool("pdftotext").arg("-layout").arg(pdf).arg("-"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Collapses runs of blanks, for comparing layouts that differ only in spacing.
pub fn squeeze(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Imports the sample clients into a data folder.
pub fn import_sample_clients(data: &Path) {
    run_ok(greffier(data).args([
        "records",
        "import",
        "client",
        "samples/clients.csv",
        "--map",
        "code=CODE,name=RAISON_SOCIALE",
    ]));
}

/// Every document of a data folder's SQLite database, read directly (not through the CLI).
pub fn documents(data: &Path) -> Vec<storage::Document> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let db = storage::Db::open_sqlite(&data.join("greffier.db"))
            .await
            .expect("the data folder's database");
        let docs = db
            .documents_after(0, 100_000)
            .await
            .expect("documents of the database");
        db.close().await;
        docs
    })
}
