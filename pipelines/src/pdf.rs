//! A streaming PDF writer for spool pages: Courier and Courier-Bold (PDF base-14 fonts,
//! WinAnsiEncoding), one compressed content stream per page, objects written as pages come.
//! Memory holds one page (plus at most 8 pages' content streams in flight to a
//! [`DeflateThread`], which deflates them while the next pages render) and one offset per
//! object (about 28 bytes a page for the xref table and the page list): 3.6 MiB peak at 10,000
//! pages, 6 MiB at 100,000. (printpdf and lopdf build the whole document in memory first.)

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{mpsc, Arc};

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
    /// The underlines of a page, drawn after its text.
    rules: Vec<u8>,
    /// The object headers and the page dictionary of a page, written with one call.
    scratch: Vec<u8>,
    /// The format of pages that declare none (a line spool's side-car cpi and lpi).
    default_format: PageFormat,
    /// This writer's compressor, made at its first page (a burst run makes thousands of
    /// one-invoice writers), unless pages are deflated on a [`DeflateThread`].
    deflate: Option<Compress>,
    remote: Option<Remote>,
    /// The next free object number.
    next_object: u32,
    /// What depends only on the geometry, formatted once per geometry rather than once per
    /// line (float formatting was the largest cost of a page).
    prepared: Option<Prepared>,
}

/// The operators and numbers of one geometry.
struct Prepared {
    geometry: Geometry,
    /// The left margin, as written.
    margin_left: Vec<u8>,
    /// Each row's baseline in hundredths of a point: `{:.2}` of its `f32` position, so
    /// rows sit where a `1 0 0 1 x y Tm` with two decimals put them.
    row_y: Vec<i64>,
    /// The line pitch in hundredths of a point (what `T*` moves down; 0: no `T*`).
    leading: i64,
    /// `TL` of `leading`.
    leading_op: Vec<u8>,
    /// `Tf` of the regular and the bold font.
    font_ops: [Vec<u8>; 2],
    /// `w` of the underlines.
    rule_op: Vec<u8>,
    /// The page dictionary up to the content stream's object number.
    page_head: Arc<[u8]>,
}

impl Prepared {
    fn new(geometry: &Geometry) -> Prepared {
        let number = |value: f32| {
            let mut out = Vec::new();
            push_scaled(&mut out, hundredths(value), 2);
            out
        };
        let leading = hundredths(geometry.line_pitch).max(0);
        let mut leading_op = number(geometry.line_pitch);
        leading_op.extend_from_slice(b" TL\n");
        let font_ops = [b"/F1 ", b"/F2 "].map(|name| {
            let mut op = name.to_vec();
            op.extend_from_slice(&number(geometry.font_size));
            op.extend_from_slice(b" Tf\n");
            op
        });
        let mut rule_op = number((geometry.font_size * 0.06).max(0.4));
        rule_op.extend_from_slice(b" w\n");
        let mut page_head =
            format!("<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 ").into_bytes();
        page_head.extend_from_slice(&number(geometry.width));
        page_head.push(b' ');
        page_head.extend_from_slice(&number(geometry.height));
        page_head.extend_from_slice(
            format!("] /Resources << /Font << /F1 {FONT_REGULAR} 0 R /F2 {FONT_BOLD} 0 R >> >> /Contents ")
                .as_bytes(),
        );
        Prepared {
            geometry: *geometry,
            margin_left: number(geometry.margin_left),
            row_y: Vec::new(),
            leading,
            leading_op,
            font_ops,
            rule_op,
            page_head: page_head.into(),
        }
    }

    /// The baseline of `row`, from the top of the page.
    fn baseline(geometry: &Geometry, row: usize) -> f32 {
        let top = geometry.height - geometry.margin_top;
        top - geometry.line_pitch * (row as f32 + 1.0) + geometry.line_pitch * 0.22
    }

    /// Makes `row_y` cover `rows` rows.
    fn cover(&mut self, rows: usize) {
        while self.row_y.len() < rows {
            let row = self.row_y.len();
            self.row_y
                .push(hundredths(Prepared::baseline(&self.geometry, row)));
        }
    }
}

