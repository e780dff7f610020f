//! Bad input never crashes the service and never loses the original: an empty file, binary
//! garbage, a file that vanishes, one that cannot be read, a 200 MB file with no line end,
//! and a format without a converter yet (real AFP from Apache FOP) each end quarantined with
//! a clear reason, while a good spool and a real SCS run from IBM JTOpen in the same batch are
//! filed, and memory stays bounded.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use e2e::{greffier, import_sample_clients, json_lines, run_ok};

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn bad_inputs_are_quarantined_with_a_reason_and_the_rest_flows() {
    let work = tempfile::tempdir().unwrap();
    let inbox = work.path().join("in");
    let data = work.path().join("data");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("empty.txt"), b"").unwrap();
    let mut state = 0x2545F4914F6CDD1Du64;
    let garbage: Vec<u8> = (0..65536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(inbox.join("garbage.bin"), &garbage).unwrap();
    std::os::unix::fs::symlink(work.path().join("gone.txt"), inbox.join("vanished.txt")).unwrap();
    // Reading a process's own memory at offset 0 fails with EIO, even for root.
    std::os::unix::fs::symlink("/proc/self/mem", inbox.join("unreadable.txt")).unwrap();
    let mut huge =
        std::io::BufWriter::new(std::fs::File::create(inbox.join("huge-no-line-end.txt")).unwrap());
    let block = vec![b'x'; 1 << 20];
    for _ in 0..200 {
        huge.write_all(&block).unwrap();
    }
    huge.flush().unwrap();
    drop(huge);
    // Was quarantined as "no converter yet" before the SCS interpreter: now two invoices.
    std::fs::copy(
        e2e::root().join("samples/scs/jtopen/scs3812_2invoices_ccsid297.scs"),
        inbox.join("jtopen.scs"),
    )
    .unwrap();
    // Was quarantined as "no converter yet" before the AFP interpreter: now rendered. The same
    // run cut short is quarantined with where it ends.
    std::fs::copy(
        e2e::root().join("samples/afp/fop_invoice_simple.afp"),
        inbox.join("fop.afp"),
    )
    .unwrap();
    let afp = std::fs::read(e2e::root().join("samples/afp/fop_invoice_simple.afp")).unwrap();
    std::fs::write(inbox.join("truncated.afp"), &afp[..afp.len() * 2 / 3]).unwrap();
    std::fs::copy(
        e2e::root().join("samples/spools/FA-2024-000203-utf8.txt"),
        inbox.join("good.txt"),
    )
    .unwrap();
    import_sample_clients(&data);

    let mut child = greffier(&data)
        .args(["--rules", "samples/rules.toml", "ingest", "--json"])
        .arg(&inbox)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "ingest exits cleanly on bad input");
    let lines = json_lines(&output);
    let scs_invoices: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|doc| doc["source_path"].as_str().unwrap().ends_with("jtopen.scs"))
        .map(|doc| &doc["keys"]["invoice_number"])
        .collect();
    assert_eq!(
        scs_invoices,
        ["FA-2024-000123", "FA-2024-000124"],
        "the SCS run, cut in two"
    );
    let results: BTreeMap<String, serde_json::Value> = lines
        .into_iter()
        .map(|doc| {
            (
                std::path::Path::new(doc["source_path"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
                doc,
            )
        })
        .collect();
    let reason = |name: &str| -> String {
        let doc = &results[name];
        assert_eq!(doc["status"], "quarantined", "{name}: {doc}");
        doc["error"].as_str().unwrap_or_default().to_string()
    };
    assert!(
        reason("empty.txt").contains("empty file"),
        "{}",
        reason("empty.txt")
    );
    assert!(
        reason("garbage.bin").contains("binary data"),
        "{}",
        reason("garbage.bin")
    );
    assert!(
        reason("vanished.txt").contains("vanished"),
        "{}",
        reason("vanished.txt")
    );
    assert!(
        reason("unreadable.txt").contains("cannot read"),
        "{}",
        reason("unreadable.txt")
    );
    assert!(
        reason("huge-no-line-end.txt").contains("no line end"),
        "{}",
        reason("huge-no-line-end.txt")
    );
    assert!(
        reason("truncated.afp").contains("afp is truncated at offset"),
        "{}",
        reason("truncated.afp")
    );
    assert_ne!(
        results["fop.afp"]["status"], "quarantined",
        "{}",
        results["fop.afp"]
    );
    assert_eq!(
        results["good.txt"]["status"], "filed",
        "{}",
        results["good.txt"]
    );
    assert!(
        peak > 0 && peak < 150 * 1024,
        "peak memory {peak} KiB while a 200 MB file went through"
    );

    // The originals are kept: a quarantined document can be read back and retried.
    let afp_id = results["truncated.afp"]["id"].to_string();
    let original = run_ok(greffier(&data).args(["cat", &afp_id, "--original"])).stdout;
    assert_eq!(
        original,
        std::fs::read(inbox.join("truncated.afp")).unwrap()
    );
    let huge_id = results["huge-no-line-end.txt"]["id"].to_string();
    let shown: serde_json::Value =
        serde_json::from_slice(&run_ok(greffier(&data).args(["show", "--json", &huge_id])).stdout)
            .unwrap();
    assert_eq!(
        shown["document"]["blake3"].as_str().map(str::len),
        Some(64),
        "the 200 MB original is stored"
    );
    let retried = json_lines(&run_ok(greffier(&data).args(["retry", "--json", &afp_id])));
    assert_eq!(
        retried[0]["status"], "quarantined",
        "still truncated: {}",
        retried[0]
    );
    let listed = json_lines(&run_ok(greffier(&data).args(["quarantine", "--json"])));
    assert_eq!(listed.len(), 6);
}
