//! A streaming PDF writer for spool pages: Courier and Courier-Bold (PDF base-14 fonts,
//! WinAnsiEncoding), one compressed content stream per page, objects written as pages come.
//! Memory holds one page plus one offset per object (about 28 bytes a page for the xref
//! table and the page list): 3.6 MiB peak at 10,000 pages, 6 MiB at 100,000. (printpdf and
//! lopdf build the whole document in memory first.)

use std::io::{self, Write};

use flate2::{Compress, Compression, FlushCompress, Status};

use crate::charset::windows_1252_byte;
use crate::spool::{Page, PageFormat, BOLD, UNDERLINE};

const A4_SHORT: f32 = 595.28;
const A4_LONG: f32 = 841.89;
const MARGIN: f32 = 18.0;
/// Courier's advance is 600/1000 em.
const COURIER_ADVANCE: f32 = 0.6;
/// Columns that fit a portrait A4 page at 10 cpi.
const PORTRAIT_COLUMNS: usize = 80;

const CATALOG: u32 = 1;
const PAGES: u32 = 2;
const FONT_REGULAR: u32 = 3;
const FONT_BOLD: u32 = 4;
const INFO: u32 = 5;
const TO_UNICODE: u32 = 6;
const FIRST_FREE: u32 = 7;

/// Codes WinAnsiEncoding leaves undefined.
const UNDEFINED_WINANSI: [u8; 5] = [0x81, 0x8D, 0x8F, 0x90, 0x9D];
/// What a character outside WinAnsi (or an SCS SUB) is drawn with: a `?` glyph that text
/// extraction reads as U+FFFD, so the PDF says "unknown character" the way the spool did.
pub(crate) const REPLACEMENT_CODE: u8 = 0x81;

/// The ToUnicode map of both fonts: WinAnsi, plus [`REPLACEMENT_CODE`] → U+FFFD.
pub(crate) fn to_unicode_cmap() -> String {
    use std::fmt::Write as _;
    let mut entries = Vec::new();
    for code in 0x20u8..=0xFF {
        let unicode = if code == REPLACEMENT_CODE {
            '\u{FFFD}'
        } else if UNDEFINED_WINANSI.contains(&code) || code == 0x7F {
            continue;
        } else {
            crate::charset::windows_1252_char(code)
        };
        entries.push((code, unicode));
    }
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Greffier-WinAnsi-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<00> <FF>\nendcodespacerange\n",
    );
    for chunk in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (code, unicode) in chunk {
            let _ = writeln!(cmap, "<{code:02X}> <{:04X}>", u32::from(*unicode));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend");
    cmap
}

pub(crate) struct Counting<W> {
    pub(crate) inner: W,
    pub(crate) written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Page geometry: paper, margins, pitch and font size for a grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub width: f32,
    pub height: f32,
    /// From the left edge to column 1.
    pub margin_left: f32,
    /// From the top edge to the top of row 1.
    pub margin_top: f32,
    pub line_pitch: f32,
    pub font_size: f32,
}

impl Geometry {
    /// Without a declared pitch: portrait A4 when the page's text fits 80 columns, landscape
    /// otherwise; the grid (`rows` × at least `columns`) is scaled to fit inside the margins.
    pub fn for_page(text_width: usize, rows: usize, columns: usize) -> Geometry {
        let portrait = text_width <= PORTRAIT_COLUMNS;
        let (width, height, grid_columns) = if portrait {
            (A4_SHORT, A4_LONG, PORTRAIT_COLUMNS)
        } else {
            (A4_LONG, A4_SHORT, columns.max(text_width))
        };
        let rows = rows.max(1) as f32;
        let line_pitch = ((height - 2.0 * MARGIN) / rows).min(12.0);
        let fit_width = (width - 2.0 * MARGIN) / (grid_columns.max(1) as f32 * COURIER_ADVANCE);
        let font_size = fit_width.min(line_pitch).min(12.0);
        Geometry {
            width,
            height,
            margin_left: MARGIN,
            margin_top: MARGIN,
            line_pitch,
            font_size,
        }
    }

