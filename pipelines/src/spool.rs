//! Text spools → pages: the page model shared by every spool renderer (SCS and AFP later),
//! and a streaming paginator for line spools: plain lines with form feeds, FCFC/ASA carriage
//! control in column 1, and fixed-length records without line ends, in UTF-8, Windows-1252 or
//! EBCDIC. Memory holds one page at a time, whatever the number of pages.

use std::io::{self, BufRead};

use thiserror::Error;

use crate::charset::Charset;

/// Flags on a cell.
pub const BOLD: u8 = 1;
pub const UNDERLINE: u8 = 2;

/// The longest record we accept. IBM i print lines are at most 378 columns; anything much
/// longer is not a line spool.
pub const MAX_LINE_BYTES: usize = 4096;

/// How a spool's lines turn into rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarriageControl {
    /// Every line is one row; form feeds start pages.
    None,
    /// Column 1 is an ANSI/FCFC control: `1` new page, ` ` `0` `-` one, two, three rows, `+` overprint.
    Fcfc,
}

impl CarriageControl {
    pub fn name(self) -> &'static str {
        match self {
            CarriageControl::None => "none",
            CarriageControl::Fcfc => "fcfc",
        }
    }

    pub fn from_name(name: &str) -> Option<CarriageControl> {
        match name {
            "none" => Some(CarriageControl::None),
            "fcfc" => Some(CarriageControl::Fcfc),
            _ => None,
        }
    }
}

/// Everything the paginator needs to know about a spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLayout {
    pub charset: Charset,
    pub control: CarriageControl,
    /// Fixed-length records without line ends.
    pub record_length: Option<usize>,
    /// Rows per page (IBM i PAGESIZE length, 66 by default).
    pub lines_per_page: usize,
    /// Columns per page (PAGESIZE width, 132 by default).
    pub columns: usize,
}

impl Default for SpoolLayout {
    fn default() -> Self {
        SpoolLayout {
            charset: Charset::Utf8,
            control: CarriageControl::None,
            record_length: None,
            lines_per_page: 66,
            columns: 132,
        }
    }
}

#[derive(Debug, Error)]
pub enum SpoolError {
    #[error("i/o error while reading the spool: {0}")]
    Io(#[from] io::Error),
    #[error("record {record} is longer than {MAX_LINE_BYTES} bytes: not a line spool")]
    LineTooLong { record: u64 },
}

/// One row of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    pub chars: Vec<char>,
    /// [`BOLD`] / [`UNDERLINE`] per char, same length as `chars`.
    pub flags: Vec<u8>,
}

impl Line {
    /// The row's text without trailing blanks.
    pub fn text(&self) -> String {
        let text: String = self.chars.iter().collect();
        text.trim_end().to_string()
    }

    /// Lays `text` over the row from column 0: a blank keeps what is under it, `_` underlines
    /// it, the same character makes it bold, anything over a blank or `_` replaces it.
    fn overlay(&mut self, text: &[char]) {
        if self.chars.is_empty() {
            // Nothing to print over: the common case, one record per row.
            self.chars.extend_from_slice(text);
            self.flags.resize(text.len(), 0);
            return;
        }
        if self.chars.len() < text.len() {
            self.chars.resize(text.len(), ' ');
            self.flags.resize(text.len(), 0);
        }
        for (column, &ch) in text.iter().enumerate() {
            let under = self.chars[column];
            if ch == ' ' {
                continue;
            }
            if ch == '_' && under != '_' {
                self.flags[column] |= UNDERLINE;
                if under == ' ' {
                    self.chars[column] = ' ';
                }
            } else if ch == under {
                self.flags[column] |= BOLD;
            } else if under == ' ' || under == '_' {
                if under == '_' {
                    self.flags[column] |= UNDERLINE;
                }
                self.chars[column] = ch;
            }
        }
    }
}

