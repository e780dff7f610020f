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
            std::fs::copy(
                &pdf,
                Path::new(&keep).join(format!("{name}-{}.pdf", part.index)),
            )?;
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
    assert!(
        output.status.success(),
        "pdftotext failed on {}",
        pdf.display()
    );
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
    assert_eq!(
        meta(first, "afp.tle.INVOICE_NO").as_deref(),
        Some("INV-2024-000123")
    );
    assert_eq!(
        meta(first, "afp.tle.CLIENT_NO").as_deref(),
        Some("CL004711")
    );
    assert_eq!(
        meta(first, "afp.warning").as_deref(),
        Some("missing overlay O1INVBG1")
    );
    let text = collapse(&pdftotext(pdf, &[]));
    assert!(text.contains("ACME SARL - FACTURE / INVOICE"), "{text}");
    assert!(text.contains("Client: Société Générale à Paris"), "{text}");
    assert!(
        text.contains("Gadget B (crème brûlée) 99,00 EUR 99,00 EUR"),
        "{text}"
    );
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
            .arg("rotated")
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
    let output = Command::new("qpdf")
        .arg("--check")
        .arg(pdf)
        .output()
        .expect("qpdf");
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
    assert_eq!(
        rendered.parts.len(),
        expect.documents.len(),
        "{name}: documents"
    );
    for ((part, pdf), document) in rendered.parts.iter().zip(&expect.documents) {
        qpdf_check(pdf);
        let pages: Vec<usize> = (part.page_first..=part.page_last).collect();
        assert_eq!(pages, document.pages, "{name} part {}: pages", part.index);
        assert_eq!(pages_of(pdf), pages.len());
        let tles: std::collections::BTreeMap<String, String> = part
            .metadata
            .iter()
            .filter_map(|(key, value)| {
                Some((key.strip_prefix("afp.tle.")?.to_string(), value.clone()))
            })
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
    let info = Command::new("pdfinfo")
        .arg(&rendered.parts[0].1)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("841.8 x 595.2"), "{info}");
}

/// The overlay the invoices name is found in the resource folder (a real FOP page made into
/// an overlay by samples/afp/overlay/make-overlay.py) and drawn on every page, where FOP put
/// its text; without the folder, the pages say it is missing.
#[test]
fn overlay_from_the_resource_folder_is_drawn_on_every_page_and_its_absence_is_a_warning() {
    let afp = fop_runs().join("invoices.afp");
    let missing = render(&afp, &AfpOptions::default()).unwrap();
    for (part, _) in &missing.parts {
        let warning = part.metadata.iter().find(|(key, _)| key == "afp.warning");
        assert_eq!(
            warning.map(|(_, value)| value.as_str()),
            Some("missing overlay O1INVBG1"),
            "part {}",
            part.index
        );
    }
    let options = AfpOptions {
        resource_dir: Some(root().join("samples/afp/overlay")),
        ..AfpOptions::default()
    };
    let rendered = render(&afp, &options).unwrap();
    for (part, pdf) in &rendered.parts {
        assert!(
            part.metadata.iter().all(|(key, _)| key != "afp.warning"),
            "part {}: {:?}",
            part.index,
            part.metadata
        );
        for page in 1..=(part.page_last - part.page_first + 1) {
            let lines = page_lines(pdf, page);
            assert_eq!(
                lines.first().map(String::as_str),
                Some("FORMULAIRE O1INVBG1 - EXEMPLAIRE CLIENT"),
                "part {} page {page}",
                part.index
            );
            // The overlay's words where FOP's own PDF of the overlay page has them.
            let bbox = pdftotext(
                pdf,
                &["-bbox", "-f", &page.to_string(), "-l", &page.to_string()],
            );
            let word = bbox
                .lines()
                .find(|line| line.ends_with(">FORMULAIRE</word>"))
                .expect("the overlay's first word");
            let x_min: f32 = word
                .split("xMin=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|value| value.parse().ok())
                .unwrap();
            // 1.5 cm from the left edge.
            assert!((x_min - 42.52).abs() < 0.5, "overlay text at x {x_min}");
        }
    }
}

/// (text, x, y) of every word of a page, from pdftotext -bbox.
fn words(pdf: &Path, page: usize) -> Vec<(String, f32, f32)> {
    let n = page.to_string();
    let attribute = |line: &str, name: &str| -> f32 {
        line.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(f32::NAN)
    };
    pdftotext(pdf, &["-bbox", "-f", &n, "-l", &n])
        .lines()
        .filter(|line| line.trim_start().starts_with("<word "))
        .map(|line| {
            let text = line
                .rsplit_once("\">")
                .map(|(_, rest)| rest.trim_end_matches("</word>").to_string())
                .unwrap_or_default();
            (text, attribute(line, "xMin"), attribute(line, "yMax"))
        })
        .collect()
}

/// A page rendered by pdftoppm in grey at `dpi`: (width, height, pixels).
fn grey_page(pdf: &Path, page: usize, dpi: u32) -> (usize, usize, Vec<u8>) {
    let n = page.to_string();
    let output = Command::new("pdftoppm")
        .args(["-gray", "-r", &dpi.to_string(), "-f", &n, "-l", &n])
        .arg(pdf)
        .output()
        .expect("pdftoppm (poppler-utils)");
    let data = output.stdout;
    // P5 header: "P5\nW H\n255\n".
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..at]).to_string());
    }
    let (width, height): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (width, height, data[at + 1..].to_vec())
}

