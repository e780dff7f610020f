//! Separator sheets (issue 6) on pages made by real producers: qrencode (QR codes), zint
//! (Code 128), pdftoppm (a text page) and ImageMagick (page composition, noise, rotation,
//! and the PNM the tests feed in: `convert x.png pgm:-` / `pbm:-`). The pages are committed
//! in samples/separators/ (make-separators.sh). Needs imagemagick.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pipelines::image::{page_as_pnm, ImageKind, ImageLimits};
use pipelines::separator::{
    barcodes, ink_ratio, page_separator, parse_pnm, GrayImage, Separator, SeparatorConfig,
    SeparatorError,
};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/separators")
        .join(name)
}

/// `convert <sample> <args…> <format>:-`: the PNM as ImageMagick writes it.
fn convert(name: &str, args: &[&str], format: &str) -> Vec<u8> {
    let output = Command::new("convert")
        .arg(sample(name))
        .args(args)
        .arg(format!("{format}:-"))
        .output()
        .expect("ImageMagick's convert runs (install imagemagick)");
    assert!(
        output.status.success(),
        "convert {name} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn page(name: &str, args: &[&str]) -> GrayImage {
    let pnm = convert(name, args, "pgm");
    assert_eq!(&pnm[..2], b"P5");
    parse_pnm(&pnm).expect("ImageMagick's PGM parses")
}

fn client_config() -> SeparatorConfig {
    SeparatorConfig {
        key_prefixes: vec![("CLIENT:".to_owned(), "client_number".to_owned())],
        ..SeparatorConfig::default()
    }
}

fn sep(value: &str) -> Option<Separator> {
    Some(Separator::Barcode {
        value: value.to_owned(),
        key: None,
    })
}

#[test]
fn qr_separator_is_recognised() {
    let page = page("sep-qr.png", &[]);
    assert_eq!((page.width, page.height), (1240, 1754));
    assert_eq!(barcodes(&page), vec!["GREFFIER-SEP".to_owned()]);
    assert_eq!(
        page_separator(&page, &SeparatorConfig::default()),
        sep("GREFFIER-SEP")
    );
    assert_eq!(page_separator(&page, &client_config()), sep("GREFFIER-SEP"));
}

#[test]
fn qr_with_a_key_prefix_carries_the_key() {
    let page = page("sep-qr-client.png", &[]);
    assert_eq!(barcodes(&page), vec!["CLIENT:CL004712".to_owned()]);
    assert_eq!(
        page_separator(&page, &client_config()),
        Some(Separator::Barcode {
            value: "CLIENT:CL004712".to_owned(),
            key: Some(("client_number".to_owned(), "CL004712".to_owned())),
        })
    );
    // Without the prefix configured it is just a barcode, not a separator.
    assert_eq!(page_separator(&page, &SeparatorConfig::default()), None);
}

#[test]
fn code128_separator_is_recognised() {
    let page = page("sep-code128.png", &[]);
    assert_eq!(barcodes(&page), vec!["GREFFIER-SEP".to_owned()]);
    assert_eq!(
        page_separator(&page, &SeparatorConfig::default()),
        sep("GREFFIER-SEP")
    );
}

#[test]
fn configured_values_are_exact() {
    let page = page("sep-qr.png", &[]);
    let other = SeparatorConfig {
        barcode_values: vec!["GREFFIER".to_owned(), "greffier-sep".to_owned()],
        ..SeparatorConfig::default()
    };
    assert_eq!(page_separator(&page, &other), None);
    // An empty value after the prefix carries nothing and is no separator.
    let prefix_only = SeparatorConfig {
        barcode_values: Vec::new(),
        key_prefixes: vec![("GREFFIER-SEP".to_owned(), "k".to_owned())],
        ..SeparatorConfig::default()
    };
    assert_eq!(page_separator(&page, &prefix_only), None);
}

#[test]
fn rotated_separators_are_found() {
    for degrees in ["90", "180", "270"] {
        let qr = page("sep-qr.png", &["-rotate", degrees]);
        assert_eq!(
            page_separator(&qr, &SeparatorConfig::default()),
            sep("GREFFIER-SEP"),
            "QR turned {degrees}°"
        );
        let client = page("sep-qr-client.png", &["-rotate", degrees]);
        assert_eq!(
            barcodes(&client),
            vec!["CLIENT:CL004712".to_owned()],
            "QR turned {degrees}°"
        );
    }
    for degrees in ["90", "180"] {
        let code128 = page("sep-code128.png", &["-rotate", degrees]);
        assert_eq!(
            page_separator(&code128, &SeparatorConfig::default()),
            sep("GREFFIER-SEP"),
            "Code 128 turned {degrees}°"
        );
    }
}

#[test]
fn bilevel_p4_pages_are_read() {
    let pnm = convert("sep-qr-client.png", &["-threshold", "50%"], "pbm");
    assert_eq!(&pnm[..2], b"P4");
    let page = parse_pnm(&pnm).expect("ImageMagick's PBM parses");
    assert_eq!((page.width, page.height), (1240, 1754));
    assert!(page.pixels.iter().all(|&luma| luma == 0 || luma == 255));
    assert_eq!(barcodes(&page), vec!["CLIENT:CL004712".to_owned()]);
}

#[test]
fn the_scan_pipeline_bitmap_is_read() {
    // What the scan pipeline hands over: page_as_pnm of the PNG as a copier would drop it.
    let png = std::fs::read(sample("sep-code128.png")).expect("sample");
    let pnm = page_as_pnm(&png, ImageKind::Png, 0, &ImageLimits::default()).expect("page_as_pnm");
    let page = parse_pnm(&pnm).expect("page_as_pnm output parses");
    assert_eq!(
        page_separator(&page, &SeparatorConfig::default()),
        sep("GREFFIER-SEP")
    );
}

#[test]
fn text_and_photo_pages_are_not_separators() {
    let blank_on = SeparatorConfig {
        blank_pages: true,
        ..client_config()
    };
    for name in ["text.png", "photo.png"] {
        let page = page(name, &[]);
        assert_eq!(barcodes(&page), Vec::<String>::new(), "{name}");
        assert_eq!(page_separator(&page, &blank_on), None, "{name}");
        assert!(ink_ratio(&page) > 0.01, "{name}: ink {}", ink_ratio(&page));
    }
}

#[test]
fn blank_pages_only_when_enabled_and_specks_and_edges_ignored() {
    let page = page("blank-noisy.png", &[]);
    let ink = ink_ratio(&page);
    println!("blank-noisy.png ink ratio {ink:.5}");
    assert!(ink > 0.0 && ink < 0.002, "specks count, a little: {ink}");
    assert_eq!(page_separator(&page, &SeparatorConfig::default()), None);
    let on = SeparatorConfig {
        blank_pages: true,
        ..SeparatorConfig::default()
    };
    assert_eq!(
        page_separator(&page, &on),
        Some(Separator::Blank { ink_ratio: ink })
    );
    // The dark strip along the left edge alone is 2 % of the page: it is in the margin.
    let stripped = page_with(|x, _| if x < 23 { 20 } else { 255 });
    assert_eq!(ink_ratio(&stripped), 0.0);
    // A stricter threshold than the specks makes it a page again.
    let strict = SeparatorConfig {
        blank_ink_ratio: ink / 2.0,
        ..on
    };
    assert_eq!(page_separator(&page, &strict), None);
    // A separator sheet is not blank, and its barcode wins.
    let qr = self::page("sep-qr.png", &[]);
    assert_eq!(
        page_separator(
            &qr,
            &SeparatorConfig {
                blank_pages: true,
                ..SeparatorConfig::default()
            }
        ),
        sep("GREFFIER-SEP")
    );
}

fn page_with(luma: impl Fn(u32, u32) -> u8) -> GrayImage {
    let (width, height) = (1240, 1754);
    let pixels = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| luma(x, y))
        .collect();
    GrayImage::new(width, height, pixels).expect("sizes match")
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let cases: &[(&[u8], SeparatorError)] = &[
        (b"", SeparatorError::NotPnm),
        (b"P6\n1 1\n255\n\0\0\0", SeparatorError::NotPnm),
        (b"P5", SeparatorError::Header("ends before its numbers")),
        (
            b"P5\n-3 4\n255\n",
            SeparatorError::Header("a number is expected"),
        ),
        (
            b"P5\n99999999999 4\n255\n",
            SeparatorError::Header("a number is out of range"),
        ),
        (b"P5\n2 2\n65535\n", SeparatorError::MaxVal(65535)),
        (b"P5\n2 2\n0\n", SeparatorError::MaxVal(0)),
        (
            b"P5\n0 2\n255\n",
            SeparatorError::Size {
                width: 0,
                height: 2,
                limit: pipelines::separator::MAX_PIXELS,
            },
        ),
        (
            b"P5\n100000 100000\n255\n",
            SeparatorError::Size {
                width: 100000,
                height: 100000,
                limit: pipelines::separator::MAX_PIXELS,
            },
        ),
        (
            b"P5\n4 4\n255\nabc",
            SeparatorError::Truncated {
                expected: 16,
                got: 3,
            },
        ),
        (
            b"P4\n9 2\n\xff",
            SeparatorError::Truncated {
                expected: 4,
                got: 1,
            },
        ),
        (
            b"P5\n2 2\n255",
            SeparatorError::Header("no whitespace after the header"),
        ),
    ];
    for (bytes, error) in cases {
        assert_eq!(
            parse_pnm(bytes).as_ref(),
            Err(error),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    // Truncated real files.
    let pnm = convert("sep-qr.png", &[], "pgm");
    for cut in [1, 10, 15, pnm.len() / 2, pnm.len() - 1] {
        assert!(parse_pnm(&pnm[..cut]).is_err(), "cut at {cut}");
    }
    // Tiny and odd pages have no barcode, and no panic.
    for (w, h) in [(1, 1), (1, 3000), (3000, 1), (7, 5), (1801, 3)] {
        let page = GrayImage::new(w, h, vec![0; (w * h) as usize]).expect("sizes match");
        assert_eq!(barcodes(&page), Vec::<String>::new(), "{w} x {h}");
        assert_eq!(
            page_separator(&page, &SeparatorConfig::default()),
            None,
            "{w} x {h}"
        );
    }
    // A bitmap built by hand whose pixels do not match its size is no page.
    let short = GrayImage {
        width: 3000,
        height: 3000,
        pixels: vec![255; 10],
    };
    let blank_on = SeparatorConfig {
        blank_pages: true,
        ..SeparatorConfig::default()
    };
    assert_eq!(page_separator(&short, &blank_on), None);
    assert_eq!(barcodes(&short), Vec::<String>::new());
    assert_eq!(GrayImage::new(3000, 3000, vec![255; 10]), None);
}

#[test]
fn comments_and_maxval_in_headers() {
    let page =
        parse_pnm(b"P5 # a comment\n# another\n2 1 # trailing\n15\n\x00\x0f").expect("parses");
    assert_eq!(
        page,
        GrayImage {
            width: 2,
            height: 1,
            pixels: vec![0, 255]
        }
    );
    let bits = parse_pnm(b"P4\n10 1\n\x80\x40").expect("parses");
    assert_eq!(
        bits.pixels,
        vec![0, 255, 255, 255, 255, 255, 255, 255, 255, 0]
    );
}

/// Detection time per page at 150 dpi (the samples) and 300 dpi (the samples scaled by
/// ImageMagick), printed; run with --nocapture in release to read real figures.
#[test]
fn detection_time_per_page() {
    let config = SeparatorConfig {
        blank_pages: true,
        ..client_config()
    };
    for (dpi, args) in [(150, &[][..]), (300, &["-resize", "200%"][..])] {
        for name in ["sep-qr.png", "sep-code128.png", "text.png", "photo.png"] {
            let page = page(name, args);
            let start = Instant::now();
            let found = page_separator(&page, &config);
            let took = start.elapsed();
            println!("{dpi} dpi {name}: {found:?} in {took:.2?}");
            if name.starts_with("sep-") {
                assert_eq!(found, sep("GREFFIER-SEP"), "{name} at {dpi} dpi");
            } else {
                assert_eq!(found, None, "{name} at {dpi} dpi");
            }
        }
    }
}
