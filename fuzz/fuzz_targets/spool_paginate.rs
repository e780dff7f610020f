//! Untrusted spool bytes → `pipelines::spool::paginate` → `pipelines::pdf::PdfWriter`, the
//! convert stage's path (`pipelines::convert_spool_file`) without the files. Never panics.
//!
//! Input: byte 0 picks the layout (see `layout_of`), the rest is the spool.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipelines::charset::Charset;
use pipelines::pdf::PdfWriter;
use pipelines::spool::{paginate, CarriageControl, SpoolLayout};

/// bits 0-1 charset (UTF-8, Windows-1252, EBCDIC 297, EBCDIC 37), bit 2 FCFC, bits 3-4 record
/// length (none, none, 132, 1..=8 from bits 5-7), bits 5-7 page size (rows × columns).
fn layout_of(byte: u8) -> SpoolLayout {
    let charset = match byte & 3 {
        0 => Charset::Utf8,
        1 => Charset::Windows1252,
        2 => Charset::Ebcdic(297),
        _ => Charset::Ebcdic(37),
    };
    let control = if byte & 4 != 0 {
        CarriageControl::Fcfc
    } else {
        CarriageControl::None
    };
    let high = usize::from(byte >> 5);
    let record_length = match (byte >> 3) & 3 {
        2 => Some(132),
        3 => Some(high + 1),
        _ => None,
    };
    let (lines_per_page, columns) = [
        (66, 132),
        (0, 0),
        (1, 1),
        (3, 80),
        (12, 198),
        (60, 378),
        (72, 132),
        (66, 80),
    ][high];
    SpoolLayout {
        charset,
        control,
        record_length,
        lines_per_page,
        columns,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, spool)) = data.split_first() else {
        return;
    };
    let layout = layout_of(first);
    let mut writer = PdfWriter::new(Vec::new(), layout.lines_per_page, layout.columns)
        .expect("PdfWriter::new into a Vec");
    let mut text = Vec::new();
    let result = paginate(spool, &layout, |page| {
        page.write_text(&mut text)?;
        writer.add_page(page)
    });
    // Errors (a record longer than MAX_LINE_BYTES) are fine; panics are not.
    if let Ok(pages) = result {
        assert_eq!(pages, writer.pages(), "page count vs pages written");
    }
    let pdf = writer.finish().expect("finish into a Vec");
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
});