/// What a spool says about its physical page (SCS SPPS/SCD/SLD/SHM/STO, side-car attributes).
/// `None` leaves the choice to the PDF writer, which then fits the grid on A4.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PageFormat {
    /// Characters per inch: Courier at `120 / cpi` points.
    pub cpi: Option<f32>,
    /// Lines per inch: rows `72 / lpi` points apart.
    pub lpi: Option<f32>,
    /// Paper width and height in points (1/72 in), as the spool sets them, unrotated.
    pub paper: Option<(f32, f32)>,
    /// The page is turned a quarter (STO 90°/270°, or SPPS wider than deep).
    pub landscape: Option<bool>,
    /// Distance from the left edge to column 1, in points (SHM, SHF left margin).
    pub margin_left: Option<f32>,
    /// Distance from the top edge to the top of row 1, in points (SVM).
    pub margin_top: Option<f32>,
    /// Rows and columns of the page grid (SVF MPL, SHF MPP, PAGESIZE).
    pub rows: Option<usize>,
    pub columns: Option<usize>,
}

/// A page of positioned rows: `lines[r]` is row `r + 1`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub number: usize,
    pub lines: Vec<Line>,
    /// The physical page, when the spool says (SCS does; a plain text spool does not).
    pub format: PageFormat,
}

impl Page {
    /// The widest row, in characters (trailing blanks excluded).
    pub fn width(&self) -> usize {
        self.lines
            .iter()
            .map(|line| {
                line.chars
                    .iter()
                    .rposition(|&c| c != ' ')
                    .map_or(0, |p| p + 1)
            })
            .max()
            .unwrap_or(0)
    }

    /// Writes [`Page::text`] without building it first.
    pub fn write_text<W: io::Write>(&self, out: &mut W) -> io::Result<()> {
        let last_row = self
            .lines
            .iter()
            .rposition(|line| line.chars.iter().any(|&c| c != ' '));
        let Some(last_row) = last_row else {
            return Ok(());
        };
        let mut bytes = Vec::with_capacity(256);
        let mut buf = [0u8; 4];
        for (index, line) in self.lines[..=last_row].iter().enumerate() {
            bytes.clear();
            if index > 0 {
                bytes.push(b'\n');
            }
            let end = line
                .chars
                .iter()
                .rposition(|&c| c != ' ')
                .map_or(0, |p| p + 1);
            for &ch in &line.chars[..end] {
                if ch.is_ascii() {
                    bytes.push(ch as u8);
                } else {
                    bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            out.write_all(&bytes)?;
        }
        Ok(())
    }

    /// The page as text, laid out: one row per line, trailing blank rows dropped.
    pub fn text(&self) -> String {
        let mut rows: Vec<String> = self.lines.iter().map(Line::text).collect();
        while rows.last().is_some_and(|row| row.is_empty()) {
            rows.pop();
        }
        rows.join("\n")
    }
}

struct PageBuilder<'a, F> {
    layout: &'a SpoolLayout,
    page: Page,
    /// The current row, 1-based; 0 = before the first row.
    row: usize,
    has_content: bool,
    pages: usize,
    on_page: F,
}

impl<F: FnMut(&Page) -> io::Result<()>> PageBuilder<'_, F> {
    fn break_page(&mut self) -> io::Result<()> {
        if self.has_content {
            self.pages += 1;
            self.page.number = self.pages;
            (self.on_page)(&self.page)?;
            // Rows keep their buffers for the next page: blank rows print nothing.
            for line in &mut self.page.lines {
                line.chars.clear();
                line.flags.clear();
            }
            self.has_content = false;
        }
        self.row = 0;
        Ok(())
    }

    fn advance(&mut self, rows: usize) -> io::Result<()> {
        self.row += rows;
        if self.row > self.layout.lines_per_page {
            self.break_page()?;
            self.row = 1;
        }
        Ok(())
    }