/// `value` in hundredths, rounded as `{:.2}` rounds it (the decimal digits it prints).
fn hundredths(value: f32) -> i64 {
    let text = format!("{value:.2}");
    let digits: String = text.chars().filter(|&c| c != '.').collect();
    digits.parse::<i64>().unwrap_or_else(|_| scale(value, 100))
}

/// `value × factor`, rounded half away from zero (0 when not finite, saturated beyond `i64`).
fn scale(value: f32, factor: i64) -> i64 {
    if !value.is_finite() {
        return 0;
    }
    (f64::from(value) * factor as f64).round() as i64
}

/// `scaled / 10^decimals` (`decimals` at most 18) with no trailing zeros in its fraction
/// (a PDF number), written at the end of `digits`: `-1250` with 3 decimals is `-1.25`, `0`
/// is `0`. Returns the bytes written.
fn format_scaled(scaled: i64, decimals: u32, digits: &mut [u8; 24]) -> &[u8] {
    let mut at = digits.len();
    let mut magnitude = scaled.unsigned_abs();
    let mut fraction_digits = 0;
    // The fraction, right to left, its trailing zeros dropped.
    for _ in 0..decimals.min(18) {
        let digit = (magnitude % 10) as u8;
        magnitude /= 10;
        if fraction_digits > 0 || digit != 0 {
            at -= 1;
            digits[at] = b'0' + digit;
            fraction_digits += 1;
        }
    }
    if fraction_digits > 0 {
        at -= 1;
        digits[at] = b'.';
    }
    loop {
        at -= 1;
        digits[at] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if scaled < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    &digits[at..]
}

/// Appends `scaled / 10^decimals` as a PDF number (see [`format_scaled`]).
pub(crate) fn push_scaled(out: &mut Vec<u8>, scaled: i64, decimals: u32) {
    let mut digits = [0u8; 24];
    out.extend_from_slice(format_scaled(scaled, decimals, &mut digits));
}

/// Appends `value` with at most `decimals` decimals (rounded half away from zero), without
/// trailing zeros (a PDF number; `0` when not finite): the hot path of every page, faster
/// than `format!`. Shared by the spool and AFP writers.
pub(crate) fn push_number(out: &mut Vec<u8>, value: f32, decimals: u32) {
    let decimals = decimals.min(18);
    push_scaled(out, scale(value, 10i64.pow(decimals)), decimals);
}

/// [`push_number`] onto a `String`.
pub(crate) fn push_number_str(out: &mut String, value: f32, decimals: u32) {
    let decimals = decimals.min(18);
    let mut digits = [0u8; 24];
    let bytes = format_scaled(scale(value, 10i64.pow(decimals)), decimals, &mut digits);
    out.extend(bytes.iter().map(|&byte| char::from(byte)));
}

/// Appends `value` in decimal.
fn push_u64(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The WinAnsi byte of each code point below 256: itself for printable ASCII (DEL too) and
/// Latin-1, [`REPLACEMENT_CODE`] for the controls (C0 and C1).
const LATIN1_WINANSI: [u8; 256] = {
    let mut table = [REPLACEMENT_CODE; 256];
    let mut code = 0x20;
    while code < 0x100 {
        if code < 0x80 || code >= 0xA0 {
            table[code] = code as u8;
        }
        code += 1;
    }
    table
};

/// The WinAnsi byte of `ch` as a string byte: ASCII and Latin-1 as they are, what WinAnsi
/// lacks (or a control) as [`REPLACEMENT_CODE`].
#[inline]
fn winansi(ch: char) -> u8 {
    match LATIN1_WINANSI.get(ch as usize) {
        Some(&byte) => byte,
        None => windows_1252_byte(ch)
            .filter(|&b| b >= 0x20 && !UNDEFINED_WINANSI.contains(&b))
            .unwrap_or(REPLACEMENT_CODE),
    }
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
            rules: Vec::new(),
            scratch: Vec::with_capacity(512),
            default_format: PageFormat::default(),
            deflate: None,
            remote: None,
            next_object: FIRST_FREE,
            prepared: None,
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
        let deflate = self
            .deflate
            .get_or_insert_with(|| Compress::new(Compression::fast(), true));
        deflate_reusing(deflate, &self.content, &mut self.compressed)
    }

    /// Deflates this writer's pages on `thread` from now on, while the next pages render.
    pub fn deflate_on(&mut self, thread: &DeflateThread) {
        let (reply, done) = mpsc::channel();
        self.remote = Some(Remote {
            jobs: thread.jobs.clone(),
            reply,
            done,
            pending: VecDeque::new(),
            filling: Vec::new(),
            jobs_out: 0,
            spare: Vec::new(),
        });
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

    /// Appends one page.
    pub fn add_page(&mut self, page: &Page) -> io::Result<()> {
        let format = if page.format == PageFormat::default() {
            &self.default_format
        } else {
            &page.format
        };
        let geometry = Geometry::for_format(format, page.width(), self.rows, self.columns);
        let mut prepared = match self.prepared.take() {
            Some(prepared) if prepared.geometry == geometry => prepared,
            _ => Prepared::new(&geometry),
        };
        prepared.cover(page.lines.len());
        let content_id = self.next_object;
        self.next_object = self.next_object.saturating_add(2);
        let page_head = prepared.page_head.clone();
        if let Some(remote) = self.remote.as_mut() {
            let (mut content, compressed) = remote.spare.pop().unwrap_or_default();
            content.clear();
            render(&mut content, &mut self.rules, page, &prepared);
            self.prepared = Some(prepared);
            remote.filling.push((content, compressed));
            remote.pending.push_back(PendingPage {
                content_id,
                page_head,
            });
            if remote.filling.len() >= JOB_PAGES {
                remote.send()?;
            }
            // Write what is ready; wait only when too many pages are in flight.
            while let Some(done) = self.remote.as_ref().and_then(|r| r.done.try_recv().ok()) {
                self.write_deflated(done)?;
            }
            while self
                .remote
                .as_ref()
                .is_some_and(|r| r.jobs_out > 0 && r.pending.len() > IN_FLIGHT)
            {
                self.write_next_deflated()?;
            }
            return Ok(());
        }
        self.content.clear();
        render(&mut self.content, &mut self.rules, page, &prepared);
        self.prepared = Some(prepared);
        self.compress()?;
        let compressed = std::mem::take(&mut self.compressed);
        let result = self.write_page(content_id, &page_head, &compressed);
        self.compressed = compressed;
        result
    }

    /// Waits for the oldest job in flight and writes its pages.
    fn write_next_deflated(&mut self) -> io::Result<()> {
        let Some(remote) = self.remote.as_ref() else {
            return Ok(());
        };
        let done = remote.done.recv().map_err(|_| deflate_thread_stopped())?;
        self.write_deflated(done)
    }

    /// Writes the pages of a job with their deflated content (jobs come back in the order
    /// they were sent: one thread, one queue).
    fn write_deflated(&mut self, done: DeflateDone) -> io::Result<()> {
        if let Some(remote) = self.remote.as_mut() {
            remote.jobs_out = remote.jobs_out.saturating_sub(1);
        }
        for (content, compressed, result) in done.pages {
            let Some(page) = self.remote.as_mut().and_then(|r| r.pending.pop_front()) else {
                return Err(io::Error::other("a deflated page came back unasked"));
            };
            result?;
            self.write_page(page.content_id, &page.page_head, &compressed)?;
            if let Some(remote) = self.remote.as_mut() {
                remote.spare.push((content, compressed));
            }
        }
        Ok(())
    }

    /// Writes a page's content stream (object `content_id`) and its page object (the next).
    fn write_page(
        &mut self,
        content_id: u32,
        page_head: &[u8],
        compressed: &[u8],
    ) -> io::Result<()> {
        let page_id = content_id.saturating_add(1);
        self.offsets.push(self.out.written);
        let scratch = &mut self.scratch;
        scratch.clear();
        push_u64(scratch, u64::from(content_id));
        scratch.extend_from_slice(b" 0 obj\n<< /Length ");
        push_u64(scratch, compressed.len() as u64);
        scratch.extend_from_slice(b" /Filter /FlateDecode >>\nstream\n");
        self.out.write_all(scratch)?;
        self.out.write_all(compressed)?;
        scratch.clear();
        scratch.extend_from_slice(b"\nendstream\nendobj\n");
        let page_offset = self.out.written + scratch.len() as u64;
        push_u64(scratch, u64::from(page_id));
        scratch.extend_from_slice(b" 0 obj\n");
        scratch.extend_from_slice(page_head);
        push_u64(scratch, u64::from(content_id));
        scratch.extend_from_slice(b" 0 R >>\nendobj\n");
        self.offsets.push(page_offset);
        self.out.write_all(scratch)?;
        self.page_objects.push(page_id);
        Ok(())
    }

    /// Pages added (including those still being deflated).
    pub fn pages(&self) -> usize {
        self.page_objects.len() + self.remote.as_ref().map_or(0, |r| r.pending.len())
    }

    /// Writes the page tree, catalog, info and cross-reference table; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(remote) = self.remote.as_mut() {
            remote.send()?;
        }
        while self.remote.as_ref().is_some_and(|r| r.jobs_out > 0) {
            self.write_next_deflated()?;
        }
        write_trailer(
            &mut self.out,
            &mut self.offsets,
            &self.page_objects,
            [CATALOG, PAGES, INFO],
        )?;
        Ok(self.out.inner)
    }
}