    /// The geometry a page asks for: Courier at the size its pitch implies (`120 / cpi`
    /// points, so one column is `72 / cpi` points), rows `72 / lpi` apart, on its paper
    /// (turned when landscape), or on the smallest of A4 portrait, A4 landscape or a page
    /// cut to the grid that holds it. Without a declared pitch, [`Geometry::for_page`].
    pub fn for_format(
        format: &PageFormat,
        text_width: usize,
        rows: usize,
        columns: usize,
    ) -> Geometry {
        let rows = format.rows.unwrap_or(rows).max(1);
        let Some(cpi) = format.cpi.filter(|cpi| cpi.is_finite() && *cpi >= 1.0) else {
            let mut geometry =
                Geometry::for_page(text_width, rows, format.columns.unwrap_or(columns));
            if let Some(pitch) = format
                .lpi
                .filter(|lpi| lpi.is_finite() && *lpi >= 1.0)
                .map(|lpi| 72.0 / lpi)
            {
                if pitch * rows as f32 <= geometry.height - 2.0 * MARGIN {
                    geometry.line_pitch = pitch;
                }
            }
            return geometry;
        };
        let lpi = format
            .lpi
            .filter(|lpi| lpi.is_finite() && *lpi >= 1.0)
            .unwrap_or(6.0);
        let char_width = 72.0 / cpi;
        let line_pitch = 72.0 / lpi;
        let columns = format.columns.unwrap_or(columns).max(text_width).max(1);
        let margin_left = format
            .margin_left
            .filter(|m| m.is_finite() && *m >= 0.0)
            .unwrap_or(MARGIN);
        let margin_top = format
            .margin_top
            .filter(|m| m.is_finite() && *m >= 0.0)
            .unwrap_or(MARGIN);
        let landscape = format.landscape.unwrap_or(false);
        let (width, height) = match format
            .paper
            .filter(|(w, h)| w.is_finite() && h.is_finite() && *w >= 72.0 && *h >= 72.0)
        {
            Some((w, h)) => {
                let (short, long) = if w <= h { (w, h) } else { (h, w) };
                if landscape || w > h {
                    (long, short)
                } else {
                    (short, long)
                }
            }
            None => {
                let need_width = 2.0 * margin_left + text_width.max(1) as f32 * char_width;
                let need_height = margin_top + MARGIN + rows as f32 * line_pitch;
                if !landscape && need_width <= A4_SHORT + 0.5 && need_height <= A4_LONG + 0.5 {
                    (A4_SHORT, A4_LONG)
                } else if need_width <= A4_LONG + 0.5 && need_height <= A4_SHORT + 0.5 {
                    (A4_LONG, A4_SHORT)
                } else {
                    let grid_width = 2.0 * margin_left + columns as f32 * char_width;
                    (grid_width.max(need_width), need_height)
                }
            }
        };
        Geometry {
            width,
            height,
            margin_left,
            margin_top,
            line_pitch,
            font_size: 120.0 / cpi,
        }
    }
}

/// Writes pages to a PDF as they come.
pub struct PdfWriter<W: Write> {
    out: Counting<W>,
    /// Byte offset of each object, by object number (0 unused).
    offsets: Vec<u64>,
    page_objects: Vec<u32>,
    rows: usize,
    columns: usize,
    content: Vec<u8>,
    compressed: Vec<u8>,
    /// The format of pages that declare none (a line spool's side-car cpi and lpi).
    default_format: PageFormat,
    deflate: Compress,
    /// The geometry `row_ops` and `font_ops` were formatted for.
    prepared: Option<Geometry>,
    row_ops: Vec<Vec<u8>>,
    font_ops: [Vec<u8>; 2],
    /// `width height` of the page, for `/MediaBox`.
    media_box: String,
}