    fn put(&mut self, text: &[char]) {
        if self.row == 0 {
            self.row = 1;
        }
        if self.page.lines.len() < self.row {
            self.page.lines.resize_with(self.row, Line::default);
        }
        if text.iter().any(|&c| c != ' ') {
            self.has_content = true;
        }
        self.page.lines[self.row - 1].overlay(text);
    }

    fn record(&mut self, chars: &[char]) -> io::Result<()> {
        match self.layout.control {
            CarriageControl::None => {
                self.advance(1)?;
                self.put(chars);
            }
            CarriageControl::Fcfc => {
                let (control, text) = match chars.split_first() {
                    Some((control, text)) => (*control, text),
                    None => (' ', chars),
                };
                match control {
                    '1' => {
                        self.break_page()?;
                        self.row = 1;
                    }
                    '+' => {}
                    '0' => self.advance(2)?,
                    '-' => self.advance(3)?,
                    _ => self.advance(1)?,
                }
                self.put(text);
            }
        }
        Ok(())
    }
}

/// Reads the next record into `record` (without its line end). Returns `Ok(false)` at the end.
fn read_record<R: BufRead>(
    reader: &mut R,
    layout: &SpoolLayout,
    record: &mut Vec<u8>,
    index: u64,
) -> Result<bool, SpoolError> {
    record.clear();
    if let Some(length) = layout.record_length {
        while record.len() < length {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                break;
            }
            let take = available.len().min(length - record.len());
            record.extend_from_slice(&available[..take]);
            reader.consume(take);
        }
        return Ok(!record.is_empty());
    }
    let ebcdic = layout.charset.is_ebcdic();
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(!record.is_empty());
        }
        let end = if ebcdic {
            memchr::memchr2(0x25, 0x15, available)
        } else {
            memchr::memchr(b'\n', available)
        };
        let take = end.unwrap_or(available.len());
        if record.len() + take > MAX_LINE_BYTES {
            return Err(SpoolError::LineTooLong { record: index + 1 });
        }
        record.extend_from_slice(&available[..take]);
        match end {
            Some(_) => {
                reader.consume(take + 1);
                if record.last() == Some(&0x0D) {
                    record.pop();
                }
                return Ok(true);
            }
            None => reader.consume(take),
        }
    }
}

/// Reads a line spool and calls `on_page` for every page, in order. Returns the page count.
pub fn paginate<R: BufRead>(
    mut reader: R,
    layout: &SpoolLayout,
    on_page: impl FnMut(&Page) -> io::Result<()>,
) -> Result<usize, SpoolError> {
    let mut builder = PageBuilder {
        layout,
        page: Page::default(),
        row: 0,
        has_content: false,
        pages: 0,
        on_page,
    };
    let mut record = Vec::with_capacity(512);
    let mut text = String::with_capacity(512);
    let mut chars: Vec<char> = Vec::with_capacity(512);
    let mut index = 0u64;
    while read_record(&mut reader, layout, &mut record, index)? {
        // A form feed anywhere starts a new page; what follows it is the next record.
        let has_form_feed = record.contains(&0x0C);
        for (piece_index, piece) in record.split(|&b| b == 0x0C).enumerate() {
            if piece_index > 0 {
                builder.break_page()?;
            }
            if piece.is_empty() && has_form_feed {
                continue;
            }
            chars.clear();
            if !layout.charset.is_ebcdic() && piece.is_ascii() {
                // ASCII is the same in UTF-8 and Windows-1252: no decoding to do.
                for &byte in piece {
                    match byte {
                        b'\t' => {
                            let next_stop = (chars.len() / 8 + 1) * 8;
                            chars.resize(next_stop, ' ');
                        }
                        0..=0x1F | 0x7F => chars.push(' '),
                        _ => chars.push(char::from(byte)),
                    }
                }
                builder.record(&chars)?;
                continue;
            }
            text.clear();
            layout.charset.decode_into(piece, &mut text);
            for ch in text.chars() {
                match ch {
                    '\t' => {
                        let next_stop = (chars.len() / 8 + 1) * 8;
                        chars.resize(next_stop, ' ');
                    }
                    '\u{FEFF}' if index == 0 && chars.is_empty() => {}
                    c if c.is_control() => chars.push(' '),
                    c => chars.push(c),
                }
            }
            builder.record(&chars)?;
        }
        index += 1;
    }
    builder.break_page()?;
    Ok(builder.pages)
}

