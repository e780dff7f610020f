//! IBM i spools as they arrive: an SCS print run of 50 invoices sent by real LPR clients
//! (Debian `rlpr`, LPRng `lpr`) to `greffier run`'s LPD receiver, cut into one document per
//! invoice; the same run sent again ends as a duplicate; side-car attributes choose the code
//! page and reach the rules. The run and its manifest were written by IBM's JTOpen
//! (`samples/scs/make-scs.sh`), not by us.

use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use e2e::{documents, greffier, import_sample_clients, json_lines, root, run_ok, tool};

const RUN: &str = "samples/scs/run-50-invoices-1147.scs";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn manifest() -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(root().join("samples/scs/run-50-invoices-1147.manifest.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// dd/mm/yyyy → yyyy-mm-dd, as the rules store dates.
fn iso(date: &str) -> String {
    let parts: Vec<&str> = date.split('/').collect();
    format!("{}-{}-{}", parts[2], parts[1], parts[0])
}

#[test]
fn a_print_run_sent_over_lpd_is_filed_one_document_per_invoice_and_once() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    import_sample_clients(&data);
    let port = free_port();
    let config = work.path().join("greffier.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"ibmi\"\ntype = \"lpd\"\nlisten = \"127.0.0.1:{port}\"\n\
             [source.queue.FACTURES]\nccsid = 1147\nprofile = \"invoices\"\n"
        ),
    )
    .unwrap();
    let _running = Running(
        greffier(&data)
            .arg("--config")
            .arg(&config)
            .args(["--rules", "samples/rules.toml", "run"])
            .spawn()
            .expect("start greffier run"),
    );
    wait_until("the lpd receiver", Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });

    run_ok(
        tool("rlpr")
            .current_dir(root())
            .arg("-H")
            .arg("127.0.0.1")
            .arg(format!("--port={port}"))
            .args(["-P", "FACTURES", "-N", RUN]),
    );
    let expected = manifest();
    wait_until("50 settled invoices", Duration::from_secs(60), || {
        documents(&data)
            .iter()
            .filter(|doc| doc.parent_id.is_some() && doc.status != storage::Status::Processing)
            .count()
            == expected.len()
    });

    let docs = documents(&data);
    let run: Vec<_> = docs.iter().filter(|doc| doc.parent_id.is_none()).collect();
    assert_eq!(run.len(), 1, "one print run received");
    assert_eq!(run[0].status, storage::Status::Split);
    assert_eq!(run[0].pages, Some(62));
    assert_eq!(run[0].metadata["lpd.queue"], "FACTURES");
    assert_eq!(run[0].metadata["profile"], "invoices");
    let parts: Vec<_> = docs.iter().filter(|doc| doc.parent_id.is_some()).collect();
    assert_eq!(parts.len(), 50);
    for (part, invoice) in parts.iter().zip(&expected) {
        let number = invoice["invoice"].as_str().unwrap();
        assert_eq!(
            part.status,
            storage::Status::Filed,
            "{number}: {:?}",
            part.problems
        );
        assert_eq!(part.keys["invoice_number"], number);
        assert_eq!(
            part.keys["client_number"],
            invoice["client"].as_str().unwrap()
        );
        assert_eq!(part.keys["date"], iso(invoice["date"].as_str().unwrap()));
        let total_cents = invoice["total_cents"].as_i64().unwrap();
        assert_eq!(
            part.keys["total"],
            format!("{}.{:02}", total_cents / 100, total_cents % 100),
            "{number}"
        );
        assert_eq!(part.page_first, invoice["first_page"].as_i64(), "{number}");
        assert_eq!(part.page_last, invoice["last_page"].as_i64(), "{number}");
        assert_eq!(
            part.original_key, run[0].original_key,
            "the run is stored once"
        );
    }

    // A three-page invoice's own PDF: three pages, valid, its text and no other invoice's.
    let long = parts
        .iter()
        .find(|part| part.page_last.unwrap() - part.page_first.unwrap() == 2)
        .expect("the run has a three-page invoice");
    let pdf = work.path().join("long.pdf");
    let output = run_ok(greffier(&data).args(["cat", &long.id.to_string(), "--pdf"]));
    std::fs::write(&pdf, &output.stdout).unwrap();
    run_ok(tool("qpdf").arg("--check").arg(&pdf));
    let text = e2e::pdftotext(&pdf);
    assert_eq!(text.matches('\x0c').count(), 3, "three pages");
    let number = &long.keys["invoice_number"];
    assert!(
        text.contains(number.as_str()) && text.contains("Total TTC"),
        "{text}"
    );
    assert_eq!(text.matches("N° facture").count(), 3, "{text}");

    // The same run again, from another LPR client: a duplicate, not 50 more invoices.
    run_ok(
        tool("lpr")
            .current_dir(root())
            .arg("-P")
            .arg(format!("FACTURES@127.0.0.1%{port}"))
            .arg(RUN),
    );
    wait_until("the second run to settle", Duration::from_secs(60), || {
        let docs = documents(&data);
        docs.iter().filter(|doc| doc.parent_id.is_none()).count() == 2
            && docs
                .iter()
                .all(|doc| doc.status != storage::Status::Processing)
    });
    let docs = documents(&data);
    let second = docs
        .iter()
        .filter(|doc| doc.parent_id.is_none())
        .nth(1)
        .unwrap();
    assert_eq!(second.status, storage::Status::Duplicate);
    assert_eq!(second.duplicate_of, Some(run[0].id));
    assert_eq!(
        docs.iter().filter(|doc| doc.parent_id.is_some()).count(),
        50
    );
}

