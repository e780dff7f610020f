//! Scanned images to PDF (issue 6), against independent oracles: poppler's pdfimages, pdfinfo,
//! pdftoppm and pdftotext, qpdf --check, and ImageMagick (libtiff, libjpeg, libpng) decoding
//! the original files. The samples are real tool output: samples/scans/make-scans.sh, and a
//! UNLV page from the tesseract test set. Needs poppler-utils, qpdf, imagemagick.

use std::path::{Path, PathBuf};
use std::process::Command;

use pipelines::image::{
    image_pages, images_to_pdf, page_as_pnm, ImageError, ImageKind, ImageLimits, PlacedWord,
};

fn scans() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/scans")
}

fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    found.unwrap_or_else(|| {
        panic!("`{name}` is missing: install poppler-utils, qpdf and imagemagick")
    })
}

fn run(program: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(tool(program))
        .args(args)
        .output()
        .expect("tool runs");
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// One row of `pdfimages -list`.
#[derive(Debug)]
struct Listed {
    page: usize,
    kind: String,
    width: u32,
    height: u32,
    encoding: String,
    ppi_x: f32,
    ppi_y: f32,
}

fn pdfimages_list(pdf: &Path) -> Vec<Listed> {
    let out = String::from_utf8(run("pdfimages", &["-list", pdf.to_str().unwrap()])).unwrap();
    out.lines()
        .skip(2)
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Listed {
                page: f[0].parse().unwrap(),
                kind: f[2].to_owned(),
                width: f[3].parse().unwrap(),
                height: f[4].parse().unwrap(),
                encoding: f[8].to_owned(),
                ppi_x: f[12].parse().unwrap(),
                ppi_y: f[13].parse().unwrap(),
            }
        })
        .collect()
}

/// Page sizes in points from pdfinfo.
fn page_sizes(pdf: &Path) -> Vec<(f32, f32)> {
    let out = String::from_utf8(run(
        "pdfinfo",
        &["-f", "1", "-l", "9999", pdf.to_str().unwrap()],
    ))
    .unwrap();
    out.lines()
        .filter(|line| line.starts_with("Page") && line.contains("size:"))
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f[3].parse().unwrap(), f[5].parse().unwrap())
        })
        .collect()
}