/// Whether lines look like FCFC: every line starts with a valid control, and the first is `1`.
pub fn looks_fcfc(lines: &[&str]) -> bool {
    let mut lines = lines.iter().filter(|line| !line.is_empty()).peekable();
    if !lines.peek().is_some_and(|first| first.starts_with('1')) {
        return false;
    }
    lines.all(|line| {
        line.chars()
            .next()
            .is_some_and(|c| matches!(c, ' ' | '0' | '-' | '+' | '1'..='9' | 'A'..='C'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages_of(input: &[u8], layout: &SpoolLayout) -> Vec<Page> {
        let mut pages = Vec::new();
        paginate(input, layout, |page| {
            pages.push(page.clone());
            Ok(())
        })
        .unwrap();
        pages
    }

    #[test]
    fn fcfc_controls_space_skip_and_overprint() {
        let input =
            "1ACME SARL\r\n0N° facture : FA-1\r\n Date\r\n+____\r\n-Total\r\n1Page deux\r\n";
        let layout = SpoolLayout {
            control: CarriageControl::Fcfc,
            ..SpoolLayout::default()
        };
        let pages = pages_of(input.as_bytes(), &layout);
        assert_eq!(pages.len(), 2);
        assert_eq!(
            pages[0].text(),
            "ACME SARL\n\nN° facture : FA-1\nDate\n\n\nTotal"
        );
        assert_eq!(pages[0].lines[3].flags[..4], [UNDERLINE; 4]);
        assert_eq!(pages[1].text(), "Page deux");
    }

    #[test]
    fn same_character_overprint_is_bold() {
        let layout = SpoolLayout {
            control: CarriageControl::Fcfc,
            ..SpoolLayout::default()
        };
        let pages = pages_of(b"1TOTAL\n+TOTAL\n", &layout);
        assert_eq!(pages[0].lines[0].flags, vec![BOLD; 5]);
        assert_eq!(pages[0].text(), "TOTAL");
    }

    #[test]
    fn form_feeds_and_overflow_make_pages() {
        let layout = SpoolLayout {
            lines_per_page: 3,
            ..SpoolLayout::default()
        };
        let pages = pages_of(b"a\nb\nc\nd\n\x0ce\n\x0c", &layout);
        let texts: Vec<String> = pages.iter().map(Page::text).collect();
        assert_eq!(texts, ["a\nb\nc", "d", "e"]);
    }

    #[test]
    fn fixed_length_ebcdic_records_without_line_ends() {
        // "AB" and "CD" in CCSID 37, 4-byte records padded with EBCDIC blanks.
        let layout = SpoolLayout {
            charset: Charset::Ebcdic(37),
            record_length: Some(4),
            ..SpoolLayout::default()
        };
        let pages = pages_of(&[0xC1, 0xC2, 0x40, 0x40, 0xC3, 0xC4, 0x40, 0x40], &layout);
        assert_eq!(pages[0].text(), "AB\nCD");
    }

    #[test]
    fn a_line_without_end_is_refused_not_buffered() {
        let input = vec![b'x'; MAX_LINE_BYTES * 3];
        let result = paginate(&input[..], &SpoolLayout::default(), |_| Ok(()));
        assert!(matches!(result, Err(SpoolError::LineTooLong { record: 1 })));
    }

    #[test]
    fn fcfc_detection() {
        assert!(looks_fcfc(&["1ACME", " Date", "0Total", "+___"]));
        assert!(!looks_fcfc(&["ACME SARL", "1 x"]));
        assert!(!looks_fcfc(&["1ACME", "Date"]));
    }
}