/// Our pages next to FOP's own PDF of the same FO: every word where FOP put it, within 3 pt
/// (FOP writes the blank's width, SVI, in whole 1/240 in units: a 9 pt Helvetica blank of
/// 2.50 pt becomes 8 units, 2.40 pt, so a long line of the AFP itself ends up to 2.7 pt short
/// of FOP's PDF; measured: 2.70 pt at worst over 2,621 words), and the rendered pages (text, rules, the logo) alike pixel for pixel but for
/// anti-aliasing and the logo's colour (the AFP has it in black and white).
#[test]
fn pages_look_like_fops_own_pdf_of_the_same_fo() {
    for name in ["invoices", "landscape"] {
        let rendered = render(
            &fop_runs().join(format!("{name}.afp")),
            &AfpOptions::default(),
        )
        .unwrap();
        let fop_pdf = fop_runs().join(format!("{name}.fop.pdf"));
        let mut worst = 0.0f32;
        let mut compared = 0;
        for (part, pdf) in &rendered.parts {
            for offset in 0..=(part.page_last - part.page_first) {
                let page = part.page_first + offset;
                let theirs = words(&fop_pdf, page);
                let ours = words(pdf, offset + 1);
                assert_eq!(theirs.len(), ours.len(), "{name} page {page}: words");
                for (text, x, y) in &theirs {
                    let nearest = ours
                        .iter()
                        .filter(|(other, _, _)| other == text)
                        .map(|(_, ox, oy)| (ox - x).abs().max((oy - y).abs()))
                        .fold(f32::INFINITY, f32::min);
                    assert!(
                        nearest <= 3.0,
                        "{name} page {page}: {text:?} at ({x}, {y}) is {nearest} pt away in ours"
                    );
                    worst = worst.max(nearest);
                    compared += 1;
                }
                let (w, h, fop_pixels) = grey_page(&fop_pdf, page, 50);
                let (ow, oh, our_pixels) = grey_page(pdf, offset + 1, 50);
                assert_eq!((w, h), (ow, oh), "{name} page {page}: size");
                let differing = fop_pixels
                    .iter()
                    .zip(&our_pixels)
                    .filter(|(a, b)| a.abs_diff(**b) > 128)
                    .count();
                let share = differing as f64 / (w * h) as f64;
                assert!(
                    share < 0.002,
                    "{name} page {page}: {differing} of {} pixels differ",
                    w * h
                );
            }
        }
        println!("{name}: {compared} words, farthest {worst:.2} pt from FOP's");
    }
}

/// An overlay kept as a PDF (here FOP's own PDF of the overlay page) is drawn beneath each
/// page as a form, its text extractable where the PDF has it, the output still a valid PDF.
#[test]
fn overlay_from_a_pdf_in_the_resource_folder_is_the_pages_background() {
    let folder = tempfile::tempdir().unwrap();
    let status = Command::new("fop")
        .current_dir(root().join("samples/afp/overlay"))
        .args(["-fo", "O1INVBG1.fo", "-pdf"])
        .arg(folder.path().join("O1INVBG1.pdf"))
        .status()
        .expect("fop (tests/install-afp.sh installs it)");
    assert!(status.success());
    let options = AfpOptions {
        resource_dir: Some(folder.path().to_path_buf()),
        ..AfpOptions::default()
    };
    let rendered = render(&fop_runs().join("invoices.afp"), &options).unwrap();
    for (part, pdf) in &rendered.parts {
        qpdf_check(pdf);
        assert!(part.metadata.iter().all(|(key, _)| key != "afp.warning"));
        let lines = page_lines(pdf, 1);
        assert_eq!(
            lines.first().map(String::as_str),
            Some("FORMULAIRE O1INVBG1 - EXEMPLAIRE CLIENT"),
            "part {}",
            part.index
        );
        let first = words(pdf, 1)
            .into_iter()
            .find(|(text, _, _)| text == "FORMULAIRE")
            .unwrap();
        assert!((first.1 - 42.52).abs() < 0.5, "{first:?}");
    }
}

