//! Untrusted SCS bytes → `pipelines::scs::interpret` → `pipelines::pdf::PdfWriter`, the convert
//! stage's SCS path (`Renderer::Scs`) without the files. Never panics, and the pages keep the
//! bounds the interpreter documents.
//!
//! Input: byte 0 picks the options (see `options_of`) and whether the stream is also read
//! through a tiny `BufReader` (controls cut by buffer boundaries must read as whole ones: same
//! pages, same summary); the rest is the SCS stream.
#![no_main]

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use pipelines::pdf::PdfWriter;
use pipelines::scs::{interpret, ScsOptions, MAX_COLUMNS, MAX_ROWS};
use pipelines::spool::{Page, PageFormat, BOLD, UNDERLINE};

/// bits 0-2 CCSIDs (side-car, source): none, 297, 1147, 500, an unknown 9999, 37, and edge
/// values; bit 3 keep_blank_pages; bits 4-5 the fallback format (values a side-car can give:
/// finite and > 0, counts 1..=1000).
fn options_of(byte: u8) -> ScsOptions {
    let (sidecar_ccsid, source_ccsid) = match byte & 7 {
        0 => (None, None),
        1 => (Some(297), None),
        2 => (None, Some(1147)),
        3 => (Some(500), Some(297)),
        4 => (Some(9999), None),
        5 => (None, Some(9999)),
        6 => (Some(37), Some(9999)),
        _ => (Some(0), Some(u16::MAX)),
    };
    let fallback = match (byte >> 4) & 3 {
        0 => PageFormat::default(),
        1 => PageFormat {
            cpi: Some(10.0),
            lpi: Some(6.0),
            rows: Some(66),
            columns: Some(132),
            ..PageFormat::default()
        },
        2 => PageFormat {
            cpi: Some(15.0),
            lpi: Some(8.0),
            landscape: Some(true),
            paper: Some((612.0, 792.0)),
            margin_left: Some(18.0),
            margin_top: Some(36.0),
            rows: Some(1),
            columns: Some(1),
        },
        _ => PageFormat {
            cpi: Some(0.001),
            lpi: Some(1e30),
            landscape: Some(false),
            rows: Some(1000),
            columns: Some(1000),
            ..PageFormat::default()
        },
    };
    ScsOptions {
        sidecar_ccsid,
        source_ccsid,
        fallback,
        keep_blank_pages: byte & 8 != 0,
    }
}

/// Checks what every delivered page must satisfy and folds it into `hash`.
fn check_page(page: &Page, expected_number: usize, hash: &mut DefaultHasher) {
    assert_eq!(page.number, expected_number, "pages are numbered 1, 2, …");
    assert!(
        page.lines.len() <= MAX_ROWS,
        "page {} has {} rows, over MAX_ROWS {MAX_ROWS}",
        page.number,
        page.lines.len()
    );
    hash.write_usize(page.number);
    hash.write_usize(page.lines.len());
    for (row, line) in page.lines.iter().enumerate() {
        assert!(
            line.chars.len() <= MAX_COLUMNS,
            "page {} row {} has {} columns, over MAX_COLUMNS {MAX_COLUMNS}",
            page.number,
            row + 1,
            line.chars.len()
        );
        assert_eq!(
            line.flags.len(),
            line.chars.len(),
            "page {} row {}: flags and chars differ in length",
            page.number,
            row + 1
        );
        assert!(
            line.flags
                .iter()
                .all(|&flags| flags & !(BOLD | UNDERLINE) == 0),
            "page {} row {}: a flag other than BOLD/UNDERLINE was delivered",
            page.number,
            row + 1
        );
        hash.write_usize(line.chars.len());
        for &ch in &line.chars {
            hash.write_u32(ch as u32);
        }
        hash.write(&line.flags);
    }
    let format = &page.format;
    for value in [
        format.cpi,
        format.lpi,
        format.margin_left,
        format.margin_top,
    ] {
        hash.write_u64(value.map_or(u64::MAX, |v| u64::from(v.to_bits())));
    }
    let (w, h) = format.paper.unwrap_or((f32::NAN, f32::NAN));
    hash.write_u32(w.to_bits());
    hash.write_u32(h.to_bits());
    hash.write_u8(format.landscape.map_or(2, u8::from));
    hash.write_usize(format.rows.unwrap_or(usize::MAX));
    hash.write_usize(format.columns.unwrap_or(usize::MAX));
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, scs)) = data.split_first() else {
        return;
    };
    let options = options_of(first);

    let mut writer = PdfWriter::new(Vec::new(), 66, 132).expect("PdfWriter::new into a Vec");
    let mut delivered = 0;
    let mut whole_hash = DefaultHasher::new();
    let result = interpret(scs, &options, |page| {
        delivered += 1;
        check_page(page, delivered, &mut whole_hash);
        writer.add_page(page)
    });
    // Writing into a Vec cannot fail, and bad input is never an error (it ends in warnings).
    let summary = result.expect("interpret over a slice into a Vec");
    assert_eq!(
        summary.pages, delivered,
        "summary page count vs pages delivered"
    );
    assert_eq!(
        summary.pages,
        writer.pages(),
        "summary page count vs pages written"
    );
    assert_eq!(summary.bytes, scs.len() as u64, "every byte is read");
    assert!(summary.warnings.len() <= pipelines::scs::MAX_WARNING_KINDS + 1);
    let pdf = writer.finish().expect("finish into a Vec");
    assert!(pdf.starts_with(b"%PDF-1.4\n"));

    // Bit 7: the same stream through a BufReader of 1 or 3 bytes (bit 6) must give the same
    // pages and summary: controls and escapes cut by a buffer boundary are read whole.
    if first & 0x80 != 0 {
        let capacity = if first & 0x40 != 0 { 3 } else { 1 };
        let mut pieces = 0;
        let mut pieces_hash = DefaultHasher::new();
        let pieced = interpret(BufReader::with_capacity(capacity, scs), &options, |page| {
            pieces += 1;
            check_page(page, pieces, &mut pieces_hash);
            Ok(())
        })
        .expect("interpret over a BufReader of a slice");
        assert_eq!(
            pieced, summary,
            "summary differs when read {capacity} byte(s) at a time"
        );
        assert_eq!(
            pieces_hash.finish(),
            whole_hash.finish(),
            "pages differ when read {capacity} byte(s) at a time"
        );
    }
});