impl<W: Write> PdfWriter<W> {
    /// Starts a PDF whose pages are grids of `rows` × `columns` (at least).
    pub fn new(inner: W, rows: usize, columns: usize) -> io::Result<PdfWriter<W>> {
        let mut writer = PdfWriter {
            out: Counting { inner, written: 0 },
            offsets: vec![0; FIRST_FREE as usize],
            page_objects: Vec::new(),
            rows,
            columns,
            content: Vec::with_capacity(16 * 1024),
            compressed: Vec::with_capacity(8 * 1024),
            default_format: PageFormat::default(),
            deflate: Compress::new(Compression::fast(), true),
            prepared: None,
            row_ops: Vec::new(),
            font_ops: [Vec::new(), Vec::new()],
            media_box: String::new(),
        };
        writer.out.write_all(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")?;
        for (id, name) in [(FONT_REGULAR, "Courier"), (FONT_BOLD, "Courier-Bold")] {
            writer.begin_object(id)?;
            write!(
                writer.out,
                "<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [{REPLACEMENT_CODE} /question] >> /ToUnicode {TO_UNICODE} 0 R >>\nendobj\n"
            )?;
        }
        writer.begin_object(TO_UNICODE)?;
        let cmap = to_unicode_cmap();
        write!(writer.out, "<< /Length {} >>\nstream\n", cmap.len())?;
        writer.out.write_all(cmap.as_bytes())?;
        writer.out.write_all(b"\nendstream\nendobj\n")?;
        Ok(writer)
    }

    /// Deflates `content` into `compressed` with the one compressor of this writer (creating
    /// a compressor per page cost more than compressing small pages).
    fn compress(&mut self) -> io::Result<()> {
        deflate_reusing(&mut self.deflate, &self.content, &mut self.compressed)
    }

    /// The format of pages that declare none.
    pub fn set_default_format(&mut self, format: PageFormat) {
        self.default_format = format;
    }

    fn begin_object(&mut self, id: u32) -> io::Result<()> {
        let index = id as usize;
        if self.offsets.len() <= index {
            self.offsets.resize(index + 1, 0);
        }
        self.offsets[index] = self.out.written;
        writeln!(self.out, "{id} 0 obj")
    }

    fn next_id(&self) -> u32 {
        u32::try_from(self.offsets.len()).unwrap_or(u32::MAX)
    }

    /// Appends one page.
    pub fn add_page(&mut self, page: &Page) -> io::Result<()> {
        let format = if page.format == PageFormat::default() {
            &self.default_format
        } else {
            &page.format
        };
        let geometry = Geometry::for_format(format, page.width(), self.rows, self.columns);
        self.content.clear();
        self.render(page, &geometry)?;
        self.compress()?;

        let content_id = self.next_id();
        self.begin_object(content_id)?;
        write!(
            self.out,
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            self.compressed.len()
        )?;
        self.out.write_all(&self.compressed)?;
        self.out.write_all(b"\nendstream\nendobj\n")?;

        let page_id = self.next_id();
        self.begin_object(page_id)?;
        write!(
            self.out,
            "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {}] /Resources << /Font << /F1 {FONT_REGULAR} 0 R /F2 {FONT_BOLD} 0 R >> >> /Contents {content_id} 0 R >>\nendobj\n",
            self.media_box
        )?;
        self.page_objects.push(page_id);
        Ok(())
    }

    /// The operators that depend only on the geometry: `Tf` for both fonts and the `Tm` of
    /// every row, formatted once per geometry rather than once per line (float formatting
    /// was the largest cost of a page).
    fn prepare(&mut self, geometry: &Geometry, rows: usize) {
        if self.prepared.as_ref() != Some(geometry) {
            self.prepared = Some(*geometry);
            self.row_ops.clear();
            self.media_box = format!("{:.2} {:.2}", geometry.width, geometry.height);
            self.font_ops = [
                format!("/F1 {:.2} Tf\n", geometry.font_size).into_bytes(),
                format!("/F2 {:.2} Tf\n", geometry.font_size).into_bytes(),
            ];
        }
        let top = geometry.height - geometry.margin_top;
        while self.row_ops.len() < rows {
            let row = self.row_ops.len();
            let baseline =
                top - geometry.line_pitch * (row as f32 + 1.0) + geometry.line_pitch * 0.22;
            self.row_ops.push(
                format!("1 0 0 1 {:.2} {baseline:.2} Tm\n", geometry.margin_left).into_bytes(),
            );
        }
    }

    fn render(&mut self, page: &Page, geometry: &Geometry) -> io::Result<()> {
        self.prepare(geometry, page.lines.len());
        let size = geometry.font_size;
        let char_width = size * COURIER_ADVANCE;
        let top = geometry.height - geometry.margin_top;
        let mut underlines: Vec<(f32, f32, f32)> = Vec::new();
        let mut font: Option<bool> = None;
        self.content.extend_from_slice(b"BT\n");
        for (row, line) in page.lines.iter().enumerate() {
            let Some(last) = line.chars.iter().rposition(|&c| c != ' ') else {
                continue;
            };
            self.content.extend_from_slice(&self.row_ops[row]);
            let mut start = 0;
            while start <= last {
                let bold = line.flags.get(start).is_some_and(|f| f & BOLD != 0);
                let mut end = start;
                while end <= last && line.flags.get(end).is_some_and(|f| f & BOLD != 0) == bold {
                    end += 1;
                }
                if font != Some(bold) {
                    self.content
                        .extend_from_slice(&self.font_ops[usize::from(bold)]);
                    font = Some(bold);
                }
                self.content.push(b'(');
                for &ch in &line.chars[start..end] {
                    let byte = if ch.is_ascii() && ch >= ' ' {
                        ch as u8
                    } else {
                        windows_1252_byte(ch)
                            .filter(|&b| b >= 0x20 && !UNDEFINED_WINANSI.contains(&b))
                            .unwrap_or(REPLACEMENT_CODE)
                    };
                    if matches!(byte, b'(' | b')' | b'\\') {
                        self.content.push(b'\\');
                    }
                    self.content.push(byte);
                }
                self.content.extend_from_slice(b") Tj\n");
                start = end;
            }
            let mut column = 0;
            while column < line.flags.len() {
                if line.flags[column] & UNDERLINE == 0 {
                    column += 1;
                    continue;
                }
                let first = column;
                while column < line.flags.len() && line.flags[column] & UNDERLINE != 0 {
                    column += 1;
                }
                let baseline =
                    top - geometry.line_pitch * (row as f32 + 1.0) + geometry.line_pitch * 0.22;
                let y = baseline - size * 0.15;
                underlines.push((
                    geometry.margin_left + first as f32 * char_width,
                    geometry.margin_left + column as f32 * char_width,
                    y,
                ));
            }
        }
        self.content.extend_from_slice(b"ET\n");
        if !underlines.is_empty() {
            writeln!(self.content, "{:.2} w", (size * 0.06).max(0.4))?;
            for (x1, x2, y) in underlines {
                writeln!(self.content, "{x1:.2} {y:.2} m {x2:.2} {y:.2} l S")?;
            }
        }
        Ok(())
    }

    pub fn pages(&self) -> usize {
        self.page_objects.len()
    }

    /// Writes the page tree, catalog, info and cross-reference table; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        write_trailer(
            &mut self.out,
            &mut self.offsets,
            &self.page_objects,
            [CATALOG, PAGES, INFO],
        )?;
        Ok(self.out.inner)
    }
}

