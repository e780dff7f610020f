//! The LPD receiver end to end: a real inbox (SQLite + local blobs in a temp dir), the source on
//! `127.0.0.1:0`, jobs sent by real LPR clients (Debian `rlpr`, LPRng `lpr`) and by raw bytes
//! for what those clients never do (IBM i count-0 data files, resends, hostile streams).
//!
//! The client tests fail, never skip, when a client is missing: `tests/install-lpr.sh`
//! installs both.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use capture::{CaptureError, Inbox, LpdConfig, LpdSource, Source};
use storage::{Blobs, Db, Document};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const SOURCE: &str = "lpd-test";
const WAIT: Duration = Duration::from_secs(10);

struct Harness {
    dir: tempfile::TempDir,
    db: Db,
    blobs: Blobs,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<Result<(), CaptureError>>,
}

fn profile(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

async fn start() -> Harness {
    start_with(|_| {}).await
}

async fn start_with(adjust: impl FnOnce(&mut LpdConfig)) -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open_sqlite(&dir.path().join("greffier.db"))
        .await
        .expect("sqlite");
    let blobs = Blobs::local(&dir.path().join("blobs")).expect("blobs");
    let inbox = Inbox::new(db.clone(), blobs.clone(), "detect");
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut config = LpdConfig::new(SOURCE, listen, dir.path().join("spool"))
        .with_queue(
            "FACTURES",
            profile(&[
                ("ccsid", "297"),
                ("profile", "invoices"),
                ("lpd.user", "profile-user"),
            ]),
        )
        .with_queue("QPRINT", profile(&[("ccsid", "1208")]));
    config.idle_timeout = Duration::from_secs(5);
    adjust(&mut config);
    let mut source = LpdSource::new(config);
    let addr = source.bind().await.expect("bind");
    assert_eq!(source.local_addr(), Some(addr));
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(async move { source.run(&inbox, stopped).await });
    Harness {
        dir,
        db,
        blobs,
        addr,
        stop,
        server,
    }
}

impl Harness {
    fn spool(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    async fn documents(&self) -> Vec<Document> {
        self.db
            .documents_after(0, 1000)
            .await
            .expect("list documents")
    }

    async fn original(&self, doc: &Document) -> Vec<u8> {
        let key = doc.original_key.as_deref().expect("original stored");
        self.blobs.get(key).await.expect("original readable")
    }

    /// Waits until the spool directory is empty (connection tasks clean up as they end).
    async fn assert_spool_empties(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left: Vec<_> = std::fs::read_dir(self.spool())
                .expect("spool dir")
                .flatten()
                .map(|entry| entry.file_name())
                .collect();
            if left.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "spool temp files left behind: {left:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(&mut self) {
        self.stop.send(true).expect("server still listening");
        let ended = tokio::time::timeout(WAIT, &mut self.server)
            .await
            .expect("server stops on shutdown")
            .expect("server task did not panic");
        ended.expect("server ends cleanly");
    }
}

fn meta<'a>(doc: &'a Document, key: &str) -> Option<&'a str> {
    doc.metadata.get(key).map(String::as_str)
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/spools")
        .join(name)
}