#[test]
fn ingest_json_prints_one_line_per_invoice_of_a_run() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    import_sample_clients(&data);
    let output =
        run_ok(greffier(&data).args(["--rules", "samples/rules.toml", "ingest", "--json", RUN]));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 50);
    assert!(lines.iter().all(|line| line["status"] == "filed"));
    assert_eq!(lines[34]["keys"]["invoice_number"], "FA-2026-000035");
    assert!(lines
        .iter()
        .all(|line| line["part_of"] == lines[0]["part_of"]));
    let output =
        run_ok(greffier(&data).args(["--rules", "samples/rules.toml", "ingest", "--json", RUN]));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "a re-sent run is one duplicate");
    assert_eq!(lines[0]["status"], "duplicate");
}

/// `rules test` on a print run shows what filing would do with each document it becomes:
/// the SCS run cut by the sample burst rule into its 50 invoices (keys and pages as JTOpen's
/// manifest says), and an AFP run by its page groups, keys from its TLEs. Nothing is stored.
#[test]
fn rules_test_evaluates_each_document_of_a_print_run() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let output = run_ok(greffier(&data).args([
        "--rules",
        "samples/rules.toml",
        "rules",
        "test",
        "--json",
        RUN,
    ]));
    let lines = json_lines(&output);
    let manifest: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(root().join("samples/scs/run-50-invoices-1147.manifest.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(lines.len(), manifest.len());
    for (line, invoice) in lines.iter().zip(&manifest) {
        assert_eq!(line["doc_type"], "invoice", "{line}");
        assert_eq!(
            line["keys"]["invoice_number"]["value"], invoice["invoice"],
            "{line}"
        );
        assert_eq!(
            line["keys"]["client_number"]["value"], invoice["client"],
            "{line}"
        );
        assert_eq!(line["page_first"], invoice["first_page"], "{line}");
        assert_eq!(line["page_last"], invoice["last_page"], "{line}");
    }
    assert!(!data.exists(), "rules test stores nothing");

    let output = run_ok(greffier(&data).args([
        "--rules",
        "samples/rules.toml",
        "rules",
        "test",
        "--json",
        "samples/afp/invoices.afp",
    ]));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 6);
    assert!(lines.iter().all(|line| line["doc_type"] == "afp-invoice"));
    assert_eq!(
        lines[0]["keys"]["invoice_number"]["value"],
        "FA-2024-000501"
    );
    assert_eq!(
        (
            lines[1]["page_first"].as_u64(),
            lines[1]["page_last"].as_u64()
        ),
        (Some(2), Some(3))
    );
    assert!(
        lines[0]["warning"]
            .as_str()
            .unwrap_or("")
            .contains("O1INVBG1"),
        "{}",
        lines[0]
    );
}