/// Deflates `input` into `out` (cleared first) with a compressor kept from page to page:
/// resetting one is much cheaper than creating one. Shared by the spool and AFP writers.
pub(crate) fn deflate_reusing(
    compress: &mut Compress,
    input: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    out.clear();
    compress.reset();
    loop {
        out.reserve(input.len() / 2 + 256);
        let consumed = usize::try_from(compress.total_in()).unwrap_or(usize::MAX);
        let rest = input.get(consumed..).unwrap_or_default();
        let status = compress
            .compress_vec(rest, out, FlushCompress::Finish)
            .map_err(io::Error::other)?;
        if status == Status::StreamEnd {
            return Ok(());
        }
    }
}

/// The end of a PDF written object by object: the page tree (object `pages`) listing
/// `page_objects`, the catalog, the info dictionary, the cross-reference table of `offsets`
/// (by object number, 0 unused) and the trailer. Shared by the spool and AFP writers.
pub(crate) fn write_trailer<W: Write>(
    out: &mut Counting<W>,
    offsets: &mut Vec<u64>,
    page_objects: &[u32],
    [catalog, pages, info]: [u32; 3],
) -> io::Result<()> {
    let mut begin = |out: &mut Counting<W>, id: u32| -> io::Result<()> {
        let index = id as usize;
        if offsets.len() <= index {
            offsets.resize(index + 1, 0);
        }
        offsets[index] = out.written;
        writeln!(out, "{id} 0 obj")
    };
    begin(out, pages)?;
    write!(out, "<< /Type /Pages /Count {} /Kids [", page_objects.len())?;
    for (index, id) in page_objects.iter().enumerate() {
        if index % 16 == 0 {
            out.write_all(b"\n")?;
        }
        write!(out, "{id} 0 R ")?;
    }
    out.write_all(b"] >>\nendobj\n")?;
    begin(out, catalog)?;
    write!(out, "<< /Type /Catalog /Pages {pages} 0 R >>\nendobj\n")?;
    begin(out, info)?;
    write!(
        out,
        "<< /Producer (Greffier {}) >>\nendobj\n",
        env!("CARGO_PKG_VERSION")
    )?;
    let xref = out.written;
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", offsets.len())?;
    for offset in offsets.iter().skip(1) {
        writeln!(out, "{offset:010} 00000 n ")?;
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root {catalog} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        offsets.len()
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::{paginate, CarriageControl, SpoolLayout};

    #[test]
    fn a_spool_becomes_a_pdf_that_lopdf_can_read_back() {
        let layout = SpoolLayout {
            control: CarriageControl::Fcfc,
            ..SpoolLayout::default()
        };
        let input = "1ACME SARL   FACTURE (suite)\n Total TTC : 1 234,56 €\n1Page 2 (œuvre)\n";
        let mut writer = PdfWriter::new(Vec::new(), layout.lines_per_page, layout.columns).unwrap();
        let pages = paginate(input.as_bytes(), &layout, |page| writer.add_page(page)).unwrap();
        assert_eq!(pages, 2);
        let bytes = writer.finish().unwrap();
        let document = lopdf::Document::load_mem(&bytes).unwrap();
        assert_eq!(document.get_pages().len(), 2);
        let text = document.extract_text(&[1]).unwrap();
        assert!(text.contains("FACTURE (suite)"), "{text}");
    }

    #[test]
    fn wide_pages_are_landscape() {
        assert!(Geometry::for_page(132, 66, 132).width > Geometry::for_page(132, 66, 132).height);
        assert!(Geometry::for_page(70, 66, 132).width < Geometry::for_page(70, 66, 132).height);
    }
}