/// `bytes` without the page-group and TLE fields: an AFP run as an application without
/// page groups writes it.
fn without_page_groups(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at + 3 <= bytes.len() {
        let length = usize::from(u16::from_be_bytes([bytes[at + 1], bytes[at + 2]]));
        let field = &bytes[at..at + 1 + length];
        let id = &field[3..6];
        let group_or_tle =
            id == [0xD3, 0xA8, 0xAD] || id == [0xD3, 0xA9, 0xAD] || id == [0xD3, 0xA0, 0x90];
        if !group_or_tle {
            out.extend_from_slice(field);
        }
        at += 1 + length;
    }
    out
}

/// Without page groups, the run is cut by the burst rules on the rendered text, like a spool.
#[test]
fn a_run_without_page_groups_is_cut_by_the_burst_rule_on_its_text() {
    let original = std::fs::read(fop_runs().join("invoices.afp")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let flat = work.path().join("flat.afp");
    std::fs::write(&flat, without_page_groups(&original)).unwrap();
    let rules = rules::RuleSet::from_toml(
        "[[burst]]\nname = \"invoice-run\"\nwhen.format = [\"afp\"]\n\
         change = { regex = 'N° facture\\s*:\\s*(?P<value>FA-\\d{4}-\\d{6})' }\n",
    )
    .unwrap();
    let metadata = std::collections::BTreeMap::new();
    let burst = rules
        .burst_for("cli", "afp", &metadata)
        .expect("the burst rule applies");
    let dir = work.path().join("parts");
    std::fs::create_dir(&dir).unwrap();
    let mut ranges = Vec::new();
    let reader = BufReader::new(std::fs::File::open(&flat).unwrap());
    let converted = convert_afp(reader, &AfpOptions::default(), Some(burst), &dir, |part| {
        assert!(part
            .metadata
            .iter()
            .all(|(key, _)| !key.starts_with("afp.tle.")));
        ranges.push((part.page_first, part.page_last));
        Ok(())
    })
    .unwrap();
    assert_eq!(converted.afp.map(|summary| summary.groups), Some(0));
    let expect: Expect = serde_json::from_slice(
        &std::fs::read(root().join("samples/afp/fo/invoices.expect.json")).unwrap(),
    )
    .unwrap();
    let expected: Vec<(usize, usize)> = expect
        .documents
        .iter()
        .map(|document| (document.pages[0], *document.pages.last().unwrap()))
        .collect();
    assert_eq!(ranges, expected);
}

fn structured_field(id: [u8; 3], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x5A];
    bytes.extend_from_slice(&((data.len() + 8) as u16).to_be_bytes());
    bytes.extend_from_slice(&id);
    bytes.extend_from_slice(&[0, 0, 0]);
    bytes.extend_from_slice(data);
    bytes
}