/// A PGM (P5, maxval 255) as (width, height, pixels).
fn parse_pgm(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if bytes[at] == b'#' {
            while bytes[at] != b'\n' {
                at += 1;
            }
            continue;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(bytes[start..at].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    assert_eq!(fields[3], "255");
    (
        fields[1].parse().unwrap(),
        fields[2].parse().unwrap(),
        bytes[at + 1..].to_vec(),
    )
}

/// ImageMagick's decoding of one frame of an image file, as 8-bit grey.
fn magick_gray(file: &Path, frame: usize) -> (u32, u32, Vec<u8>) {
    let convert = ["convert-im6.q16", "convert"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("-version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("imagemagick");
    let input = format!("{}[{frame}]", file.display());
    let output = Command::new(convert)
        .args([&input, "-colorspace", "gray", "-depth", "8", "pgm:-"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_pgm(&output.stdout)
}

/// pdftoppm's rendering of one page (1-based) at a resolution, as 8-bit grey.
fn rendered_gray(pdf: &Path, page: usize, dpi: f32) -> (u32, u32, Vec<u8>) {
    let page = page.to_string();
    let dpi = dpi.to_string();
    let out = run(
        "pdftoppm",
        &[
            "-f",
            &page,
            "-l",
            &page,
            "-r",
            &dpi,
            "-gray",
            pdf.to_str().unwrap(),
        ],
    );
    parse_pgm(&out)
}

struct Converted {
    _dir: tempfile::TempDir,
    pdf: PathBuf,
}

fn convert(name: &str, kind: ImageKind, words: Option<&[Vec<PlacedWord>]>) -> Converted {
    let bytes = std::fs::read(scans().join(name)).unwrap();
    let pages = image_pages(&bytes, kind, &ImageLimits::default()).unwrap();
    let pdf_bytes = images_to_pdf(&pages, words).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("out.pdf");
    std::fs::write(&pdf, &pdf_bytes).unwrap();
    if let Some(keep) = std::env::var_os("IMAGES_TEST_KEEP") {
        std::fs::write(Path::new(&keep).join(format!("{name}.pdf")), &pdf_bytes).unwrap();
    }
    let check = Command::new(tool("qpdf"))
        .args(["--check", pdf.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "qpdf --check {name}: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    Converted { _dir: dir, pdf }
}

/// pdfimages sees `pages` images of the expected encoding, size and resolution, and each
/// page is pixels ÷ dpi × 72 points.
fn check_listing(
    name: &str,
    kind: ImageKind,
    encoding: &str,
    pages: usize,
    size: (u32, u32),
    dpi: f32,
) -> Converted {
    let converted = convert(name, kind, None);
    let listed = pdfimages_list(&converted.pdf);
    let images: Vec<&Listed> = listed.iter().filter(|row| row.kind == "image").collect();
    assert_eq!(images.len(), pages, "{name}: {listed:?}");
    for (index, row) in images.iter().enumerate() {
        assert_eq!(row.page, index + 1, "{name}");
        assert_eq!(row.encoding, encoding, "{name}: {row:?}");
        assert_eq!((row.width, row.height), size, "{name}");
        assert!(
            (row.ppi_x - dpi).abs() < 1.0 && (row.ppi_y - dpi).abs() < 1.0,
            "{name}: {row:?}"
        );
    }
    let expected = (size.0 as f32 / dpi * 72.0, size.1 as f32 / dpi * 72.0);
    let sizes = page_sizes(&converted.pdf);
    assert_eq!(sizes.len(), pages, "{name}");
    for (w, h) in sizes {
        assert!(
            (w - expected.0).abs() <= 1.0 && (h - expected.1).abs() <= 1.0,
            "{name}: {w}x{h} pt, expected {expected:?}"
        );
    }
    converted
}

/// Poppler's decoding of each embedded image (`pdfimages -png`) equals ImageMagick's decoding
/// of the original file, pixel for pixel.
fn check_pixels(name: &str, converted: &Converted, pages: usize) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("x");
    run(
        "pdfimages",
        &[
            "-png",
            converted.pdf.to_str().unwrap(),
            root.to_str().unwrap(),
        ],
    );
    for page in 0..pages {
        let extracted = dir.path().join(format!("x-{page:03}.png"));
        assert_eq!(
            magick_gray(&extracted, 0),
            magick_gray(&scans().join(name), page),
            "{name} page {page}"
        );
    }
}

/// pdftoppm renders our pages exactly as it renders tiff2pdf's (libtiff) PDF of the same file.
/// (Not as the bitmap itself: Splash smooths bi-level images even at their own resolution.)
fn check_rendering_like_tiff2pdf(name: &str, converted: &Converted, pages: usize, dpi: f32) {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("tiff2pdf.pdf");
    run(
        "tiff2pdf",
        &[
            "-o",
            theirs.to_str().unwrap(),
            scans().join(name).to_str().unwrap(),
        ],
    );
    for page in 1..=pages {
        assert_eq!(
            rendered_gray(&converted.pdf, page, dpi),
            rendered_gray(&theirs, page, dpi),
            "{name} page {page}"
        );
    }
}

#[test]
fn multi_page_g4_tiff_is_embedded_as_it_is() {
    let converted = check_listing(
        "invoices-g4.tif",
        ImageKind::Tiff,
        "ccitt",
        3,
        (2481, 3508),
        300.0,
    );
    check_pixels("invoices-g4.tif", &converted, 3);
    check_rendering_like_tiff2pdf("invoices-g4.tif", &converted, 3, 300.0);
    // The strips of the file, byte for byte.
    let bytes = std::fs::read(scans().join("invoices-g4.tif")).unwrap();
    let pages = image_pages(&bytes, ImageKind::Tiff, &ImageLimits::default()).unwrap();
    assert!(pages.iter().all(|page| page.encoding_name() == "ccitt-g4"));
    assert!(pages
        .iter()
        .all(|page| memchr::memmem::find(&bytes, &page.data).is_some()));
}

#[test]
fn g4_tiff_in_strips_is_re_encoded_as_one_g4_stream() {
    let converted = check_listing(
        "invoices-g4-strips.tif",
        ImageKind::Tiff,
        "ccitt",
        3,
        (2481, 3508),
        300.0,
    );
    check_pixels("invoices-g4-strips.tif", &converted, 3);
    check_rendering_like_tiff2pdf("invoices-g4-strips.tif", &converted, 3, 300.0);
}

#[test]
fn real_g4_scan_min_is_white() {
    let converted = check_listing(
        "8071_093.3B.tif",
        ImageKind::Tiff,
        "ccitt",
        1,
        (3312, 2550),
        300.0,
    );
    check_pixels("8071_093.3B.tif", &converted, 1);
    check_rendering_like_tiff2pdf("8071_093.3B.tif", &converted, 1, 300.0);
}

#[test]
fn g4_tiff_with_fill_order_2_is_bit_reversed() {
    let converted = check_listing(
        "facture-g4-lsb.tif",
        ImageKind::Tiff,
        "ccitt",
        1,
        (2481, 3508),
        300.0,
    );
    check_pixels("facture-g4-lsb.tif", &converted, 1);
    check_rendering_like_tiff2pdf("facture-g4-lsb.tif", &converted, 1, 300.0);
}

#[test]
fn g3_2d_tiff_is_embedded_as_it_is() {
    let converted = check_listing(
        "facture-g3.tif",
        ImageKind::Tiff,
        "ccitt",
        1,
        (2481, 3508),
        300.0,
    );
    check_pixels("facture-g3.tif", &converted, 1);
    check_rendering_like_tiff2pdf("facture-g3.tif", &converted, 1, 300.0);
}

#[test]
fn g3_tiff_in_strips_is_re_encoded() {
    let converted = check_listing(
        "facture-g3-strips.tif",
        ImageKind::Tiff,
        "ccitt",
        1,
        (1654, 2339),
        200.0,
    );
    check_pixels("facture-g3-strips.tif", &converted, 1);
    check_rendering_like_tiff2pdf("facture-g3-strips.tif", &converted, 1, 200.0);
}

#[test]
fn lzw_tiff_is_decoded_and_deflated() {
    let converted = check_listing(
        "facture-lzw.tif",
        ImageKind::Tiff,
        "image",
        1,
        (1241, 877),
        150.0,
    );
    check_pixels("facture-lzw.tif", &converted, 1);
}

#[test]
fn png_idat_goes_in_with_the_predictor() {
    let converted = check_listing(
        "facture.png",
        ImageKind::Png,
        "image",
        1,
        (1240, 585),
        150.0,
    );
    check_pixels("facture.png", &converted, 1);
}

#[test]
fn jpeg_bytes_are_embedded_unchanged() {
    for (name, size, dpi) in [
        ("facture.jpg", (1241, 877), 150.0),
        ("facture-rgb.jpg", (827, 585), 100.0),
    ] {
        let converted = check_listing(name, ImageKind::Jpeg, "jpeg", 1, size, dpi);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("x");
        run(
            "pdfimages",
            &[
                "-j",
                converted.pdf.to_str().unwrap(),
                root.to_str().unwrap(),
            ],
        );
        let extracted = std::fs::read(dir.path().join("x-000.jpg")).unwrap();
        assert_eq!(
            extracted,
            std::fs::read(scans().join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn adobe_cmyk_jpeg_is_not_shown_inverted() {
    let converted = check_listing(
        "facture-cmyk.jpg",
        ImageKind::Jpeg,
        "jpeg",
        1,
        (414, 292),
        50.0,
    );
    let out = run(
        "pdftoppm",
        &[
            "-scale-to-x",
            "414",
            "-scale-to-y",
            "292",
            "-gray",
            converted.pdf.to_str().unwrap(),
        ],
    );
    let (w, h, rendered) = parse_pgm(&out);
    let (mw, mh, original) = magick_gray(&scans().join("facture-cmyk.jpg"), 0);
    assert_eq!((w, h), (mw, mh));
    // CMYK to grey differs between the two (no colour management here): the mean difference
    // stays small, an inverted image would be ~200 levels off.
    let total: u64 = rendered
        .iter()
        .zip(&original)
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    let mean = total / rendered.len() as u64;
    assert!(mean < 24, "mean difference {mean}");
}

#[test]
fn pnm_bitmaps_match_imagemagick() {
    for (name, kind, page) in [
        ("invoices-g4.tif", ImageKind::Tiff, 2),
        ("8071_093.3B.tif", ImageKind::Tiff, 0),
        ("facture-lzw.tif", ImageKind::Tiff, 0),
        ("facture.png", ImageKind::Png, 0),
    ] {
        let bytes = std::fs::read(scans().join(name)).unwrap();
        let pnm = page_as_pnm(&bytes, kind, page, &ImageLimits::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("page.pnm");
        std::fs::write(&file, pnm).unwrap();
        assert_eq!(
            magick_gray(&file, 0),
            magick_gray(&scans().join(name), page),
            "{name}"
        );
    }
    // JPEG: another decoder, so within a few levels.
    let bytes = std::fs::read(scans().join("facture.jpg")).unwrap();
    let pnm = page_as_pnm(&bytes, ImageKind::Jpeg, 0, &ImageLimits::default()).unwrap();
    let (w, h, ours) = parse_pgm(&pnm);
    let (mw, mh, theirs) = magick_gray(&scans().join("facture.jpg"), 0);
    assert_eq!((w, h), (mw, mh));
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 8, "jpeg differs by {worst}");
}

#[test]
fn text_layer_words_are_where_they_were_placed() {
    // Pixel boxes on the 300 dpi G4 page (2481x3508), in reading order.
    let words = [
        ("Facture", 300.0, 400.0, 420.0, 60.0),
        ("n°", 760.0, 400.0, 110.0, 60.0),
        ("FA-2024-000501", 900.0, 400.0, 700.0, 60.0),
        ("Échéance", 300.0, 600.0, 500.0, 60.0),
        ("réglée", 840.0, 600.0, 330.0, 60.0),
        ("à", 1200.0, 600.0, 50.0, 60.0),
        ("Besançon", 1280.0, 600.0, 480.0, 60.0),
        ("«cœur»", 300.0, 800.0, 380.0, 60.0),
        ("15,00€", 720.0, 800.0, 360.0, 60.0),
    ];
    let placed: Vec<PlacedWord> = words
        .iter()
        .map(|&(text, left, top, width, height)| PlacedWord {
            text: text.to_owned(),
            left,
            top,
            width,
            height,
        })
        .collect();
    let mut per_page = vec![placed; 1];
    per_page.extend([Vec::new(), Vec::new()]);
    let converted = convert("invoices-g4.tif", ImageKind::Tiff, Some(&per_page));
    let pdf = converted.pdf.to_str().unwrap();
    let text = String::from_utf8(run("pdftotext", &["-f", "1", "-l", "1", pdf, "-"])).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(
        lines,
        [
            "Facture n° FA-2024-000501",
            "Échéance réglée à Besançon",
            "«cœur» 15,00€"
        ],
        "{text}"
    );
    let html =
        String::from_utf8(run("pdftotext", &["-bbox", "-f", "1", "-l", "1", pdf, "-"])).unwrap();
    let scale = 72.0 / 300.0;
    for (text, left, top, width, height) in words {
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let line = html
            .lines()
            .find(|line| line.contains(&format!(">{escaped}</word>")))
            .unwrap_or_else(|| panic!("{text} not in {html}"));
        let attr = |name: &str| -> f32 {
            let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            line[start..].split('"').next().unwrap().parse().unwrap()
        };
        let expected = [
            left * scale,
            top * scale,
            (left + width) * scale,
            (top + height) * scale,
        ];
        let found = [attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")];
        for (e, f) in expected.iter().zip(found) {
            assert!(
                (e - f).abs() <= 2.0,
                "{text}: found {found:?}, placed {expected:?}"
            );
        }
    }
}

/// A little-endian TIFF of one 1-bit uncompressed page, `width`×`height` claimed, whose IFD
/// points back to itself when `looped`.
fn handmade_tiff(width: u32, height: u32, looped: bool) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    let entries: [(u16, u16, u32, u32); 8] = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 1),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 200),
        (278, 4, 1, height),
        (279, 4, 1, 16),
    ];
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&(if looped { 8u32 } else { 0 }).to_le_bytes());
    out.resize(232, 0);
    out
}

#[test]
fn hostile_inputs_are_clear_errors() {
    let limits = ImageLimits::default();
    let huge = image_pages(
        &handmade_tiff(100_000, 100_000, false),
        ImageKind::Tiff,
        &limits,
    )
    .unwrap_err();
    assert!(matches!(huge, ImageError::TooManyPixels { .. }), "{huge}");
    let looped = image_pages(&handmade_tiff(8, 8, true), ImageKind::Tiff, &limits).unwrap_err();
    println!("loop: {looped}");
    assert!(image_pages(&handmade_tiff(8, 8, false), ImageKind::Tiff, &limits).is_ok());

    for (name, kind) in [
        ("invoices-g4.tif", ImageKind::Tiff),
        ("facture-lzw.tif", ImageKind::Tiff),
        ("facture.jpg", ImageKind::Jpeg),
        ("facture.png", ImageKind::Png),
    ] {
        let bytes = std::fs::read(scans().join(name)).unwrap();
        for cut in [bytes.len() / 2, bytes.len() - 3] {
            let error = image_pages(&bytes[..cut], kind, &limits).unwrap_err();
            println!("{name} cut at {cut}: {error}");
            let message = error.to_string();
            assert!(
                message == message.to_lowercase()
                    || message.contains("IDAT")
                    || message.contains("IEND"),
                "{message}"
            );
        }
    }
    // Found by fuzzing: a G4 page 65535 pixels wide in strips overflowed the fax encoder.
    let wide = std::fs::read(scans().join("hostile/g4-65535-wide-strips.tif")).unwrap();
    let error = image_pages(&wide, ImageKind::Tiff, &limits).unwrap_err();
    assert!(matches!(error, ImageError::Unsupported { .. }), "{error}");

    let bytes = std::fs::read(scans().join("invoices-g4.tif")).unwrap();
    let few = ImageLimits {
        max_pages: 2,
        ..ImageLimits::default()
    };
    assert!(matches!(
        image_pages(&bytes, ImageKind::Tiff, &few),
        Err(ImageError::TooManyPages { limit: 2 })
    ));
    assert!(matches!(
        page_as_pnm(&bytes, ImageKind::Tiff, 3, &limits),
        Err(ImageError::NoSuchPage { .. })
    ));
}
