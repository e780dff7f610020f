//! Scanned post end to end through the binary: images made from the sample invoice by
//! poppler and libtiff (`samples/scans/make-scans.sh`) become searchable PDFs that keep the
//! image as it came, whose text layer `pdftotext` reads, and whose OCR text files the invoice;
//! a hung OCR command is killed at its timeout, retried, then quarantined with the reason.

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::{documents, greffier, import_sample_clients, pdftotext, root, run_ok, squeeze, tool};
use storage::Status;

/// Levenshtein distance over chars, for the character error rate the test prints.
fn distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

fn words(text: &str) -> Vec<char> {
    squeeze(text).chars().collect()
}

fn cat_pdf(data: &Path, id: i64) -> std::path::PathBuf {
    let output = run_ok(greffier(data).args(["cat", "--pdf", &id.to_string()]));
    let path = data.join(format!("doc-{id}.pdf"));
    std::fs::write(&path, &output.stdout).expect("write pdf");
    path
}

#[test]
fn scanned_invoices_become_searchable_pdfs_and_are_filed_from_their_ocr_text() {
    let data = tempfile::tempdir().expect("temp dir");
    import_sample_clients(data.path());
    let scans = ["facture.jpg", "facture-lzw.tif", "facture-g3.tif"];
    let mut command = greffier(data.path());
    command.args(["--rules", "samples/rules.toml", "ingest", "--json"]);
    for scan in scans {
        command.arg(root().join("samples/scans").join(scan));
    }
    run_ok(&mut command);
    let truth = pdftotext(&root().join("samples/pdf/facture-FA-2024-000501.pdf"));
    for doc in documents(data.path()) {
        assert_eq!(doc.status, Status::Filed, "{doc:#?}");
        assert_eq!(doc.doc_type.as_deref(), Some("invoice"));
        assert_eq!(doc.keys["invoice_number"], "FA-2024-000501");
        assert_eq!(doc.keys["client_number"], "CL004713");
        let pdf = cat_pdf(data.path(), doc.id);
        run_ok(tool("qpdf").arg("--check").arg(&pdf));
        // The text layer, read by an independent extractor.
        let layer = pdftotext(&pdf);
        assert!(layer.contains("FA-2024-000501"), "{layer}");
        assert!(layer.contains("CL004713"), "{layer}");
        let truth_chars = words(&truth);
        let cer = distance(&words(&layer), &truth_chars) as f64 / truth_chars.len() as f64;
        eprintln!(
            "{}: text layer character error rate against the born-digital pdf {:.1} %, ocr confidence {}",
            doc.source_path,
            cer * 100.0,
            doc.metadata.get("ocr.confidence").map_or("-", String::as_str)
        );
        // The image is kept as it came: the JPEG as DCT.
        let list = run_ok(tool("pdfimages").arg("-list").arg(&pdf));
        let list = String::from_utf8_lossy(&list.stdout);
        if doc.format.as_deref() == Some("jpeg") {
            assert!(list.contains(" jpeg "), "{list}");
        }
    }
}

#[test]
fn a_scan_to_pdf_is_ocrd_and_a_born_digital_pdf_is_not() {
    let data = tempfile::tempdir().expect("temp dir");
    import_sample_clients(data.path());
    // What a copier's "scan to PDF" makes: the JPEG scan in a PDF, no text (img2pdf).
    let scanned = data.path().join("scan-to-pdf.pdf");
    run_ok(
        tool("img2pdf")
            .arg(root().join("samples/scans/facture.jpg"))
            .arg("-o")
            .arg(&scanned),
    );
    assert!(
        pdftotext(&scanned).trim().is_empty(),
        "no text layer to start with"
    );
    let born_digital = root().join("samples/pdf/avoir-AV-2024-000007.pdf");
    run_ok(
        greffier(data.path())
            .args(["--rules", "samples/rules.toml", "ingest", "--json"])
            .arg(&scanned)
            .arg(&born_digital),
    );
    for doc in documents(data.path()) {
        assert_eq!(doc.status, Status::Filed, "{doc:#?}");
        let shown = run_ok(greffier(data.path()).args(["show", &doc.id.to_string()]));
        let shown = String::from_utf8_lossy(&shown.stdout);
        let pdf = cat_pdf(data.path(), doc.id);
        run_ok(tool("qpdf").arg("--check").arg(&pdf));
        if doc.source_path.ends_with("scan-to-pdf.pdf") {
            assert_eq!(doc.keys["invoice_number"], "FA-2024-000501");
            assert!(shown.contains("read by ocr"), "{shown}");
            assert!(pdftotext(&pdf).contains("FA-2024-000501"));
            // The original is kept as it came; the searchable copy is derived.
            assert_ne!(doc.pdf_key, doc.original_key);
        } else {
            assert!(
                !shown.contains("ocr"),
                "a born-digital pdf is not ocr'd: {shown}"
            );
            assert_eq!(doc.pdf_key, doc.original_key);
        }
    }
}

