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
