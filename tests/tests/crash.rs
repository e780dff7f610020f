//! Crash recovery: `greffier run` watches a folder of 200 spools and is killed with SIGKILL
//! at a random moment. No source file may be deleted before its document is committed. After
//! a restart every file ends filed exactly once: one document, one invoice record, one index
//! entry each.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use e2e::{documents, greffier, import_sample_clients, run_ok};

const SPOOLS: usize = 200;

fn write_spools(dir: &Path) {
    let clients = ["CL004711", "CL004712", "CL004713", "CL004714"];
    for n in 1..=SPOOLS {
        let client = clients[n % clients.len()];
        let text = format!(
            "1ACME SARL                                    FACTURE\r\n\
             0N° facture : FA-2026-{n:06}                 Client : {client}\r\n \
             Date : 04/12/2026   Devise : EUR\r\n\
             0  Qté  Désignation                     P.U. HT    Montant HT\r\n\
             +  ___  ___________                     _______    __________\r\n    \
             {n:>2}  Crème fraîche épaisse 5 L         23,85     {:>9},00\r\n\
             -                              Total TTC :   {n} 234,56 €\r\n",
            n * 24
        );
        std::fs::write(dir.join(format!("QPRINT_{n:06}.txt")), text).unwrap();
    }
}

fn start(config: &Path, data: &Path) -> Child {
    greffier(data)
        .arg("--config")
        .arg(config)
        .arg("run")
        .spawn()
        .expect("start greffier run")
}

fn file_name(doc: &storage::Document) -> String {
    Path::new(&doc.source_path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string()
}

#[test]
fn kill_9_mid_run_loses_nothing_and_files_everything_once() {
    let work = tempfile::tempdir().unwrap();
    let spool = work.path().join("spool-out");
    let data = work.path().join("data");
    std::fs::create_dir_all(&spool).unwrap();
    write_spools(&spool);
    import_sample_clients(&data);
    let config = work.path().join("greffier.toml");
    std::fs::write(
        &config,
        format!(
            "rules = \"{rules}\"\n[workers]\ncount = 2\nlease_secs = 2\npoll_ms = 50\n\
             [[source]]\nname = \"spool-in\"\ntype = \"folder\"\npath = \"{spool}\"\nafter = \"delete\"\nrescan_secs = 0.5\nstable_secs = 0.2\n",
            rules = e2e::root().join("samples/rules.toml").display(),
            spool = spool.display()
        ),
    )
    .unwrap();

    // Kill somewhere between "still capturing" and "mostly done".
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let kill_after = Duration::from_millis(400 + u64::from(seed % 2600));
    let mut first = start(&config, &data);
    std::thread::sleep(kill_after);
    first.kill().unwrap();
    first.wait().unwrap();

    let docs = documents(&data);
    let captured: BTreeMap<String, i64> = docs.iter().map(|doc| (file_name(doc), doc.id)).collect();
    let mut deleted = 0;
    for n in 1..=SPOOLS {
        let name = format!("QPRINT_{n:06}.txt");
        if !spool.join(&name).exists() {
            deleted += 1;
            assert!(captured.contains_key(&name), "{name} was deleted before its document was committed (killed after {kill_after:?})");
        }
    }
    eprintln!(
        "killed after {kill_after:?}: {} captured, {deleted} source files deleted",
        captured.len()
    );

    let mut second = start(&config, &data);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let docs = documents(&data);
        let settled = docs.iter().filter(|doc| doc.status.is_settled()).count();
        let left = std::fs::read_dir(&spool).unwrap().count();
        if docs.len() >= SPOOLS && settled == docs.len() && left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not settled in time: {} documents, {settled} settled, {left} files left",
            docs.len()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Only a process that catches SIGTERM can stop gracefully: wait until it does (the
    // SigCgt mask of /proc/PID/status), so the test never races the process's start-up.
    let catches_sigterm = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("SigCgt:"))
                    .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            })
            .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
    };
    let ready_by = Instant::now() + Duration::from_secs(30);
    while !catches_sigterm(second.id()) {
        assert!(
            Instant::now() < ready_by,
            "greffier run never listened for SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    run_ok(
        Command::new("kill")
            .arg("-TERM")
            .arg(second.id().to_string()),
    );
    let status = second.wait().unwrap();
    assert!(status.success(), "graceful stop on SIGTERM: {status}");

    let docs = documents(&data);
    assert_eq!(docs.len(), SPOOLS, "one document per file, none twice");
    let mut names: Vec<String> = docs.iter().map(file_name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), SPOOLS);
    for doc in &docs {
        assert_eq!(
            doc.status,
            storage::Status::Filed,
            "{} {:?} {:?}",
            doc.source_path,
            doc.problems,
            doc.last_error
        );
    }
    let status: serde_json::Value =
        serde_json::from_slice(&run_ok(greffier(&data).args(["status", "--json"])).stdout).unwrap();
    assert_eq!(
        status["records"]["invoices"].as_u64(),
        Some(SPOOLS as u64),
        "{status}"
    );
    assert_eq!(
        status["records"]["attachments"].as_u64(),
        Some(2 * SPOOLS as u64),
        "{status}"
    );
    assert_eq!(
        status["indexed"].as_u64(),
        Some(SPOOLS as u64),
        "one index entry each: {status}"
    );
}
