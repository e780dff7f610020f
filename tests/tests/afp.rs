//! AFP print runs through `greffier ingest`: a run of 50 invoices written by Apache FOP (made
//! by the test from `samples/afp/fo/run.py`, with FOP's page groups and TLE index tags) ends
//! as 50 documents keyed by their TLEs and filed under their client and invoice, the overlay
//! read from the configured resource folder; the same run again is one duplicate; without the
//! overlay, the invoices go to review saying which overlay is missing.

use std::path::PathBuf;

use e2e::{greffier, import_sample_clients, json_lines, root, run_ok, tool};

/// dd/mm/yyyy → yyyy-mm-dd, as the rules store dates.
fn iso(date: &str) -> String {
    let parts: Vec<&str> = date.split('/').collect();
    format!("{}-{}-{}", parts[2], parts[1], parts[0])
}

/// `run-50.afp` made by FOP, and what run.py says it holds.
fn fop_run(dir: &std::path::Path) -> (PathBuf, serde_json::Value) {
    run_ok(
        std::process::Command::new("bash")
            .arg(root().join("samples/afp/make-afp.sh"))
            .arg(dir)
            .arg("run-50"),
    );
    let expect = run_ok(
        tool("python3")
            .arg(root().join("samples/afp/fo/run.py"))
            .args(["50", "--expect"]),
    );
    (
        dir.join("run-50.afp"),
        serde_json::from_slice(&expect.stdout).unwrap(),
    )
}

#[test]
fn a_fop_run_of_50_invoices_is_filed_by_its_tles_and_once() {
    let work = tempfile::tempdir().unwrap();
    let (run, expect) = fop_run(&work.path().join("fop"));
    let data = work.path().join("data");
    import_sample_clients(&data);
    let config = work.path().join("greffier.toml");
    std::fs::write(
        &config,
        format!(
            "[afp]\nresource_dir = {:?}\n",
            root().join("samples/afp/overlay").display().to_string()
        ),
    )
    .unwrap();
    let output = run_ok(
        greffier(&data)
            .arg("--config")
            .arg(&config)
            .args(["--rules", "samples/rules.toml", "ingest", "--json"])
            .arg(&run),
    );
    let lines = json_lines(&output);
    let documents = expect["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 50);
    assert_eq!(lines.len(), 50, "one line per invoice");
    for (line, document) in lines.iter().zip(documents) {
        let tles = &document["tles"];
        let pages = document["pages"].as_array().unwrap();
        assert_eq!(line["status"], "filed", "{line}");
        assert_eq!(line["format"], "afp");
        assert_eq!(line["doc_type"], "afp-invoice");
        assert_eq!(line["keys"]["invoice_number"], tles["INVOICE_NO"], "{line}");
        assert_eq!(line["keys"]["client_number"], tles["CLIENT_NO"], "{line}");
        assert_eq!(
            line["keys"]["date"],
            serde_json::Value::from(iso(tles["INVOICE_DATE"].as_str().unwrap()))
        );
        assert_eq!(line["page_first"], pages[0]);
        assert_eq!(line["page_last"], *pages.last().unwrap());
        assert_eq!(line["pages"], pages.len());
        let attached: Vec<&str> = line["attached"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value.as_str().unwrap())
            .collect();
        assert!(
            attached.contains(&format!("client:{}", tles["CLIENT_NO"].as_str().unwrap()).as_str()),
            "{line}"
        );
        assert!(line["problems"].as_array().unwrap().is_empty(), "{line}");
    }

    // A three-page invoice's PDF: its pages, its number, the overlay, read by poppler.
    let three = lines
        .iter()
        .find(|line| line["pages"] == 3)
        .expect("run.py makes every 13th invoice 3 pages");
    let id = three["id"].to_string();
    let pdf = work.path().join("three.pdf");
    std::fs::write(
        &pdf,
        run_ok(greffier(&data).args(["cat", &id, "--pdf"])).stdout,
    )
    .unwrap();
    let info = run_ok(tool("pdfinfo").arg(&pdf));
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let pages = info
        .lines()
        .find_map(|line| line.strip_prefix("Pages:"))
        .map(str::trim);
    assert_eq!(pages, Some("3"), "{info}");
    run_ok(tool("qpdf").arg("--check").arg(&pdf));
    let text = e2e::pdftotext(&pdf);
    assert!(text.contains(three["keys"]["invoice_number"].as_str().unwrap()));
    assert_eq!(text.matches("FORMULAIRE O1INVBG1").count(), 3, "{text}");

    // Searchable by its TLE-derived keys.
    let found = json_lines(&run_ok(greffier(&data).args([
        "search",
        "--json",
        &format!(
            "keys.invoice_number:{}",
            three["keys"]["invoice_number"].as_str().unwrap()
        ),
    ])));
    assert_eq!(found.len(), 1);

    // The same run again: the original is known, nothing is filed twice.
    let again = json_lines(&run_ok(
        greffier(&data)
            .arg("--config")
            .arg(&config)
            .args(["--rules", "samples/rules.toml", "ingest", "--json"])
            .arg(&run),
    ));
    assert_eq!(again.len(), 1, "a re-sent run is one duplicate");
    assert_eq!(again[0]["status"], "duplicate");
}

#[test]
fn without_its_overlay_an_afp_invoice_goes_to_review_saying_which_is_missing() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    import_sample_clients(&data);
    let lines = json_lines(&run_ok(greffier(&data).args([
        "--rules",
        "samples/rules.toml",
        "ingest",
        "--json",
        "samples/afp/invoices.afp",
    ])));
    assert_eq!(lines.len(), 6);
    for line in &lines {
        assert_eq!(line["status"], "review", "{line}");
        assert_eq!(
            line["problems"],
            serde_json::json!(["afp drawn incompletely: missing overlay O1INVBG1"])
        );
        assert!(line["keys"]["invoice_number"]
            .as_str()
            .unwrap()
            .starts_with("FA-2024-"));
    }
    let review = String::from_utf8(run_ok(greffier(&data).arg("review")).stdout).unwrap();
    assert_eq!(
        review.matches("missing overlay O1INVBG1").count(),
        6,
        "{review}"
    );
    let show = String::from_utf8(
        run_ok(greffier(&data).args(["show", &lines[0]["id"].to_string()])).stdout,
    )
    .unwrap();
    assert!(show.contains("missing overlay O1INVBG1"), "{show}");
}