/// A client found in PATH, or a loud failure saying how to install it.
fn require(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{tool}` is not installed: run tests/install-lpr.sh (installs rlpr and lprng); \
                 the LPD tests send with real LPR clients and never skip"
            )
        })
}

/// Runs a client to completion (killed after 30 s); returns whether it succeeded.
async fn run_client(tool: &str, args: &[String]) -> (bool, String) {
    let program = require(tool);
    let child = tokio::process::Command::new(&program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), child)
        .await
        .unwrap_or_else(|_| panic!("{tool} {args:?} did not finish in 30 s"))
        .unwrap_or_else(|error| panic!("cannot run {tool}: {error}"));
    let text = format!(
        "{tool} {args:?}: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn rlpr_args(addr: SocketAddr, queue: &str, extra: &[&str], files: &[&Path]) -> Vec<String> {
    let mut args = vec![
        "-H".to_string(),
        addr.ip().to_string(),
        format!("--port={}", addr.port()),
        "-P".to_string(),
        queue.to_string(),
        "-N".to_string(),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args.extend(files.iter().map(|file| file.display().to_string()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlpr_control_file_first() {
    let mut harness = start().await;
    let file = sample("FA-2024-000301-ebcdic297.txt");
    let args = rlpr_args(
        harness.addr,
        "FACTURES",
        &[
            "-J",
            "FACT301",
            "-T",
            "Facture 301",
            "-U",
            "QPGMR",
            "-C",
            "A",
        ],
        &[&file],
    );
    let (ok, output) = run_client("rlpr", &args).await;
    assert!(ok, "{output}");

    let docs = harness.documents().await;
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let doc = &docs[0];
    assert_eq!(doc.source, SOURCE);
    assert_eq!(
        harness.original(doc).await,
        std::fs::read(&file).expect("sample")
    );
    assert_eq!(
        meta(doc, "lpd.user"),
        Some("QPGMR"),
        "control file wins over profile"
    );
    assert_eq!(meta(doc, "lpd.job"), Some("FACT301"));
    assert_eq!(meta(doc, "lpd.title"), Some("Facture 301"));
    assert_eq!(meta(doc, "lpd.class"), Some("A"));
    assert_eq!(meta(doc, "lpd.queue"), Some("FACTURES"));
    assert_eq!(
        meta(doc, "lpd.file"),
        Some(file.to_str().expect("utf-8 path"))
    );
    assert_eq!(meta(doc, "lpd.format"), Some("f"));
    assert_eq!(meta(doc, "ccsid"), Some("297"), "queue profile merged");
    assert_eq!(meta(doc, "profile"), Some("invoices"));
    assert!(meta(doc, "lpd.host").is_some());
    assert!(doc.source_path.starts_with("lpd://"), "{}", doc.source_path);
    assert!(
        doc.source_path.contains("/FACTURES/dfA"),
        "{}",
        doc.source_path
    );
    harness.assert_spool_empties().await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlpr_data_files_first() {
    let mut harness = start().await;
    let file = sample("FA-2024-000201-utf8.txt");
    let args = rlpr_args(
        harness.addr,
        "QPRINT",
        &[
            "--send-data-first",
            "-J",
            "DATA1ST",
            "-T",
            "data first",
            "-U",
            "alice",
        ],
        &[&file],
    );
    let (ok, output) = run_client("rlpr", &args).await;
    assert!(ok, "{output}");

    let docs = harness.documents().await;
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let doc = &docs[0];
    assert_eq!(
        harness.original(doc).await,
        std::fs::read(&file).expect("sample")
    );
    assert_eq!(meta(doc, "lpd.user"), Some("alice"));
    assert_eq!(meta(doc, "lpd.job"), Some("DATA1ST"));
    assert_eq!(meta(doc, "lpd.title"), Some("data first"));
    assert_eq!(meta(doc, "lpd.queue"), Some("QPRINT"));
    assert_eq!(meta(doc, "ccsid"), Some("1208"));
    harness.assert_spool_empties().await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlpr_several_files_become_several_documents() {
    let mut harness = start().await;
    let files = [
        sample("FA-2024-000202-utf8.txt"),
        sample("FA-2024-000302-ebcdic297.txt"),
        sample("FA-2024-000401-ebcdic1147.txt"),
    ];
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    for extra in [&["-U", "bob"][..], &["-U", "bob", "--send-data-first"][..]] {
        let args = rlpr_args(harness.addr, "FACTURES", extra, &paths);
        let (ok, output) = run_client("rlpr", &args).await;
        assert!(ok, "{output}");
    }
    let docs = harness.documents().await;
    // rlpr sends one job per file, all on one connection; both runs have new job numbers.
    assert_eq!(docs.len(), 6, "{docs:#?}");
    for (doc, file) in docs.iter().zip(files.iter().chain(files.iter())) {
        assert_eq!(
            harness.original(doc).await,
            std::fs::read(file).expect("sample")
        );
        assert_eq!(
            meta(doc, "lpd.file"),
            Some(file.to_str().expect("utf-8 path"))
        );
        assert_eq!(meta(doc, "lpd.user"), Some("bob"));
    }
    harness.assert_spool_empties().await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lprng_one_job_with_several_data_files() {
    require("lpr");
    assert!(
        Path::new("/etc/printcap").exists(),
        "LPRng needs an /etc/printcap, even empty: run tests/install-lpr.sh"
    );
    let mut harness = start().await;
    // A bigger spool too, so the data file crosses the read and write buffers.
    let big = harness.dir.path().join("releve-x200.txt");
    let one = std::fs::read(sample("releve-2024-03-plain.txt")).expect("sample");
    std::fs::write(&big, one.repeat(200)).expect("write payload");
    let files = [sample("FA-2024-000203-utf8.txt"), big.clone()];
    let mut args = vec![
        "-P".to_string(),
        format!("FACTURES@{}%{}", harness.addr.ip(), harness.addr.port()),
        "-J".to_string(),
        "LOT-MARS".to_string(),
        "-T".to_string(),
        "Relevés mars".to_string(),
    ];
    args.extend(files.iter().map(|file| file.display().to_string()));
    let (ok, output) = run_client("lpr", &args).await;
    assert!(ok, "{output}");

    let docs = harness.documents().await;
    assert_eq!(docs.len(), 2, "{docs:#?}");
    for (doc, file) in docs.iter().zip(&files) {
        assert_eq!(
            harness.original(doc).await,
            std::fs::read(file).expect("payload")
        );
        assert_eq!(meta(doc, "lpd.job"), Some("LOT-MARS"));
        assert_eq!(meta(doc, "lpd.title"), Some("Relevés mars"));
        assert!(meta(doc, "lpd.user").is_some_and(|user| user != "profile-user"));
        assert_eq!(
            meta(doc, "lpd.file"),
            Some(file.to_str().expect("utf-8 path"))
        );
    }
    assert_eq!(
        meta(&docs[0], "lpd.job_number"),
        meta(&docs[1], "lpd.job_number"),
        "one job"
    );
    assert_ne!(docs[0].source_ref, docs[1].source_ref);
    harness.assert_spool_empties().await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_queue_is_refused_unless_a_default_profile_is_set() {
    let mut harness = start().await;
    let file = sample("FA-2024-000204-utf8.txt");
    let args = rlpr_args(harness.addr, "NOSUCHQ", &[], &[&file]);
    let (ok, output) = run_client("rlpr", &args).await;
    assert!(!ok, "rlpr should report the refusal: {output}");
    let mut stream = connect(harness.addr).await;
    stream.write_all(b"\x02NOSUCHQ\n").await.expect("send");
    assert_eq!(answer(&mut stream).await, Some(1));
    assert!(harness.documents().await.is_empty());
    harness.stop().await;

    let mut harness =
        start_with(|config| config.default_profile = Some(profile(&[("profile", "catch-all")])))
            .await;
    let (ok, output) = run_client("rlpr", &rlpr_args(harness.addr, "NOSUCHQ", &[], &[&file])).await;
    assert!(ok, "{output}");
    let docs = harness.documents().await;
    assert_eq!(docs.len(), 1);
    assert_eq!(meta(&docs[0], "profile"), Some("catch-all"));
    assert_eq!(meta(&docs[0], "lpd.queue"), Some("NOSUCHQ"));
    harness.stop().await;
}

// ---- raw protocol bytes ------------------------------------------------------------------

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// The next answer octet; `None` when the server closed.
async fn answer(stream: &mut TcpStream) -> Option<u8> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(WAIT, stream.read(&mut byte)).await {
        Err(_) => panic!("no answer from the server within {WAIT:?}"),
        Ok(Ok(0)) | Ok(Err(_)) => None,
        Ok(Ok(_)) => Some(byte[0]),
    }
}

/// Sends one file (subcommand, bytes, zero octet), checking each answer is `0` (the last
/// answer is returned instead of checked).
async fn send_file(stream: &mut TcpStream, code: u8, name: &str, bytes: &[u8]) -> Option<u8> {
    let line = [&[code][..], format!("{} {name}\n", bytes.len()).as_bytes()].concat();
    stream.write_all(&line).await.expect("send subcommand");
    assert_eq!(
        answer(stream).await,
        Some(0),
        "subcommand for {name} refused"
    );
    stream.write_all(bytes).await.expect("send file");
    stream.write_all(&[0]).await.expect("send zero octet");
    answer(stream).await
}

fn control_file(job: &str, data_files: &[&str]) -> Vec<u8> {
    let mut control = format!("Has400.example\nPQPGMR\nJ{job}\nTspool {job}\nCB\nLQPGMR\n");
    for data in data_files {
        control.push_str(&format!("l{data}\nNQPRTSPLF\nU{data}\n"));
    }
    control.into_bytes()
}

/// A whole job as an IBM i would send it with explicit counts, control file first.
async fn send_raw_job(addr: SocketAddr, queue: &str, number: u32, payload: &[u8]) -> Option<u8> {
    let mut stream = connect(addr).await;
    stream
        .write_all(format!("\x02{queue}\n").as_bytes())
        .await
        .expect("send command");
    assert_eq!(answer(&mut stream).await, Some(0));
    let data = format!("dfA{number:03}as400.example");
    let control = control_file(&format!("JOB{number}"), &[&data]);
    let control_name = format!("cfA{number:03}as400.example");
    assert_eq!(
        send_file(&mut stream, 2, &control_name, &control).await,
        Some(0)
    );
    send_file(&mut stream, 3, &data, payload).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibm_i_data_file_of_unspecified_length_ends_at_close() {
    let mut harness = start().await;
    let payload = std::fs::read(sample("FA-2024-000402-ebcdic1147.txt")).expect("sample");
    let mut stream = connect(harness.addr).await;
    stream.write_all(b"\x02FACTURES\n").await.expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    let control = control_file("QPRTJOB", &["dfA042as400.example"]);
    assert_eq!(
        send_file(&mut stream, 2, "cfA042as400.example", &control).await,
        Some(0)
    );
    stream
        .write_all(b"\x030 dfA042as400.example\n")
        .await
        .expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    stream.write_all(&payload).await.expect("send data");
    stream.shutdown().await.expect("half-close");
    assert_eq!(
        answer(&mut stream).await,
        Some(0),
        "filed, then acknowledged"
    );

    let docs = harness.documents().await;
    assert_eq!(docs.len(), 1);
    assert_eq!(harness.original(&docs[0]).await, payload);
    assert_eq!(meta(&docs[0], "lpd.job"), Some("QPRTJOB"));
    assert_eq!(meta(&docs[0], "lpd.user"), Some("QPGMR"));
    assert_eq!(meta(&docs[0], "lpd.host"), Some("as400.example"));
    assert_eq!(meta(&docs[0], "lpd.file"), Some("QPRTSPLF"));
    assert_eq!(meta(&docs[0], "lpd.format"), Some("l"));
    assert_eq!(meta(&docs[0], "lpd.job_number"), Some("042"));
    assert!(docs[0]
        .source_ref
        .starts_with("as400.example/FACTURES/042/dfA042as400.example/"));
    assert_eq!(
        docs[0].source_path,
        "lpd://as400.example/FACTURES/dfA042as400.example"
    );
    harness.assert_spool_empties().await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resends_never_duplicate_one_source_ref() {
    let mut harness = start().await;
    let payload = std::fs::read(sample("FA-2024-000301-ebcdic297.txt")).expect("sample");
    assert_eq!(
        send_raw_job(harness.addr, "FACTURES", 123, &payload).await,
        Some(0)
    );
    // The sender did not see the last answer and sends the same job again.
    assert_eq!(
        send_raw_job(harness.addr, "FACTURES", 123, &payload).await,
        Some(0)
    );
    let docs = harness.documents().await;
    assert_eq!(docs.len(), 1, "same (source, source_ref): one document");

    // Sent again under a new job number: a new arrival, left to the pipeline's dedupe stage.
    assert_eq!(
        send_raw_job(harness.addr, "FACTURES", 124, &payload).await,
        Some(0)
    );
    // The job number wrapped around and now carries other content: a new document too.
    assert_eq!(
        send_raw_job(harness.addr, "FACTURES", 123, b"other content\n").await,
        Some(0)
    );
    let docs = harness.documents().await;
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0].blake3, docs[1].blake3);
    assert_ne!(docs[0].source_ref, docs[1].source_ref);
    assert_ne!(docs[0].source_ref, docs[2].source_ref);
    harness.assert_spool_empties().await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_state_print_and_remove_commands() {
    let mut harness = start().await;
    let mut short = connect(harness.addr).await;
    short.write_all(b"\x03FACTURES\n").await.expect("send");
    let mut text = String::new();
    short.read_to_string(&mut text).await.expect("read state");
    assert!(
        text.starts_with("greffier: queue FACTURES: ready\n"),
        "{text:?}"
    );

    // A job in progress shows in the long form.
    let mut busy = connect(harness.addr).await;
    busy.write_all(b"\x02QPRINT\n").await.expect("send");
    assert_eq!(answer(&mut busy).await, Some(0));
    let control = control_file("BUSY", &["dfA777as400.example"]);
    assert_eq!(
        send_file(&mut busy, 2, "cfA777as400.example", &control).await,
        Some(0)
    );
    let mut long = connect(harness.addr).await;
    long.write_all(b"\x04QPRINT\n").await.expect("send");
    let mut text = String::new();
    long.read_to_string(&mut text).await.expect("read state");
    assert!(text.contains("receiving job 777"), "{text:?}");
    drop(busy);

    let mut unknown = connect(harness.addr).await;
    unknown.write_all(b"\x04NOPE root\n").await.expect("send");
    let mut text = String::new();
    unknown.read_to_string(&mut text).await.expect("read state");
    assert_eq!(text, "greffier: queue NOPE: unknown queue\n");

    for command in [&b"\x01FACTURES\n"[..], b"\x05FACTURES root 12\n"] {
        let mut stream = connect(harness.addr).await;
        stream.write_all(command).await.expect("send");
        assert_eq!(answer(&mut stream).await, Some(0));
    }
    assert!(harness.documents().await.is_empty());
    harness.assert_spool_empties().await;
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_streams_are_refused_and_leave_nothing() {
    let mut harness = start_with(|config| {
        config.max_job_bytes = 64 * 1024;
        config.idle_timeout = Duration::from_millis(500);
    })
    .await;
    let addr = harness.addr;

    // Garbage, an unterminated line, a line of binary noise.
    for bytes in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[b'A'; 8000][..],
        b"\x02\xff\xfe\x00\n",
        b"\x02../../etc\n",
    ] {
        let mut stream = connect(addr).await;
        stream.write_all(bytes).await.expect("send");
        assert_eq!(answer(&mut stream).await, Some(1), "{bytes:?}");
        assert_eq!(answer(&mut stream).await, None, "closed after the refusal");
    }

    // Bad subcommands inside a job: each gets `1` and a closed connection.
    for subcommand in [
        &b"\x0399999999999 dfA001h\n"[..],
        b"\x03-12 dfA001h\n",
        b"\x0312 ../../etc/passwd\n",
        b"\x0312 dfA001h trailing\n",
        b"\x0299999 cfA001h\n",
        b"\x09\n",
    ] {
        let mut stream = connect(addr).await;
        stream.write_all(b"\x02FACTURES\n").await.expect("send");
        assert_eq!(answer(&mut stream).await, Some(0));
        stream.write_all(subcommand).await.expect("send");
        assert_eq!(answer(&mut stream).await, Some(1), "{subcommand:?}");
        assert_eq!(answer(&mut stream).await, None);
    }

    // A count-0 data file over the job limit.
    let mut stream = connect(addr).await;
    stream
        .write_all(b"\x02FACTURES\n\x030 dfA002h\n")
        .await
        .expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    assert_eq!(answer(&mut stream).await, Some(0));
    let _ = stream.write_all(&vec![b'x'; 128 * 1024]).await;
    assert_eq!(answer(&mut stream).await, Some(1));

    // A data file not followed by its zero octet.
    let mut stream = connect(addr).await;
    stream
        .write_all(b"\x02FACTURES\n\x034 dfA003h\n")
        .await
        .expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    assert_eq!(answer(&mut stream).await, Some(0));
    stream.write_all(b"abcdX").await.expect("send");
    assert_eq!(answer(&mut stream).await, Some(1));

    // A control file that is not one.
    let mut stream = connect(addr).await;
    stream.write_all(b"\x02FACTURES\n").await.expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    assert_eq!(
        send_file(&mut stream, 2, "cfA004h", b"Hx\nl/etc/passwd\n").await,
        Some(1)
    );

    // Dropped in the middle of a data file, control file already received.
    let mut stream = connect(addr).await;
    stream.write_all(b"\x02FACTURES\n").await.expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    let control = control_file("DROP", &["dfA005h"]);
    assert_eq!(
        send_file(&mut stream, 2, "cfA005h", &control).await,
        Some(0)
    );
    stream.write_all(b"\x031000 dfA005h\n").await.expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    stream.write_all(&[b'z'; 300]).await.expect("send part");
    drop(stream);

    // A control file naming a data file that never comes, then a clean close.
    let mut stream = connect(addr).await;
    stream.write_all(b"\x02FACTURES\n").await.expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    let control = control_file("HALF", &["dfA006h", "dfB006h"]);
    assert_eq!(
        send_file(&mut stream, 2, "cfA006h", &control).await,
        Some(0)
    );
    assert_eq!(
        send_file(&mut stream, 3, "dfA006h", b"first half").await,
        Some(0)
    );
    drop(stream);

    // Data files, then abort: nothing kept.
    let mut stream = connect(addr).await;
    stream.write_all(b"\x02FACTURES\n").await.expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    assert_eq!(
        send_file(&mut stream, 3, "dfA007h", b"to be aborted").await,
        Some(0)
    );
    stream.write_all(b"\x01\n").await.expect("send abort");
    assert_eq!(answer(&mut stream).await, Some(0));
    drop(stream);

    // Silent after the command: the idle timeout closes the connection.
    let mut stream = connect(addr).await;
    stream
        .write_all(b"\x02FACTURES\n\x0310 dfA008h\nabc")
        .await
        .expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    assert_eq!(answer(&mut stream).await, Some(0));
    assert_eq!(answer(&mut stream).await, Some(1), "idle timeout refuses");

    harness.assert_spool_empties().await;
    assert!(harness.documents().await.is_empty(), "nothing filed");

    // The server still works after all that.
    let payload = std::fs::read(sample("FA-2024-000201-utf8.txt")).expect("sample");
    assert_eq!(send_raw_job(addr, "FACTURES", 9, &payload).await, Some(0));
    assert_eq!(harness.documents().await.len(), 1);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_their_turn() {
    let mut harness = start_with(|config| config.max_connections = 1).await;
    let mut first = connect(harness.addr).await;
    first.write_all(b"\x02FACTURES\n").await.expect("send");
    assert_eq!(answer(&mut first).await, Some(0));

    let mut second = connect(harness.addr).await;
    second.write_all(b"\x01FACTURES\n").await.expect("send");
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), second.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "second connection served while the first holds the only slot"
    );

    drop(first);
    assert_eq!(answer(&mut second).await, Some(0));
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_a_job_in_progress_without_filing_it() {
    let mut harness = start().await;
    let mut stream = connect(harness.addr).await;
    stream
        .write_all(b"\x02FACTURES\n\x03100 dfA010h\n")
        .await
        .expect("send");
    assert_eq!(answer(&mut stream).await, Some(0));
    assert_eq!(answer(&mut stream).await, Some(0));
    stream.write_all(&[b'p'; 40]).await.expect("send part");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let spool = harness.spool();
    let db = harness.db.clone();
    harness.stop().await;
    assert_eq!(
        answer(&mut stream).await,
        Some(1),
        "the sender keeps the job"
    );
    assert_eq!(std::fs::read_dir(&spool).expect("spool").count(), 0);
    assert!(db.documents_after(0, 10).await.expect("list").is_empty());
}

#[tokio::test]
async fn leftovers_of_a_crash_are_removed_at_bind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(&spool).expect("spool");
    std::fs::write(spool.join(".lpd-999-1.part"), b"half a job").expect("leftover");
    std::fs::write(spool.join("unrelated.txt"), b"kept").expect("other file");
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut source = LpdSource::new(LpdConfig::new(SOURCE, listen, &spool));
    source.bind().await.expect("bind");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .expect("spool")
        .flatten()
        .map(|entry| entry.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("unrelated.txt")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_the_inbox_cannot_take_is_refused_and_cleaned_up() {
    let mut harness = start().await;
    harness.db.close().await;
    let payload = std::fs::read(sample("FA-2024-000204-utf8.txt")).expect("sample");
    assert_eq!(
        send_raw_job(harness.addr, "FACTURES", 55, &payload).await,
        Some(1),
        "the sender keeps the job when it cannot be filed"
    );
    harness.assert_spool_empties().await;
    harness.stop().await;
}
