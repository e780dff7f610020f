//! The shipped samples, end to end through the binary: every document lands where
//! samples/expected.json says, every spool's PDF shows the spool's text to pdftotext
//! (accents and € included) and passes qpdf --check, a second ingest yields duplicates only,
//! search and review work, and a clerk can file a review document by hand.

use std::collections::BTreeMap;
use std::path::Path;

use e2e::{greffier, import_sample_clients, json_lines, pdftotext, run_ok, squeeze, tool};
use serde_json::Value;

fn ingest_samples(data: &Path) -> Vec<Value> {
    let output = run_ok(greffier(data).args([
        "--rules",
        "samples/rules.toml",
        "ingest",
        "--json",
        "samples/spools",
        "samples/pdf",
    ]));
    json_lines(&output)
}

fn by_path(documents: &[Value]) -> BTreeMap<String, Value> {
    documents
        .iter()
        .map(|doc| {
            (
                doc["source_path"].as_str().unwrap().to_string(),
                doc.clone(),
            )
        })
        .collect()
}

#[test]
fn samples_are_filed_as_expected() {
    let data = tempfile::tempdir().unwrap();
    import_sample_clients(data.path());
    let documents = ingest_samples(data.path());
    let expected: BTreeMap<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(e2e::root().join("samples/expected.json")).unwrap(),
    )
    .unwrap();
    let actual = by_path(&documents);
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "one document per sample file"
    );
    for (path, want) in &expected {
        let got = &actual[path];
        assert_eq!(got["status"], want["status"], "{path}: {got}");
        if want["status"] == "duplicate" {
            assert!(got["duplicate_of"].as_i64().is_some(), "{path}: {got}");
            continue;
        }
        assert_eq!(got["doc_type"], want["doc_type"], "{path}: {got}");
        assert_eq!(got["pages"], want["pages"], "{path}: {got}");
        for (key, value) in want["keys"].as_object().unwrap() {
            assert_eq!(&got["keys"][key], value, "{path}: key {key} in {got}");
        }
        let mut attached: Vec<&str> = got["attached"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        attached.sort();
        let mut want_attached: Vec<&str> = want["attached"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        want_attached.sort();
        assert_eq!(attached, want_attached, "{path}");
        assert_eq!(got["blake3"].as_str().unwrap().len(), 64);
    }
    let unknown_client = &actual["samples/spools/FA-2024-000302-ebcdic297.txt"];
    assert!(
        unknown_client["problems"]
            .to_string()
            .contains("CL009999 is not in the clients table"),
        "{unknown_client}"
    );
}

#[test]
fn spool_pdfs_show_the_spool_text_to_pdftotext() {
    let data = tempfile::tempdir().unwrap();
    import_sample_clients(data.path());
    let documents = ingest_samples(data.path());
    let work = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for doc in documents
        .iter()
        .filter(|doc| doc["format"] == "text-spool" && doc["status"] != "duplicate")
    {
        let id = doc["id"].as_i64().unwrap().to_string();
        let pdf = work.path().join(format!("{id}.pdf"));
        std::fs::write(
            &pdf,
            run_ok(greffier(data.path()).args(["cat", &id, "--pdf"])).stdout,
        )
        .unwrap();
        run_ok(tool("qpdf").arg("--check").arg(&pdf));
        let rendered: Vec<String> = pdftotext(&pdf)
            .lines()
            .map(squeeze)
            .filter(|l| !l.is_empty())
            .collect();
        // The spool's own text, decoded independently: UTF-8 as is, EBCDIC through iconv.
        let source = e2e::root().join(doc["source_path"].as_str().unwrap());
        let decoded = if source.to_string_lossy().contains("ebcdic") {
            let ccsid = if source.to_string_lossy().contains("1147") {
                "IBM1147"
            } else {
                "IBM297"
            };
            let output = run_ok(
                tool("iconv")
                    .args(["-f", ccsid, "-t", "UTF-8"])
                    .arg(&source),
            );
            String::from_utf8(output.stdout).unwrap()
        } else {
            String::from_utf8(std::fs::read(&source).unwrap()).unwrap()
        };
        let fcfc = decoded
            .lines()
            .next()
            .is_some_and(|line| line.starts_with('1'));
        for line in decoded.lines() {
            let line = line.trim_end_matches('\r').replace('\x0c', "");
            let text = if fcfc {
                line.get(1..).unwrap_or_default()
            } else {
                line.as_str()
            };
            let text = squeeze(text);
            if text.chars().all(|c| c == '_' || c == ' ') {
                continue;
            }
            assert!(
                rendered
                    .iter()
                    .any(|rendered_line| rendered_line.contains(&text)),
                "{}: line {text:?} not in pdftotext output:\n{}",
                source.display(),
                rendered.join("\n")
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 9, "every unique spool sample checked");
    let euro = documents
        .iter()
        .find(|d| d["source_path"] == "samples/spools/FA-2024-000401-ebcdic1147.txt")
        .unwrap();
    let text =
        run_ok(greffier(data.path()).args(["cat", &euro["id"].to_string(), "--text"])).stdout;
    assert!(
        String::from_utf8(text).unwrap().contains('€'),
        "CCSID 1147 keeps its euro sign"
    );
}

#[test]
fn a_second_ingest_yields_duplicates_only() {
    let data = tempfile::tempdir().unwrap();
    import_sample_clients(data.path());
    let first = ingest_samples(data.path());
    let second = ingest_samples(data.path());
    assert_eq!(first.len(), second.len());
    let first_ids: Vec<i64> = first.iter().map(|d| d["id"].as_i64().unwrap()).collect();
    for doc in &second {
        assert_eq!(doc["status"], "duplicate", "{doc}");
        assert!(
            first_ids.contains(&doc["duplicate_of"].as_i64().unwrap()),
            "{doc}"
        );
    }
    let status: Value =
        serde_json::from_slice(&run_ok(greffier(data.path()).args(["status", "--json"])).stdout)
            .unwrap();
    let unique = first.iter().filter(|d| d["status"] != "duplicate").count() as u64;
    assert_eq!(
        status["indexed"].as_u64(),
        Some(unique),
        "duplicates are never indexed: {status}"
    );
    assert_eq!(status["records"]["invoices"].as_u64(), Some(8), "{status}");
}

#[test]
fn search_review_attach_and_reindex() {
    let data = tempfile::tempdir().unwrap();
    import_sample_clients(data.path());
    let documents = ingest_samples(data.path());
    let search = |query: &str| -> Vec<String> {
        let output = greffier(data.path())
            .args(["search", "--json", query])
            .output()
            .unwrap();
        json_lines(&output)
            .iter()
            .map(|d| d["source_path"].as_str().unwrap().to_string())
            .collect()
    };
    let mut for_client = search("client:CL004711");
    for_client.sort();
    assert_eq!(
        for_client,
        [
            "samples/pdf/avoir-AV-2024-000007.pdf",
            "samples/spools/FA-2024-000201-utf8.txt",
            "samples/spools/FA-2024-000204-utf8.txt",
            "samples/spools/FA-2024-000401-ebcdic1147.txt"
        ]
    );
    assert_eq!(
        search("invoice:FA-2024-000202"),
        ["samples/spools/FA-2024-000202-utf8.txt"]
    );
    assert!(
        search("creme fraiche epaisse")
            .contains(&"samples/spools/FA-2024-000201-utf8.txt".to_string()),
        "accent-insensitive full text finds « Crème fraîche épaisse »"
    );
    assert_eq!(
        search("type:statement"),
        ["samples/spools/releve-2024-03-plain.txt"]
    );

    let review = json_lines(&run_ok(greffier(data.path()).args(["review", "--json"])));
    assert_eq!(review.len(), 2, "{review:?}");
    let letter = documents
        .iter()
        .find(|d| d["source_path"] == "samples/pdf/courrier-divers.pdf")
        .unwrap();
    let id = letter["id"].as_i64().unwrap().to_string();
    run_ok(greffier(data.path()).args(["attach", &id, "client:CL004712"]));
    let shown: Value =
        serde_json::from_slice(&run_ok(greffier(data.path()).args(["show", "--json", &id])).stdout)
            .unwrap();
    assert_eq!(shown["document"]["status"], "filed");
    assert_eq!(
        shown["document"]["attached"],
        serde_json::json!(["client:CL004712"])
    );
    let trail = shown["events"].to_string();
    for stage in [
        "capture", "detect", "dedupe", "convert", "text", "extract", "attach", "index", "by hand",
    ] {
        assert!(trail.contains(stage), "audit trail lacks {stage}: {trail}");
    }
    assert!(
        search("client:CL004712").contains(&"samples/pdf/courrier-divers.pdf".to_string()),
        "search knows the manual attach"
    );
    let unknown = greffier(data.path())
        .args(["attach", &id, "client:CL000000"])
        .output()
        .unwrap();
    assert!(
        !unknown.status.success(),
        "attaching to an unknown client is refused"
    );

    let before = search("client:CL004713");
    std::fs::remove_dir_all(data.path().join("index")).unwrap();
    let out = run_ok(greffier(data.path()).arg("reindex"));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("reindexed 12 documents"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        search("client:CL004713"),
        before,
        "the index is derived data"
    );
}

#[test]
fn rules_test_stores_nothing() {
    let data = tempfile::tempdir().unwrap();
    let output = run_ok(greffier(data.path()).args([
        "--rules",
        "samples/rules.toml",
        "rules",
        "test",
        "--json",
        "samples/spools/FA-2024-000202-utf8.txt",
    ]));
    let result = &json_lines(&output)[0];
    assert_eq!(result["doc_type"], "invoice");
    assert_eq!(result["keys"]["total"]["value"], "8389.68");
    assert_eq!(result["pages"], 2);
    assert!(
        !data.path().join("greffier.db").exists(),
        "rules test opens no store"
    );
}