/// The 1147 sample has no SCG: only its side-car knows the code page (€ is 0x9F there, ¤ in
/// the default 037). The side-car's form type also reaches the rules.
#[test]
fn side_car_attributes_choose_the_code_page_and_reach_rule_conditions() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    import_sample_clients(&data);
    let rules = work.path().join("rules.toml");
    std::fs::write(
        &rules,
        r#"
[[doctype]]
name = "erp-invoice"
when.metadata = { "splf.form_type" = "*FACT", "splf.name" = "QPRINT" }
  [[doctype.key]]
  name = "invoice_number"
  regex = 'N° facture\s*:\s*(?P<value>FA-\d{4}-\d{6})'
  required = true
  [[doctype.attach]]
  target = "invoice"
  key = "invoice_number"
"#,
    )
    .unwrap();
    let spools = work.path().join("spools");
    std::fs::create_dir_all(&spools).unwrap();
    let sample = root().join("samples/scs/jtopen/scs3812_2invoices_ccsid1147.scs");
    std::fs::copy(&sample, spools.join("QPRINT.scs")).unwrap();
    std::fs::write(
        spools.join("QPRINT.scs.json"),
        r#"{"SPOOLED_FILE_NAME": "QPRINT", "FORM_TYPE": "*FACT", "JOB_NAME": "FACTJOUR",
            "JOB_USER": "COMPTA", "JOB_NUMBER": "123456", "CCSID": 1147, "PAGE_LENGTH": 66}"#,
    )
    .unwrap();
    let bare = work.path().join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::copy(&sample, bare.join("QPRINT.scs")).unwrap();

    let rules_arg = rules.to_str().unwrap();
    let output = run_ok(
        greffier(&data)
            .args(["--rules", rules_arg, "ingest", "--json"])
            .arg(&spools),
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "the side-car is not a document: {lines:?}");
    assert_eq!(lines[0]["doc_type"], "erp-invoice");
    let id = lines[0]["id"].as_i64().unwrap().to_string();
    let text =
        String::from_utf8(run_ok(greffier(&data).args(["cat", &id, "--text"])).stdout).unwrap();
    assert!(text.contains("EUR (€)"), "{text}");
    assert!(text.contains("Crème brûlée (façon maison)"), "{text}");
    let shown = json_lines(&run_ok(greffier(&data).args(["show", "--json", &id])));
    assert_eq!(shown[0]["metadata"]["splf.job"], "FACTJOUR");
    assert_eq!(shown[0]["metadata"]["spool.ccsid"], "1147");
    let found = json_lines(&run_ok(greffier(&data).args([
        "search",
        "--json",
        "meta.splf.job:FACTJOUR",
    ])));
    assert_eq!(found.len(), 1, "spool attributes are indexed: {found:?}");

    let output = run_ok(
        greffier(&data)
            .args(["--rules", rules_arg, "ingest", "--json"])
            .arg(&bare),
    );
    let lines = json_lines(&output);
    assert_eq!(lines[0]["status"], "duplicate", "same bytes as the first");
    let other = work.path().join("data2");
    let output = run_ok(
        greffier(&other)
            .args(["--rules", rules_arg, "ingest", "--json"])
            .arg(&bare),
    );
    let lines = json_lines(&output);
    assert_eq!(
        lines[0]["status"], "review",
        "no side-car, no form type: {lines:?}"
    );
    let id = lines[0]["id"].as_i64().unwrap().to_string();
    let text =
        String::from_utf8(run_ok(greffier(&other).args(["cat", &id, "--text"])).stdout).unwrap();
    assert!(text.contains("EUR (¤)"), "037 by default: {text}");
}
