//! AFP runs → PDF: real AFP written by Apache FOP (the samples, and the runs the test script
//! makes from `samples/afp/fo/`), checked with poppler's pdftotext and qpdf, and every AFP of
//! the shared corpora rendered or refused with a reason, never a panic.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use pipelines::afp::convert::convert_afp;
use pipelines::afp::AfpOptions;
use pipelines::convert::{PartBytes, PartOutput};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Rendered {
    dir: tempfile::TempDir,
    parts: Vec<(PartOutput, PathBuf)>,
}

fn render(path: &Path, options: &AfpOptions) -> Result<Rendered, pipelines::convert::ConvertError> {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let mut parts = Vec::new();
    let reader = BufReader::new(std::fs::File::open(path).unwrap());
    let out = dir.path().to_path_buf();
    convert_afp(reader, options, None, &work, |mut part| {
        let pdf = out.join(format!("part-{}.pdf", part.index));
        match std::mem::replace(&mut part.pdf, PartBytes::Memory(Vec::new())) {
            PartBytes::Memory(bytes) => std::fs::write(&pdf, bytes)?,
            PartBytes::File(scratch) => std::fs::rename(scratch, &pdf)?,
        }
        if let Some(keep) = std::env::var_os("AFP_KEEP") {
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            std::fs::copy(&pdf, Path::new(&keep).join(format!("{name}-{}.pdf", part.index)))?;
        }
        parts.push((part, pdf));
        Ok(())
    })?;
    Ok(Rendered { dir, parts })
}

fn pdftotext(pdf: &Path, extra: &[&str]) -> String {
    let output = Command::new("pdftotext")
        .args(extra)
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed: tests/run.sh installs it");
    assert!(output.status.success(), "pdftotext failed on {}", pdf.display());
    String::from_utf8(output.stdout).unwrap()
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn fop_sample_with_page_groups_becomes_one_pdf_per_invoice_with_its_tles() {
    let rendered = render(
        &root().join("samples/afp/fop_invoices_tle_ioca_ipo.afp"),
        &AfpOptions::default(),
    )
    .unwrap();
    assert_eq!(rendered.parts.len(), 3);
    let (first, pdf) = &rendered.parts[0];
    assert_eq!((first.page_first, first.page_last), (1, 2));
    let meta = |part: &PartOutput, key: &str| {
        part.metadata
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(meta(first, "afp.tle.INVOICE_NO").as_deref(), Some("INV-2024-000123"));
    assert_eq!(meta(first, "afp.tle.CLIENT_NO").as_deref(), Some("CL004711"));
    assert_eq!(
        meta(first, "afp.warning").as_deref(),
        Some("missing overlay O1INVBG1")
    );
    let text = collapse(&pdftotext(pdf, &[]));
    assert!(text.contains("ACME SARL - FACTURE / INVOICE"), "{text}");
    assert!(text.contains("Client: Société Générale à Paris"), "{text}");
    assert!(text.contains("Gadget B (crème brûlée) 99,00 EUR 99,00 EUR"), "{text}");
    let _ = &rendered.dir;
}

/// The FOP runs of `samples/afp/fo`, made once per test process by the shipped script.
fn fop_runs() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("greffier-afp-fop-{}", std::process::id()));
        let status = Command::new("bash")
            .arg(root().join("samples/afp/make-afp.sh"))
            .arg(&dir)
            .arg("invoices")
            .arg("landscape")
            .status()
            .expect("bash");
        assert!(
            status.success(),
            "samples/afp/make-afp.sh failed: Apache FOP is needed (tests/install-afp.sh installs it)"
        );
        dir
    })
}

#[derive(serde::Deserialize)]
struct Expect {
    pages: Vec<Vec<String>>,
    documents: Vec<ExpectDocument>,
}

#[derive(serde::Deserialize)]
struct ExpectDocument {
    pages: Vec<usize>,
    tles: std::collections::BTreeMap<String, String>,
}

fn page_lines(pdf: &Path, page: usize) -> Vec<String> {
    let n = page.to_string();
    pdftotext(pdf, &["-layout", "-f", &n, "-l", &n])
        .lines()
        .map(collapse)
        .filter(|line| !line.is_empty())
        .collect()
}

fn pages_of(pdf: &Path) -> usize {
    let output = Command::new("pdfinfo").arg(pdf).output().expect("pdfinfo");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("Pages:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

fn qpdf_check(pdf: &Path) {
    let output = Command::new("qpdf").arg("--check").arg(pdf).output().expect("qpdf");
    assert!(
        output.status.success(),
        "qpdf --check {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Each page group is a part with its pages, its TLEs as metadata, and on each page exactly
/// the lines FOP put there (pdftotext -layout, blanks collapsed).
fn check_against_expectation(name: &str) {
    let afp = fop_runs().join(format!("{name}.afp"));
    let expect: Expect = serde_json::from_slice(
        &std::fs::read(root().join(format!("samples/afp/fo/{name}.expect.json"))).unwrap(),
    )
    .unwrap();
    let rendered = render(&afp, &AfpOptions::default()).unwrap();
    assert_eq!(rendered.parts.len(), expect.documents.len(), "{name}: documents");
    for ((part, pdf), document) in rendered.parts.iter().zip(&expect.documents) {
        qpdf_check(pdf);
        let pages: Vec<usize> = (part.page_first..=part.page_last).collect();
        assert_eq!(pages, document.pages, "{name} part {}: pages", part.index);
        assert_eq!(pages_of(pdf), pages.len());
        let tles: std::collections::BTreeMap<String, String> = part
            .metadata
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix("afp.tle.")?.to_string(), value.clone())))
            .collect();
        assert_eq!(tles, document.tles, "{name} part {}: keys", part.index);
        for (offset, page) in pages.iter().enumerate() {
            let ours = page_lines(pdf, offset + 1);
            let expected = &expect.pages[page - 1];
            assert_eq!(&ours, expected, "{name} page {page}: text");
        }
    }
}

#[test]
fn fop_invoices_run_gives_one_document_per_page_group_with_the_fo_text_and_tle_keys() {
    check_against_expectation("invoices");
}

#[test]
fn fop_landscape_report_keeps_its_132_columns_on_a_landscape_page() {
    check_against_expectation("landscape");
    let rendered = render(&fop_runs().join("landscape.afp"), &AfpOptions::default()).unwrap();
    let info = Command::new("pdfinfo").arg(&rendered.parts[0].1).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("841.8 x 595.2"), "{info}");
}