/// Pages a writer has in flight to its [`DeflateThread`] before it waits for the oldest.
const IN_FLIGHT: usize = 16;
/// Pages sent to the thread at once: waking it for every page cost more than a page's
/// deflate.
const JOB_PAGES: usize = 4;

/// A thread that deflates the content streams of spool pages while the caller renders the
/// next ones: deflate was a third of a spool conversion's time. One per conversion, shared by
/// the writers of its parts one after the other (each writer has its own reply channel); it
/// ends when the last handle and the last writer using it are dropped.
#[derive(Clone)]
pub struct DeflateThread {
    jobs: mpsc::SyncSender<DeflateJob>,
}

impl DeflateThread {
    pub fn spawn() -> io::Result<DeflateThread> {
        let (jobs, queue) = mpsc::sync_channel::<DeflateJob>(IN_FLIGHT / JOB_PAGES);
        std::thread::Builder::new()
            .name("pdf-deflate".into())
            .spawn(move || {
                let mut compress = Compress::new(Compression::fast(), true);
                for job in queue {
                    let pages = job
                        .pages
                        .into_iter()
                        .map(|(content, mut compressed)| {
                            let result = deflate_reusing(&mut compress, &content, &mut compressed);
                            (content, compressed, result)
                        })
                        .collect();
                    // A writer that stopped waiting (an error on its side) drops the pages.
                    let _ = job.reply.send(DeflateDone { pages });
                }
            })?;
        Ok(DeflateThread { jobs })
    }
}