/// A PDF held in an object container (BOC…OCD…EOC) is drawn in its object area: here one of
/// the sample invoices, shrunk to a quarter page at the area's offset.
#[test]
fn a_pdf_in_an_object_container_is_drawn_in_its_area() {
    let invoice = std::fs::read(root().join("samples/pdf/facture-FA-2024-000501.pdf")).unwrap();
    let name = |text: &str| -> Vec<u8> {
        // EBCDIC upper-case letters and digits (CCSID 500).
        text.bytes()
            .map(|b| match b {
                b'A'..=b'I' => 0xC1 + (b - b'A'),
                b'J'..=b'R' => 0xD1 + (b - b'J'),
                b'S'..=b'Z' => 0xE2 + (b - b'S'),
                b'0'..=b'9' => 0xF0 + (b - b'0'),
                _ => 0x40,
            })
            .collect()
    };
    let mut afp = Vec::new();
    afp.extend(structured_field([0xD3, 0xA8, 0xA8], &name("DOC00001")));
    afp.extend(structured_field([0xD3, 0xA8, 0xAF], &name("PAGE0001")));
    afp.extend(structured_field([0xD3, 0xA8, 0xC9], &name("AEG00001")));
    // PGD: 240 per inch, A4 (1984 x 2806).
    afp.extend(structured_field(
        [0xD3, 0xA6, 0xAF],
        &[
            0, 0, 0x09, 0x60, 0x09, 0x60, 0x00, 0x07, 0xC0, 0x00, 0x0A, 0xF6, 0, 0, 0,
        ],
    ));
    afp.extend(structured_field([0xD3, 0xA9, 0xC9], &name("AEG00001")));
    afp.extend(structured_field([0xD3, 0xA8, 0x92], &name("OBJ00001")));
    afp.extend(structured_field([0xD3, 0xA8, 0xC7], &name("OEG00001")));
    // OBD: measurement units 240/in, area 992 x 1403 units (half the page each way).
    afp.extend(structured_field(
        [0xD3, 0xA6, 0x6B],
        &[
            0x08, 0x4B, 0, 0, 0x09, 0x60, 0x09, 0x60, 0x09, 0x4C, 0x02, 0x00, 0x03, 0xE0, 0x00,
            0x05, 0x7B,
        ],
    ));
    // OBP: area at (240, 480) units = 1 in, 2 in from the top-left corner.
    afp.extend(structured_field(
        [0xD3, 0xAC, 0x6B],
        &[
            0x01, 0x17, 0x00, 0x00, 0xF0, 0x00, 0x01, 0xE0, 0, 0, 0x2D, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x2D, 0, 0,
        ],
    ));
    afp.extend(structured_field([0xD3, 0xA9, 0xC7], &name("OEG00001")));
    for chunk in invoice.chunks(8000) {
        afp.extend(structured_field([0xD3, 0xEE, 0x92], chunk));
    }
    afp.extend(structured_field([0xD3, 0xA9, 0x92], &name("OBJ00001")));
    afp.extend(structured_field([0xD3, 0xA9, 0xAF], &name("PAGE0001")));
    afp.extend(structured_field([0xD3, 0xA9, 0xA8], &name("DOC00001")));
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("container.afp");
    std::fs::write(&path, &afp).unwrap();
    let rendered = render(&path, &AfpOptions::default()).unwrap();
    let (part, pdf) = &rendered.parts[0];
    assert!(
        part.metadata.iter().all(|(key, _)| key != "afp.warning"),
        "{:?}",
        part.metadata
    );
    qpdf_check(pdf);
    let text = collapse(&pdftotext(pdf, &[]));
    assert!(text.contains("FA-2024-000501"), "{text}");
    let word = words(pdf, 1)
        .into_iter()
        .find(|(text, _, _)| text.contains("FA-2024-000501"))
        .unwrap();
    let theirs = words(&root().join("samples/pdf/facture-FA-2024-000501.pdf"), 1)
        .into_iter()
        .find(|(text, _, _)| text.contains("FA-2024-000501"))
        .unwrap();
    // Scaled by a half (A4 into half an A4), moved 72 pt right and 144 pt down.
    assert!(
        (word.1 - (72.0 + theirs.1 * 0.5)).abs() < 1.0,
        "{word:?} {theirs:?}"
    );
    assert!(
        (word.2 - (144.0 + theirs.2 * 0.5)).abs() < 1.0,
        "{word:?} {theirs:?}"
    );
}

/// Text in the four orientations (FOP writes STO for turned block containers) lands where
/// FOP's own PDF has it, and reads as words.
#[test]
fn turned_text_in_four_orientations_lands_where_fop_puts_it() {
    let rendered = render(&fop_runs().join("rotated.afp"), &AfpOptions::default()).unwrap();
    let (_, pdf) = &rendered.parts[0];
    let ours = words(pdf, 1);
    let theirs = words(&fop_runs().join("rotated.fop.pdf"), 1);
    let texts = |words: &[(String, f32, f32)]| {
        let mut texts: Vec<String> = words.iter().map(|(text, _, _)| text.clone()).collect();
        texts.sort();
        texts
    };
    assert_eq!(texts(&ours), texts(&theirs));
    for word in ["tourné", "l&apos;envers", "270", "BL-2024-0042"] {
        assert!(
            ours.iter().any(|(text, _, _)| text == word),
            "{word} in {ours:?}"
        );
    }
    for (text, x, y) in &theirs {
        let nearest = ours
            .iter()
            .filter(|(other, _, _)| other == text)
            .map(|(_, ox, oy)| (ox - x).abs().max((oy - y).abs()))
            .fold(f32::INFINITY, f32::min);
        assert!(
            nearest <= 3.0,
            "{text:?} at ({x}, {y}) is {nearest} pt away in ours"
        );
    }
}
