//! A streaming PDF writer for spool pages: Courier and Courier-Bold (PDF base-14 fonts,
//! WinAnsiEncoding), one compressed content stream per page, objects written as pages come.
//! Memory holds one page plus one offset per object (about 28 bytes a page for the xref
//! table and the page list): 3.6 MiB peak at 10,000 pages, 6 MiB at 100,000. (printpdf and
//! lopdf build the whole document in memory first.)

use std::io::{self, Write};

use flate2::write::ZlibEncoder;
use flate2::Compression;

use crate::charset::windows_1252_byte;
use crate::spool::{Page, BOLD, UNDERLINE};

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
const FIRST_FREE: u32 = 6;

struct Counting<W> {
    inner: W,
    written: u64,
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

/// Page geometry: paper, pitch and font size for a grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub width: f32,
    pub height: f32,
    pub line_pitch: f32,
    pub font_size: f32,
}

impl Geometry {
    /// Portrait A4 when the page's text fits 80 columns, landscape otherwise; the grid
    /// (`rows` × at least `columns`) is scaled to fit inside the margins.
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
            line_pitch,
            font_size,
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
    string: Vec<u8>,
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
            string: Vec::with_capacity(512),
        };
        writer.out.write_all(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")?;
        for (id, name) in [(FONT_REGULAR, "Courier"), (FONT_BOLD, "Courier-Bold")] {
            writer.begin_object(id)?;
            write!(
                writer.out,
                "<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>\nendobj\n"
            )?;
        }
        Ok(writer)
    }

    fn begin_object(&mut self, id: u32) -> io::Result<()> {
        let index = id as usize;
        if self.offsets.len() <= index {
            self.offsets.resize(index + 1, 0);
        }
        self.offsets[index] = self.out.written;
        write!(self.out, "{id} 0 obj\n")
    }

    fn next_id(&self) -> u32 {
        u32::try_from(self.offsets.len()).unwrap_or(u32::MAX)
    }

    /// Appends one page.
    pub fn add_page(&mut self, page: &Page) -> io::Result<()> {
        let geometry = Geometry::for_page(page.width(), self.rows, self.columns);
        self.content.clear();
        self.render(page, &geometry)?;
        self.compressed.clear();
        let mut encoder =
            ZlibEncoder::new(std::mem::take(&mut self.compressed), Compression::fast());
        encoder.write_all(&self.content)?;
        self.compressed = encoder.finish()?;

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
            "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {:.2} {:.2}] /Resources << /Font << /F1 {FONT_REGULAR} 0 R /F2 {FONT_BOLD} 0 R >> >> /Contents {content_id} 0 R >>\nendobj\n",
            geometry.width, geometry.height
        )?;
        self.page_objects.push(page_id);
        Ok(())
    }

    fn render(&mut self, page: &Page, geometry: &Geometry) -> io::Result<()> {
        let size = geometry.font_size;
        let char_width = size * COURIER_ADVANCE;
        let top = geometry.height - MARGIN;
        let mut underlines: Vec<(f32, f32, f32)> = Vec::new();
        self.content.extend_from_slice(b"BT\n");
        for (row, line) in page.lines.iter().enumerate() {
            let Some(last) = line.chars.iter().rposition(|&c| c != ' ') else {
                continue;
            };
            let baseline =
                top - geometry.line_pitch * (row as f32 + 1.0) + geometry.line_pitch * 0.22;
            write!(self.content, "1 0 0 1 {MARGIN:.2} {baseline:.2} Tm\n")?;
            let mut start = 0;
            while start <= last {
                let bold = line.flags[start] & BOLD != 0;
                let mut end = start;
                while end <= last && (line.flags[end] & BOLD != 0) == bold {
                    end += 1;
                }
                write!(
                    self.content,
                    "/{} {size:.2} Tf ",
                    if bold { "F2" } else { "F1" }
                )?;
                self.string.clear();
                for &ch in &line.chars[start..end] {
                    let byte = windows_1252_byte(ch).unwrap_or(b'?');
                    if matches!(byte, b'(' | b')' | b'\\') {
                        self.string.push(b'\\');
                    }
                    self.string.push(byte);
                }
                self.content.push(b'(');
                self.content.extend_from_slice(&self.string);
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
                let y = baseline - size * 0.15;
                underlines.push((
                    MARGIN + first as f32 * char_width,
                    MARGIN + column as f32 * char_width,
                    y,
                ));
            }
        }
        self.content.extend_from_slice(b"ET\n");
        if !underlines.is_empty() {
            write!(self.content, "{:.2} w\n", (size * 0.06).max(0.4))?;
            for (x1, x2, y) in underlines {
                write!(self.content, "{x1:.2} {y:.2} m {x2:.2} {y:.2} l S\n")?;
            }
        }
        Ok(())
    }

    pub fn pages(&self) -> usize {
        self.page_objects.len()
    }

    /// Writes the page tree, catalog, info and cross-reference table; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.begin_object(PAGES)?;
        write!(
            self.out,
            "<< /Type /Pages /Count {} /Kids [",
            self.page_objects.len()
        )?;
        for (index, id) in self.page_objects.iter().enumerate() {
            if index % 16 == 0 {
                self.out.write_all(b"\n")?;
            }
            write!(self.out, "{id} 0 R ")?;
        }
        self.out.write_all(b"] >>\nendobj\n")?;
        self.begin_object(CATALOG)?;
        write!(
            self.out,
            "<< /Type /Catalog /Pages {PAGES} 0 R >>\nendobj\n"
        )?;
        self.begin_object(INFO)?;
        write!(
            self.out,
            "<< /Producer (Greffier {}) >>\nendobj\n",
            env!("CARGO_PKG_VERSION")
        )?;
        let xref = self.out.written;
        write!(
            self.out,
            "xref\n0 {}\n0000000000 65535 f \n",
            self.offsets.len()
        )?;
        for offset in self.offsets.iter().skip(1) {
            write!(self.out, "{offset:010} 00000 n \n")?;
        }
        write!(
            self.out,
            "trailer\n<< /Size {} /Root {CATALOG} 0 R /Info {INFO} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len()
        )?;
        self.out.flush()?;
        Ok(self.out.inner)
    }
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