struct DeflateJob {
    /// Each page's content and a spare buffer for its deflated bytes.
    pages: Vec<(Vec<u8>, Vec<u8>)>,
    reply: mpsc::Sender<DeflateDone>,
}

struct DeflateDone {
    /// Each page's content (back for reuse), its deflated bytes, and whether deflate worked.
    pages: Vec<(Vec<u8>, Vec<u8>, io::Result<()>)>,
}

/// A writer's side of a [`DeflateThread`].
struct Remote {
    jobs: mpsc::SyncSender<DeflateJob>,
    reply: mpsc::Sender<DeflateDone>,
    done: mpsc::Receiver<DeflateDone>,
    /// Pages rendered and not written yet, oldest first (sent, or in `filling`).
    pending: VecDeque<PendingPage>,
    /// Pages rendered and not sent yet.
    filling: Vec<(Vec<u8>, Vec<u8>)>,
    /// Jobs sent and not back yet.
    jobs_out: usize,
    /// Content and compressed buffers to reuse.
    spare: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Remote {
    /// Sends the pages rendered so far as one job.
    fn send(&mut self) -> io::Result<()> {
        if self.filling.is_empty() {
            return Ok(());
        }
        let pages = std::mem::replace(&mut self.filling, Vec::with_capacity(JOB_PAGES));
        self.jobs
            .send(DeflateJob {
                pages,
                reply: self.reply.clone(),
            })
            .map_err(|_| deflate_thread_stopped())?;
        self.jobs_out += 1;
        Ok(())
    }
}

struct PendingPage {
    content_id: u32,
    page_head: Arc<[u8]>,
}

fn deflate_thread_stopped() -> io::Error {
    io::Error::other("the pdf deflate thread stopped")
}

/// The size of the local array a row's bytes are staged in before they are appended: a push
/// onto the `Vec` a character stores its length every time (a byte store may alias it).
const STAGE: usize = 1024;

/// Appends the `Tj` runs of one row's `chars` (ending with ink), switching `font` when a
/// character needs the other one: blanks go with the run they follow (or, at the start of
/// the row, with the run they precede), whatever their flag says.
fn push_row(
    content: &mut Vec<u8>,
    chars: &[char],
    flags: &[u8],
    prepared: &Prepared,
    font: &mut Option<bool>,
    stage: &mut [u8; STAGE],
) {
    let bold_at = |index: usize| flags.get(index).is_some_and(|f| f & BOLD != 0);
    let any_bold = flags
        .get(..chars.len())
        .unwrap_or(flags)
        .iter()
        .fold(0, |all, f| all | f)
        & BOLD
        != 0;
    if !any_bold {
        // One run in the regular font (the common row).
        if *font != Some(false) {
            content.extend_from_slice(&prepared.font_ops[0]);
            *font = Some(false);
        }
        content.push(b'(');
        push_chars(content, chars, stage);
        content.extend_from_slice(b") Tj\n");
        return;
    }
    let lead = chars.iter().take_while(|&&c| c == ' ').count();
    let first = bold_at(lead);
    if *font != Some(first) {
        content.extend_from_slice(&prepared.font_ops[usize::from(first)]);
        *font = Some(first);
    }
    let mut current = first;
    content.push(b'(');
    push_blanks(content, lead);
    let mut staged = 0;
    for (index, &ch) in chars.iter().enumerate().skip(lead) {
        let bold = bold_at(index);
        if (ch != ' ') & (bold != current) {
            content.extend_from_slice(&stage[..staged]);
            staged = 0;
            content.extend_from_slice(b") Tj\n");
            content.extend_from_slice(&prepared.font_ops[usize::from(bold)]);
            content.push(b'(');
            current = bold;
        }
        if staged + 2 > STAGE {
            content.extend_from_slice(&stage[..staged]);
            staged = 0;
        }
        staged = stage_char(stage, staged, ch);
    }
    content.extend_from_slice(&stage[..staged]);
    content.extend_from_slice(b") Tj\n");
    *font = Some(current);
}

/// Stages the WinAnsi byte of `ch` at `staged` (after a `\\` for `(`, `)` and `\\`); returns
/// the new length. The caller leaves room for two bytes.
fn stage_char(stage: &mut [u8; STAGE], mut staged: usize, ch: char) -> usize {
    let byte = winansi(ch);
    if matches!(byte, b'(' | b')' | b'\\') {
        stage[staged] = b'\\';
        staged += 1;
    }
    stage[staged] = byte;
    staged + 1
}

/// Appends the string bytes of `chars` (escaped), staged in `stage`.
fn push_chars(content: &mut Vec<u8>, chars: &[char], stage: &mut [u8; STAGE]) {
    for chunk in chars.chunks(STAGE / 2) {
        // Printable ASCII and Latin-1 but `(`, `)` and `\\` are their own bytes: checked and
        // narrowed without a branch a character (both vectorize).
        let plain = chunk.iter().fold(true, |plain, &ch| {
            let code = u32::from(ch);
            plain
                & ((0x20..0x80).contains(&code) | (0xA0..0x100).contains(&code))
                & (code != 0x28)
                & (code != 0x29)
                & (code != 0x5C)
        });
        if plain {
            for (byte, &ch) in stage.iter_mut().zip(chunk) {
                *byte = ch as u8;
            }
            content.extend_from_slice(&stage[..chunk.len()]);
            continue;
        }
        let mut staged = 0;
        for &ch in chunk {
            staged = stage_char(stage, staged, ch);
        }
        content.extend_from_slice(&stage[..staged]);
    }
}

/// Appends `count` blanks.
#[inline]
fn push_blanks(content: &mut Vec<u8>, count: usize) {
    content.resize(content.len() + count, b' ');
}

/// Appends the content stream of `page`: one text object, each row placed below the last
/// (`T*` one pitch down, `Td` for a gap; the first with `Td` from the origin, where `BT` puts
/// the text matrix), a run of characters per font, then the underlines. Blanks are as wide
/// and as invisible in Courier-Bold as in Courier, so they stay in the font in use: a font
/// changes only for a character that needs the other one.
fn render(content: &mut Vec<u8>, rules: &mut Vec<u8>, page: &Page, prepared: &Prepared) {
    let geometry = &prepared.geometry;
    let mut font: Option<bool> = None;
    let mut leading_set = false;
    let mut previous: Option<i64> = None;
    let mut stage = [0u8; STAGE];
    rules.clear();
    content.extend_from_slice(b"BT\n");
    for (row, line) in page.lines.iter().enumerate() {
        let Some(last) = line.chars.iter().rposition(|&c| c != ' ') else {
            continue;
        };
        if line.flags.iter().fold(0, |all, f| all | f) & UNDERLINE != 0 {
            push_underlines(rules, &line.flags, row, geometry);
        }
        let y = prepared.row_y.get(row).copied().unwrap_or_default();
        match previous {
            None => {
                content.extend_from_slice(&prepared.margin_left);
                content.push(b' ');
                push_scaled(content, y, 2);
                content.extend_from_slice(b" Td\n");
            }
            Some(above) => {
                let down = above - y;
                if prepared.leading > 0 && down == prepared.leading {
                    if !leading_set {
                        content.extend_from_slice(&prepared.leading_op);
                        leading_set = true;
                    }
                    content.extend_from_slice(b"T*\n");
                } else {
                    content.extend_from_slice(b"0 ");
                    push_scaled(content, -down, 2);
                    content.extend_from_slice(b" Td\n");
                }
            }
        }
        previous = Some(y);
        push_row(
            content,
            &line.chars[..=last],
            &line.flags,
            prepared,
            &mut font,
            &mut stage,
        );
    }
    content.extend_from_slice(b"ET\n");
    if !rules.is_empty() {
        content.extend_from_slice(&prepared.rule_op);
        content.extend_from_slice(rules);
    }
}

/// Appends a line under each run of underlined columns of `row` (rows without ink have
/// none, as they have no text).
fn push_underlines(rules: &mut Vec<u8>, flags: &[u8], row: usize, geometry: &Geometry) {
    let char_width = geometry.font_size * COURIER_ADVANCE;
    let y = Prepared::baseline(geometry, row) - geometry.font_size * 0.15;
    let mut column = 0;
    while let Some(offset) = flags[column..].iter().position(|f| f & UNDERLINE != 0) {
        let first = column + offset;
        column = flags[first..]
            .iter()
            .position(|f| f & UNDERLINE == 0)
            .map_or(flags.len(), |length| first + length);
        let x1 = geometry.margin_left + first as f32 * char_width;
        let x2 = geometry.margin_left + column as f32 * char_width;
        push_number(rules, x1, 2);
        rules.push(b' ');
        push_number(rules, y, 2);
        rules.extend_from_slice(b" m ");
        push_number(rules, x2, 2);
        rules.push(b' ');
        push_number(rules, y, 2);
        rules.extend_from_slice(b" l S\n");
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
    let mut buffer = Vec::with_capacity(16 * 1024);
    for (index, id) in page_objects.iter().enumerate() {
        if index % 16 == 0 {
            buffer.push(b'\n');
        }
        push_u64(&mut buffer, u64::from(*id));
        buffer.extend_from_slice(b" 0 R ");
        if buffer.len() >= 15 * 1024 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    buffer.extend_from_slice(b"] >>\nendobj\n");
    out.write_all(&buffer)?;
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
    buffer.clear();
    for &offset in offsets.iter().skip(1) {
        // `{offset:010} 00000 n ` without the formatting machinery (20 bytes an object).
        let mut entry = *b"0000000000 00000 n \n";
        let mut rest = offset;
        for digit in entry[..10].iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        if rest != 0 {
            // Beyond 10 digits (no reader takes it, but write the number whole).
            writeln!(buffer, "{offset:010} 00000 n ")?;
        } else {
            buffer.extend_from_slice(&entry);
        }
        if buffer.len() >= 15 * 1024 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    out.write_all(&buffer)?;
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
    use crate::spool::{paginate, CarriageControl, Line, SpoolLayout};

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
    fn rows_move_by_the_pitch_and_blanks_keep_the_font_in_use() {
        let line = |text: &str, bold: &[usize]| Line {
            chars: text.chars().collect(),
            flags: (0..text.chars().count())
                .map(|i| if bold.contains(&i) { BOLD } else { 0 })
                .collect(),
        };
        // "Total TTC" bold but its blank; the third row after a blank one.
        let page = Page {
            number: 1,
            lines: vec![
                line("ACME (SARL)", &[]),
                line("  Total TTC : 1", &[2, 3, 4, 5, 6, 8, 9, 10, 14]),
                line("", &[]),
                line("fin", &[]),
            ],
            format: PageFormat::default(),
        };
        let mut writer = PdfWriter::new(Vec::new(), 66, 80).unwrap();
        writer.add_page(&page).unwrap();
        let bytes = writer.finish().unwrap();
        let document = lopdf::Document::load_mem(&bytes).unwrap();
        let page_id = document.page_iter().next().unwrap();
        let content = String::from_utf8(document.get_page_content(page_id).unwrap()).unwrap();
        assert_eq!(
            content,
            "BT\n18 814.53 Td\n/F1 11.65 Tf\n(ACME \\(SARL\\)) Tj\n12 TL\nT*\n\
             /F2 11.65 Tf\n(  Total TTC ) Tj\n/F1 11.65 Tf\n(: ) Tj\n/F2 11.65 Tf\n(1) Tj\n\
             0 -24 Td\n/F1 11.65 Tf\n(fin) Tj\nET\n"
        );
        let text = document.extract_text(&[1]).unwrap();
        assert!(text.contains("Total TTC : 1"), "{text}");
    }

    #[test]
    fn numbers_are_written_as_two_decimals_round_them() {
        let mut out = Vec::new();
        for value in [36.0f32, 814.29, 0.72, -24.0, 151.2, 0.004] {
            push_scaled(&mut out, hundredths(value), 2);
            out.push(b' ');
        }
        assert_eq!(out, b"36 814.29 0.72 -24 151.2 0 ");
    }

    /// Pages deflated on a [`DeflateThread`] give the same bytes as inline, for writers that
    /// share one thread one after the other, with more pages than are kept in flight.
    #[test]
    fn a_deflate_thread_writes_the_same_pdf_as_inline() {
        let layout = SpoolLayout {
            control: CarriageControl::Fcfc,
            ..SpoolLayout::default()
        };
        let input: String = (1..=3 * IN_FLIGHT + 1)
            .map(|page| format!("1FACTURE {page}\n Total TTC : {page},00 EUR\n"))
            .collect();
        let write = |thread: Option<&DeflateThread>| {
            let mut writer = PdfWriter::new(Vec::new(), 66, 132).unwrap();
            if let Some(thread) = thread {
                writer.deflate_on(thread);
            }
            paginate(input.as_bytes(), &layout, |page| writer.add_page(page)).unwrap();
            assert_eq!(writer.pages(), 3 * IN_FLIGHT + 1);
            writer.finish().unwrap()
        };
        let inline = write(None);
        let thread = DeflateThread::spawn().unwrap();
        assert_eq!(write(Some(&thread)), inline);
        assert_eq!(write(Some(&thread)), inline);
        let document = lopdf::Document::load_mem(&inline).unwrap();
        assert_eq!(document.get_pages().len(), 3 * IN_FLIGHT + 1);
    }

    #[test]
    fn wide_pages_are_landscape() {
        assert!(Geometry::for_page(132, 66, 132).width > Geometry::for_page(132, 66, 132).height);
        assert!(Geometry::for_page(70, 66, 132).width < Geometry::for_page(70, 66, 132).height);
    }
}