#[test]
fn a_hung_ocr_command_is_killed_at_its_timeout_retried_then_quarantined_with_the_reason() {
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    let marker = format!("greffier-hung-ocr-{}", std::process::id());
    let config = work.path().join("greffier.toml");
    std::fs::write(
        &config,
        format!(
            r#"[workers]
max_attempts = 2
poll_ms = 20
[ocr]
page_timeout_secs = 1
command = ["bash", "-c", "exec -a {marker} sleep 60", "{{input}}"]
command_output = "text"
"#
        ),
    )
    .expect("config");
    let started = Instant::now();
    let output = run_ok(
        greffier(&data)
            .arg("--config")
            .arg(&config)
            .args(["ingest", "--json"])
            .arg(root().join("samples/scans/facture.jpg")),
    );
    let elapsed = started.elapsed();
    let docs = documents(&data);
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    assert_eq!(doc.status, Status::Quarantined, "{doc:#?}");
    assert_eq!(doc.attempts, 2, "tried, then retried once: {doc:#?}");
    let reason = doc.last_error.clone().unwrap_or_default();
    assert!(
        reason.contains("page 1") && reason.contains("timed out"),
        "{reason}"
    );
    eprintln!(
        "hung ocr: quarantined after {} attempts in {:.1} s: {reason}",
        doc.attempts,
        elapsed.as_secs_f64()
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    drop(output);
    // No sleeping OCR process is left behind.
    let left = std::process::Command::new("pgrep")
        .arg("-f")
        .arg(&marker)
        .output()
        .expect("pgrep");
    assert!(
        left.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn a_g4_batch_with_two_separator_sheets_ends_as_three_letters_filed_by_text_and_by_the_sheet() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    import_sample_clients(&data);
    // The morning post as a copier scans it: three letters and two separator sheets (QR codes
    // by qrencode, see samples/separators), one multi-page CCITT G4 TIFF made by ImageMagick;
    // the second letter skewed 1 degree with scanner noise.
    let render = |pdf: &str, out: &str| {
        run_ok(
            tool("pdftoppm")
                .args(["-r", "150", "-gray", "-singlefile", "-png"])
                .arg(root().join("samples/pdf").join(pdf))
                .arg(dir.join(out)),
        );
        dir.join(format!("{out}.png"))
    };
    // The invoice went through the scanner upside down.
    let upright = render("facture-FA-2024-000501.pdf", "invoice");
    let invoice = dir.join("invoice-upside-down.png");
    run_ok(
        tool("convert")
            .arg(&upright)
            .args(["-rotate", "180"])
            .arg(&invoice),
    );
    let credit = render("avoir-AV-2024-000007.pdf", "credit");
    // The letter went through sideways (turned a quarter clockwise).
    let upright_letter = render("courrier-divers.pdf", "letter");
    let letter = dir.join("letter-sideways.png");
    run_ok(
        tool("convert")
            .arg(&upright_letter)
            .args(["-rotate", "90"])
            .arg(&letter),
    );
    let skewed = dir.join("credit-skewed.png");
    run_ok(
        tool("convert")
            .arg(&credit)
            .args([
                "-background",
                "white",
                "-rotate",
                "1",
                "+repage",
                "-attenuate",
                "0.2",
                "+noise",
                "Gaussian",
            ])
            .arg(&skewed),
    );
    let batch = dir.join("batch.tif");
    run_ok(
        tool("convert")
            .arg(&invoice)
            .arg(root().join("samples/separators/sep-qr.png"))
            .arg(&skewed)
            .arg(root().join("samples/separators/sep-qr-client.png"))
            .arg(&letter)
            .args([
                "+repage",
                "-units",
                "PixelsPerInch",
                "-density",
                "150",
                "-threshold",
                "60%",
                "-compress",
                "Group4",
            ])
            .arg(&batch),
    );
    let config = dir.join("greffier.toml");
    std::fs::write(
        &config,
        "[ocr]\nseparator_keys = { \"CLIENT:\" = \"client_number\" }\n",
    )
    .expect("config");
    let started = Instant::now();
    run_ok(
        greffier(&data)
            .arg("--config")
            .arg(&config)
            .args(["--rules", "samples/rules.toml", "ingest", "--json"])
            .arg(&batch),
    );
    eprintln!(
        "5-page g4 batch cut and filed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let docs = documents(&data);
    let batch_doc = docs
        .iter()
        .find(|doc| doc.parent_id.is_none())
        .expect("the batch");
    assert_eq!(batch_doc.status, Status::Split, "{batch_doc:#?}");
    let mut letters: Vec<_> = docs.iter().filter(|doc| doc.parent_id.is_some()).collect();
    letters.sort_by_key(|doc| doc.page_first);
    let summary: Vec<(Option<i64>, Option<&str>, Vec<String>, Status)> = letters
        .iter()
        .map(|doc| {
            (
                doc.page_first,
                doc.doc_type.as_deref(),
                doc.targets.clone(),
                doc.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                Some(1),
                Some("invoice"),
                vec![
                    "client:CL004713".to_string(),
                    "invoice:FA-2024-000501".to_string()
                ],
                Status::Filed
            ),
            (
                Some(3),
                Some("credit_note"),
                vec!["client:CL004711".to_string()],
                Status::Filed
            ),
            (
                Some(5),
                Some("letter-for-client"),
                vec!["client:CL004712".to_string()],
                Status::Filed
            ),
        ],
        "{letters:#?}"
    );
    // Each letter's PDF holds its own pages only, searchable, separators dropped.
    for doc in &letters {
        let pdf = cat_pdf(&data, doc.id);
        run_ok(tool("qpdf").arg("--check").arg(&pdf));
        let info = run_ok(tool("pdfinfo").arg(&pdf));
        let info = String::from_utf8_lossy(&info.stdout).into_owned();
        let pages = info
            .lines()
            .find_map(|line| line.strip_prefix("Pages:"))
            .map(str::trim);
        assert_eq!(pages, Some("1"), "{info}");
        let list = run_ok(tool("pdfimages").arg("-list").arg(&pdf));
        assert!(
            String::from_utf8_lossy(&list.stdout).contains("ccitt"),
            "kept as G4"
        );
    }
    assert!(pdftotext(&cat_pdf(&data, letters[1].id)).contains("AV-2024-000007"));
    // The upside-down invoice was turned before OCR, and its PDF page shows it upright: the
    // title's word box is in the top third of the page.
    let shown = run_ok(greffier(&data).args(["show", &batch_doc.id.to_string()]));
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("page 1 turned 180°"), "{shown}");
    assert!(shown.contains("page 5 turned 270°"), "{shown}");
    let letter_pdf = cat_pdf(&data, letters[2].id);
    let info = run_ok(tool("pdfinfo").arg(&letter_pdf));
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let size = info
        .lines()
        .find_map(|line| line.strip_prefix("Page size:"))
        .unwrap_or_default()
        .to_string();
    let (width, height) = size
        .split_whitespace()
        .filter_map(|word| word.parse::<f32>().ok())
        .fold((0.0, 0.0), |(w, h), value| {
            if w == 0.0 {
                (value, h)
            } else if h == 0.0 {
                (w, value)
            } else {
                (w, h)
            }
        });
    assert!(
        height > width,
        "the sideways letter stands upright (portrait): {size}"
    );
    assert!(
        pdftotext(&letter_pdf).contains("ACME"),
        "its text layer reads upright"
    );
    let pdf = cat_pdf(&data, letters[0].id);
    let bbox = run_ok(tool("pdftotext").arg("-bbox").arg(&pdf).arg("-"));
    let bbox = String::from_utf8_lossy(&bbox.stdout);
    let title = bbox
        .lines()
        .find(|line| line.contains(">FACTURE<"))
        .unwrap_or_else(|| panic!("no FACTURE word: {bbox}"));
    let y_min: f32 = title
        .split("yMin=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|value| value.parse().ok())
        .expect("a yMin");
    assert!(y_min < 842.0 / 3.0, "FACTURE at y {y_min}: {title}");
}
