//! SCS (SNA Character String, the default data type of IBM i printer files) → pages of the
//! shared page model ([`Page`]: rows of cells with [`BOLD`]/[`UNDERLINE`] flags, plus the
//! physical [`PageFormat`]).
//!
//! # Model
//!
//! A streaming interpreter: bytes are read from a [`BufRead`] with `fill_buf`/`consume`, one
//! page of cells plus a few hundred bytes of state are held, and every finished page goes to
//! the caller's `on_page` before the next one starts. Memory does not grow with the number
//! of pages. Multi-byte controls (`2B` escapes, TRN, PP) are read piecewise, so a control cut
//! by a buffer boundary is read whole; a control cut by the end of the input ends the stream
//! with a warning.
//!
//! State (notes §2.4): the print position `row`/`col` (1-based, absolute print positions
//! as SCS counts them), the horizontal format (SHF: maximum presentation position MPP, left
//! margin LM, right margin, tab stops), the vertical format (SVF: maximum presentation line
//! MPL, top and bottom margins, vertical tabs), pitch (cpi) and line density (lpi), line
//! spacing (SLS), the code page, the attributes bold/underline, and the physical page (SPPS
//! paper, STO rotation, SHM/SVM margins).
//!
//! A page's grid: `page.lines[r - 1]` is row `r`, `line.chars[c - LM]` is column `c`, where LM
//! is the SHF left margin in force when the page's first character was placed (1 unless SHF
//! says otherwise). [`PageFormat::margin_left`] holds SHM plus `LM − 1` columns, so a renderer
//! that places `chars[0]` at `margin_left` puts every character where the printer would.
//!
//! # Controls
//!
//! Graphic bytes (`0x40`–`0xFE`) are decoded with the code page in force and placed at the
//! print position, which then moves one column right. `0x41` (RSP, required space) and `0xFF`
//! (undefined) print a blank. `0xCA` (SHY, syllable hyphen) prints `-` when a line end
//! follows and nothing otherwise, so hyphenation points don't cut words for the rules.
//! `0xE1` (NSP in old SCS) is `÷` in every CECP code page shipped here, which is what IBM i
//! sends it for, so it prints `÷`.
//!
//! Single-byte and fixed-length controls (notes §2.2):
//!
//! | Control | Action here |
//! |---|---|
//! | NL `15`, IRS `1E`, IR `33` | down the line spacing (SLS, 1 line by default), column = indent or LM |
//! | RNL `06` | the same, and the indent (IT/SIL) is released |
//! | LF `25` | down the line spacing, same column |
//! | CR `0D` | column = indent or LM, same line: the overprint mechanism |
//! | BS `16`, UBS `1A`, NBS/EBS `36` | column − 1 (overstrike) |
//! | HT `05` | next horizontal tab stop (SHF/STAB); none → one column |
//! | IT `39` | HT, then the new column becomes the indent |
//! | VT `0B` | next vertical tab stop (SVF); none set → LF; none below → first stop of the next page |
//! | VCS `04 vv` | to the line of channel `vv` (the n-th SVF tab); channel 1 without tab = FF; else LF |
//! | FF `0C`, RFF `3A` | end of page; RFF also releases the indent |
//! | PP `34 C0 nn` AHPP / `34 C8 nn` RHPP | column = nn / column += nn |
//! | PP `34 C4 nn` AVPP / `34 4C nn` RVPP | line = nn (upwards or beyond MPL: next page) / line += nn |
//! | TRN `35 nn data` | the data bytes are graphics, even below `0x40` (which have no glyph: U+FFFD) |
//! | GE `08 cc` | an APL/alternate-set character: U+FFFD |
//! | SUB `3F` | U+FFFD (the host could not map a character, e.g. `€` in CCSID 297) |
//! | WUS `23` | underlines the word just before the print position |
//! | INP `24` / ENP `14` | inhibit / enable presentation: positions move, nothing is printed |
//! | SO `0E` / SI `0F` | DBCS on/off: DBCS pairs print U+FFFD over two columns (no DBCS tables) |
//! | ATRN `03 nn data` | raw ASCII printer bytes (host print transform pass-through): skipped |
//! | SA `28 tt vv` | 3270 attribute: skipped |
//! | NUL `00`, RPT `0A`, SW `2A`, BEL `2F` | ignored |
//! | SPS `09`, SBS `38` | super/subscript: the characters stay on their row (a grid has no half lines) |
//!
//! `2B cc LL p…` escapes are LL + 2 bytes long (LL counts itself; LL = 0 is read as 1), so
//! one that is unknown is skipped whole and the stream never loses sync:
//!
//! | Escape | Action here |
//! |---|---|
//! | SHF `2B C1` MPP LM RM tabs | grid width, left margin (columns), horizontal tabs |
//! | SVF `2B C2` MPL TM BM tabs | lines per page, top/bottom margin lines, vertical tabs (channels) |
//! | SLD `2B C6` ld | line density: `72 / ld` lpi |
//! | SSLD `2B D2 15` dddd | line density: `1440 / dddd` lpi |
//! | SLS `2B D2 09` ls | line spacing in half lines per NL/LF (two half lines = one row) |
//! | SCD/SPD `2B D2 29` cp | pitch in cpi (`FF` = default 10) |
//! | SFG `2B D1 05` FGID width | pitch `1440 / width` cpi (width 0: from the FGID) |
//! | SCG `2B D1 01` GCSGID CPGID | code page (see below) |
//! | SPPS `2B D2 40` width depth | paper size in 1/1440 in |
//! | STO `2B D3 F6` char page | page rotation: 90°/270°/COR = landscape, `FFFF` = from SPPS |
//! | SHM `2B D2 11` left | left margin in 1/1440 in from the paper edge |
//! | SVM `2B D2 49` top | top margin in 1/1440 in, taken as the top of row 1 |
//! | STAB `2B D2 01` ff tabs | horizontal tabs relative to LM, in columns (ff 0) or 1/1440 in (ff 1) |
//! | SIL `2B D2 07` il | indent at column il |
//! | BES/EES `2B D1 8A/8E` | bold on/off |
//! | BUS/EUS `2B D4 0A/0E` | underline on/off (blanks included, as printers do) |
//!
//! Read and deliberately ignored, without a warning: SGEA (graphic error action: SUB is
//! rendered anyway), SCGL (local character set id: the CCSID comes from SCG or the options),
//! SFFC (form count), PPM (drawers, duplex: paper handling), RLM, JTF/SJM (justification is
//! already applied by the host's positioning), SIC (device defaults, reset by the setup
//! escapes that follow it), SPSU/SEA (printer setup, exception action), BOS/EOS (overstrike
//! with a character: a strike-through, not text), SFSS/SPCC (font scaling, SO/SI
//! presentation), LAC (alternate characters). Unknown single-byte controls and unknown
//! escapes are skipped with one warning per kind (the summary counts repeats).
//!
//! # Overprint
//!
//! A cell written twice follows `spool::Line::overlay`: a blank keeps what is under it, `_`
//! underlines it, the same character makes it bold, anything over a blank or `_` replaces it,
//! and of two different characters the first is kept (text extraction wants one). A cell
//! written once keeps its character, `_` included.
//!
//! # Code page
//!
//! In order: the side-car CCSID (the spool's own attributes), else the CPGID of an SCG when
//! we have its table (an SCG mid-stream changes the code page from there on), else the
//! source's configured CCSID, else the GCSGID of an SCG whose CPGID is unknown when *that* is
//! a code page we have (JTOpen's `setCodePage` with swapped arguments writes GCSGID 297 /
//! CPGID 697), else 037.
//!
//! # Pages
//!
//! FF/RFF end a page. A page with nothing printed on it is not delivered: a leading FF before
//! any data (IBM i streams often start that way) and FF FF make no blank page unless
//! [`ScsOptions::keep_blank_pages`] is set, in which case FF on an empty page after the
//! first page delivers a blank page (a leading FF never does). AVPP to a line above the
//! current one, AVPP/VT beyond MPL, and NL/LF/RVPP past the bottom margin (SVF BM, else MPL)
//! start a new page. MPL is SVF's, else the SPPS depth × lpi, else the fallback's rows,
//! else 66.
//!
//! # Geometry ([`PageFormat`], fixed at a page's first character)
//!
//! cpi from SCD/SPD or SFG (else the fallback's, else 10), lpi from SLD/SSLD (else the
//! fallback's, else 6), paper from SPPS (else the fallback's, else `None`: the PDF writer
//! then makes a page that holds the grid and its margins), landscape from STO (90°, 270°,
//! COR) or SPPS wider than deep (else the fallback's), `margin_left` = SHM (else the
//! fallback's) + (LM − 1) columns, `margin_top` = SVM (else the fallback's), `rows` = MPL as
//! above, `columns` = SHF MPP, else SPPS width × cpi, else the fallback's, else 132. There is no automatic new line at MPP: JTOpen's 132-column report prints 135
//! columns on one row, and so do we.
//!
//! # Bounds
//!
//! Rows and columns are capped at [`MAX_ROWS`]/[`MAX_COLUMNS`]: characters beyond them are
//! dropped with a warning; nothing in the input sizes an allocation. Warnings are kept once
//! per kind (at most [`MAX_WARNING_KINDS`] kinds), with a repeat count.

use std::collections::HashMap;
use std::io::{self, BufRead};

use thiserror::Error;

use crate::ebcdic_tables;
use crate::spool::{Line, Page, PageFormat, BOLD, UNDERLINE};

/// Rows beyond this on a page are dropped (with a warning).
pub const MAX_ROWS: usize = 1000;
/// Columns beyond this on a row are dropped (with a warning).
pub const MAX_COLUMNS: usize = 1000;
/// Distinct kinds of warnings kept in a summary.
pub const MAX_WARNING_KINDS: usize = 64;
/// The code page when nothing says otherwise (US/Canada, IBM i's default).
pub const DEFAULT_CCSID: u16 = 37;

const DEFAULT_CPI: f32 = 10.0;
const DEFAULT_LPI: f32 = 6.0;
const DEFAULT_ROWS: usize = 66;
const DEFAULT_COLUMNS: usize = 132;
/// Set on a cell while its page is built: the cell has been written. Cleared before delivery.
const WRITTEN: u8 = 0x80;

/// What the caller knows about a spool besides its bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScsOptions {
    /// CCSID from the spool's own attributes (side-car): wins over everything.
    pub sidecar_ccsid: Option<u16>,
    /// CCSID configured for the source (output queue, folder): used when the stream has no
    /// usable SCG.
    pub source_ccsid: Option<u16>,
    /// Page size, cpi, lpi, margins from the side-car or the configuration, for what the
    /// stream does not set.
    pub fallback: PageFormat,
    /// Deliver the blank page of `FF FF` (never a leading FF's).
    pub keep_blank_pages: bool,
}

/// Where the code page came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CcsidOrigin {
    Sidecar,
    Scg,
    Source,
    Default,
}

/// What an interpretation found.
#[derive(Debug, Clone, PartialEq)]
pub struct ScsSummary {
    pub pages: usize,
    /// The code page the first character was decoded with (the one in force at the end when
    /// nothing was printed).
    pub ccsid: u16,
    pub ccsid_origin: CcsidOrigin,
    /// One line per kind of oddity (truncated control, unknown escape, dropped cells…),
    /// `(×N)` when it happened N times.
    pub warnings: Vec<String>,
    /// Bytes read.
    pub bytes: u64,
}

#[derive(Debug, Error)]
pub enum ScsError {
    /// Reading the input or delivering a page failed. Bad input is never an error: it ends
    /// in warnings.
    #[error("i/o error while interpreting SCS: {0}")]
    Io(#[from] io::Error),
}

/// Whether the first bytes of a document look like SCS: the same test as
/// [`detect`](crate::detect::detect) (EBCDIC text with controls, and an SCS `2B` escape).
pub fn looks_scs(head: &[u8]) -> bool {
    matches!(
        crate::detect::detect(
            head,
            head.len() as u64,
            &crate::detect::SpoolHints::default()
        ),
        Ok(crate::detect::Format::Scs)
    )
}

/// Interprets an SCS stream, calling `on_page` with every page in order.
pub fn interpret<R: BufRead>(
    reader: R,
    options: &ScsOptions,
    on_page: impl FnMut(&Page) -> io::Result<()>,
) -> Result<ScsSummary, ScsError> {
    let mut input = Input {
        reader,
        offset: 0,
        params: Vec::with_capacity(256),
    };
    let mut state = State::new(options, on_page);
    loop {
        let available = input.fill()?;
        let Some(&first) = available.first() else {
            break;
        };
        if state.fast_graphic(first) {
            let run = available
                .iter()
                .take_while(|&&byte| state.fast_graphic(byte))
                .count();
            for &byte in &available[..run] {
                state.graphic(byte);
            }
            input.consume(run);
        } else {
            let at = input.offset;
            input.consume(1);
            if !state.control(first, at, &mut input)? {
                break;
            }
        }
    }
    state.end_page(PageEnd::Eof)?;
    Ok(state.summary(input.offset))
}

/// The input, read piecewise.
struct Input<R> {
    reader: R,
    offset: u64,
    /// Parameters of the control being read (at most 255 bytes).
    params: Vec<u8>,
}

/// `fill_buf`, retrying when interrupted.
fn fill<R: BufRead>(reader: &mut R) -> io::Result<&[u8]> {
    let mut tries = 0;
    loop {
        match reader.fill_buf() {
            Err(error) if error.kind() == io::ErrorKind::Interrupted && tries < 100 => {
                tries += 1;
            }
            _ => break,
        }
    }
    reader.fill_buf()
}

impl<R: BufRead> Input<R> {
    fn fill(&mut self) -> io::Result<&[u8]> {
        fill(&mut self.reader)
    }

    fn consume(&mut self, count: usize) {
        self.reader.consume(count);
        self.offset += count as u64;
    }

    fn next(&mut self) -> io::Result<Option<u8>> {
        let byte = self.fill()?.first().copied();
        if byte.is_some() {
            self.consume(1);
        }
        Ok(byte)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.fill()?.first().copied())
    }

    /// Reads `count` bytes into `params`; `false` when the input ends first.
    fn read_params(&mut self, count: usize) -> io::Result<bool> {
        self.params.clear();
        while self.params.len() < count {
            let need = count - self.params.len();
            let available = fill(&mut self.reader)?;
            if available.is_empty() {
                return Ok(false);
            }
            let take = available.len().min(need);
            self.params.extend_from_slice(&available[..take]);
            self.consume(take);
        }
        Ok(true)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageEnd {
    /// FF/RFF: a blank page may be kept.
    FormFeed,
    /// Positioning past the page: never a blank page.
    Overflow,
    Eof,
}

/// Warnings, one per kind, with a count.
#[derive(Default)]
struct Warnings {
    order: Vec<u32>,
    by_kind: HashMap<u32, (String, usize)>,
    dropped: usize,
}

impl Warnings {
    fn add(&mut self, kind: u32, message: impl FnOnce() -> String) {
        if let Some(entry) = self.by_kind.get_mut(&kind) {
            entry.1 += 1;
            return;
        }
        if self.order.len() >= MAX_WARNING_KINDS {
            self.dropped += 1;
            return;
        }
        self.order.push(kind);
        self.by_kind.insert(kind, (message(), 1));
    }

    fn list(&self) -> Vec<String> {
        let mut list: Vec<String> = self
            .order
            .iter()
            .filter_map(|kind| self.by_kind.get(kind))
            .map(|(message, count)| {
                if *count > 1 {
                    format!("{message} (×{count})")
                } else {
                    message.clone()
                }
            })
            .collect();
        if self.dropped > 0 {
            list.push(format!("{} more warnings of other kinds", self.dropped));
        }
        list
    }
}

// Warning kinds: a category in the high half, a code in the low half.
const W_TRUNCATED: u32 = 1 << 16;
const W_UNKNOWN_CONTROL: u32 = 2 << 16;
const W_UNKNOWN_ESCAPE: u32 = 3 << 16;
const W_BAD_ESCAPE: u32 = 4 << 16;
const W_COLUMNS: u32 = 5 << 16;
const W_ROWS: u32 = 6 << 16;
const W_CCSID: u32 = 7 << 16;
const W_SCG: u32 = 8 << 16;
const W_DBCS: u32 = 9 << 16;
const W_ATRN: u32 = 10 << 16;
const W_POSITION: u32 = 11 << 16;
const W_LEFT_OF_MARGIN: u32 = 12 << 16;
const W_BEYOND_MPP: u32 = 13 << 16;
const W_BAD_PARAMETER: u32 = 14 << 16;

fn u16_at(params: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*params.get(at)?, *params.get(at + 1)?]))
}

/// Pitch of an FGID when SFG gives no width (JTOpen's font list, notes' FGID table).
fn fgid_cpi(fgid: u16) -> Option<f32> {
    Some(match fgid {
        3 | 5 | 11 | 12 | 18 | 19 | 38..=43 | 46 => 10.0,
        66 | 68..=72 | 84..=87 | 91 | 110..=112 => 12.0,
        204 => 13.3,
        221 | 223 | 229 | 230 => 15.0,
        244 | 245 => 5.0,
        252 | 253 => 17.1,
        281 => 20.0,
        290 => 26.7,
        _ => return None,
    })
}

/// SCD/SPD character distance → cpi.
fn scd_cpi(value: u16) -> Option<f32> {
    Some(match value {
        0 | 0xFF => DEFAULT_CPI,
        0x0B => 12.0,
        13 => 13.3,
        16 | 17 => 16.7,
        1..=30 => f32::from(value),
        _ => return None,
    })
}

struct State<'o, F> {
    options: &'o ScsOptions,
    on_page: F,

    // Code page.
    table: &'static [char; 256],
    ccsid: u16,
    origin: CcsidOrigin,
    first_used: Option<(u16, CcsidOrigin)>,

    // Print position, 1-based absolute.
    row: usize,
    col: usize,

    // The page being built.
    page: Page,
    has_content: bool,
    /// The format and left margin in force at the page's first character.
    page_format: Option<PageFormat>,
    page_lm: usize,
    pages: usize,

    // Physical page.
    cpi: Option<f32>,
    lpi: Option<f32>,
    paper: Option<(f32, f32)>,
    /// STO page rotation in degrees; `None` = not said or "derive from SPPS".
    rotation: Option<u16>,
    margin_left: Option<f32>,
    margin_top: Option<f32>,

    // Horizontal format (SHF, STAB).
    mpp: Option<usize>,
    lm: usize,
    htabs: Vec<usize>,
    indent: Option<usize>,

    // Vertical format (SVF).
    mpl: Option<usize>,
    tm: usize,
    bm: Option<usize>,
    vtabs: Vec<usize>,
    /// Half lines per NL/LF (SLS); 2 = single spacing.
    half_lines: usize,
    half_carry: usize,

    // Attributes.
    bold: bool,
    underline: bool,
    inhibit: bool,
    dbcs: bool,

    warnings: Warnings,
}

impl<'o, F: FnMut(&Page) -> io::Result<()>> State<'o, F> {
    fn new(options: &'o ScsOptions, on_page: F) -> Self {
        let mut warnings = Warnings::default();
        let mut chosen = None;
        for (ccsid, origin, what) in [
            (options.sidecar_ccsid, CcsidOrigin::Sidecar, "side-car"),
            (options.source_ccsid, CcsidOrigin::Source, "source"),
        ] {
            let Some(ccsid) = ccsid else { continue };
            match ebcdic_tables::table(ccsid) {
                Some(table) if chosen.is_none() => chosen = Some((table, ccsid, origin)),
                Some(_) => {}
                None => warnings.add(W_CCSID | u32::from(ccsid), || {
                    format!("{what} CCSID {ccsid} has no EBCDIC table here: ignored")
                }),
            }
        }
        let (table, ccsid, origin) = chosen.unwrap_or((
            &ebcdic_tables::CCSID_37,
            DEFAULT_CCSID,
            CcsidOrigin::Default,
        ));
        State {
            options,
            on_page,
            table,
            ccsid,
            origin,
            first_used: None,
            row: 1,
            col: 1,
            page: Page::default(),
            has_content: false,
            page_format: None,
            page_lm: 1,
            pages: 0,
            cpi: None,
            lpi: None,
            paper: None,
            rotation: None,
            margin_left: None,
            margin_top: None,
            mpp: None,
            lm: 1,
            htabs: Vec::new(),
            indent: None,
            mpl: None,
            tm: 1,
            bm: None,
            vtabs: Vec::new(),
            half_lines: 2,
            half_carry: 0,
            bold: false,
            underline: false,
            inhibit: false,
            dbcs: false,
            warnings,
        }
    }

    fn summary(&self, bytes: u64) -> ScsSummary {
        let (ccsid, ccsid_origin) = self.first_used.unwrap_or((self.ccsid, self.origin));
        ScsSummary {
            pages: self.pages,
            ccsid,
            ccsid_origin,
            warnings: self.warnings.list(),
            bytes,
        }
    }

    // ---- geometry -------------------------------------------------------------------

    fn cpi(&self) -> f32 {
        self.cpi
            .or(self.options.fallback.cpi)
            .filter(|cpi| cpi.is_finite() && *cpi > 0.0)
            .unwrap_or(DEFAULT_CPI)
    }

    fn lpi(&self) -> f32 {
        self.lpi
            .or(self.options.fallback.lpi)
            .filter(|lpi| lpi.is_finite() && *lpi > 0.0)
            .unwrap_or(DEFAULT_LPI)
    }

    fn landscape(&self) -> Option<bool> {
        match self.rotation {
            Some(90 | 270) => Some(true),
            Some(_) => Some(false),
            None => match self.paper {
                Some((width, depth)) => Some(width > depth),
                None => self.options.fallback.landscape,
            },
        }
    }

    /// The SPPS paper as the text runs on it (turned when landscape), in points.
    fn text_paper(&self) -> Option<(f32, f32)> {
        let (width, depth) = self.paper?;
        let turned = self.landscape() == Some(true) && width < depth;
        Some(if turned {
            (depth, width)
        } else {
            (width, depth)
        })
    }

    /// Lines per page: SVF MPL, else SPPS depth × lpi, else the fallback's rows, else 66.
    fn mpl(&self) -> usize {
        let rows = self
            .mpl
            .or_else(|| {
                self.text_paper()
                    .map(|(_, depth)| (depth / 72.0 * self.lpi()).floor() as usize)
                    .filter(|&rows| rows > 0)
            })
            .or(self.options.fallback.rows.filter(|&rows| rows > 0))
            .unwrap_or(DEFAULT_ROWS);
        rows.clamp(1, MAX_ROWS)
    }

    /// Columns of the grid: SHF MPP, else SPPS width × cpi, else the fallback's, else 132.
    fn columns(&self) -> usize {
        let columns = self
            .mpp
            .or_else(|| {
                self.text_paper()
                    .map(|(width, _)| (width / 72.0 * self.cpi()).floor() as usize)
                    .filter(|&columns| columns > 0)
            })
            .or(self.options.fallback.columns.filter(|&columns| columns > 0))
            .unwrap_or(DEFAULT_COLUMNS);
        columns.clamp(1, MAX_COLUMNS)
    }

    /// Where NL/LF past it start a new page.
    fn bottom(&self) -> usize {
        let mpl = self.mpl();
        self.bm
            .filter(|&bm| bm >= self.tm)
            .map_or(mpl, |bm| bm.min(mpl))
    }

    fn top(&self) -> usize {
        self.tm.clamp(1, self.mpl())
    }

    fn format(&self, page_lm: usize) -> PageFormat {
        let fallback = &self.options.fallback;
        let cpi = self.cpi();
        let lpi = self.lpi();
        // Without SPPS the paper is the fallback's, else the writer's choice: it holds the
        // `columns / cpi` × `rows / lpi` grid plus margins (the grid itself as the paper
        // would put column 1 on the paper's edge and clip a row longer than MPP).
        let paper = self.paper.or(fallback.paper);
        let lm_offset = (page_lm.saturating_sub(1)) as f32 * 72.0 / cpi;
        let margin_left = match self.margin_left.or(fallback.margin_left) {
            Some(margin) => Some(margin + lm_offset),
            None if page_lm > 1 => Some(lm_offset),
            None => None,
        };
        PageFormat {
            cpi: Some(cpi),
            lpi: Some(lpi),
            paper,
            landscape: self.landscape(),
            margin_left,
            margin_top: self.margin_top.or(fallback.margin_top),
            rows: Some(self.mpl()),
            columns: Some(self.columns()),
        }
    }

    // ---- pages ----------------------------------------------------------------------

    fn end_page(&mut self, why: PageEnd) -> io::Result<()> {
        let blank_kept =
            why == PageEnd::FormFeed && self.options.keep_blank_pages && self.pages > 0;
        if self.has_content || blank_kept {
            self.pages += 1;
            self.page.number = self.pages;
            self.page.format = match self.page_format.take() {
                Some(format) => format,
                None => self.format(self.lm),
            };
            for line in &mut self.page.lines {
                for flags in &mut line.flags {
                    *flags &= !WRITTEN;
                }
            }
            (self.on_page)(&self.page)?;
        }
        // Rows keep their buffers for the next page: blank rows print nothing.
        for line in &mut self.page.lines {
            line.chars.clear();
            line.flags.clear();
        }
        self.page.format = PageFormat::default();
        self.page_format = None;
        self.has_content = false;
        self.row = self.top();
        self.col = self.line_start();
        self.half_carry = 0;
        Ok(())
    }

    fn line_start(&self) -> usize {
        self.indent.unwrap_or(self.lm)
    }

    /// Moves down `rows` lines; past the bottom, the next page starts at its top.
    fn down(&mut self, rows: usize) -> io::Result<()> {
        let target = self.row.saturating_add(rows);
        if target > self.bottom() {
            let col = self.col;
            self.end_page(PageEnd::Overflow)?;
            self.col = col;
        } else {
            self.row = target;
        }
        Ok(())
    }

    /// NL, LF and friends: the SLS line spacing, in half lines.
    fn line_feed(&mut self) -> io::Result<()> {
        let half = self.half_carry + self.half_lines;
        self.half_carry = half % 2;
        self.down(half / 2)
    }

    fn new_line(&mut self) -> io::Result<()> {
        self.line_feed()?;
        self.col = self.line_start();
        Ok(())
    }

    /// To line `line` of this page, or of the next one when it is above (or `force_next`).
    fn move_to_line(&mut self, line: usize, at: u64, force_next: bool) -> io::Result<()> {
        let line = line.max(1);
        let mpl = self.mpl();
        if line > mpl {
            self.warnings.add(W_POSITION, || {
                format!("offset {at}: line {line} is beyond the page's {mpl} lines: next page")
            });
            let col = self.col;
            self.end_page(PageEnd::Overflow)?;
            self.col = col;
            return Ok(());
        }
        if line < self.row || force_next {
            let col = self.col;
            self.end_page(PageEnd::Overflow)?;
            self.col = col;
        }
        self.row = line;
        Ok(())
    }

    fn form_feed(&mut self) -> io::Result<()> {
        self.end_page(PageEnd::FormFeed)
    }

    // ---- cells ----------------------------------------------------------------------

    /// Places one character at the print position and moves one column right.
    fn put(&mut self, ch: char) {
        let col = self.col;
        self.col = self.col.saturating_add(1);
        if self.inhibit {
            return;
        }
        if col > MAX_COLUMNS {
            self.warnings.add(W_COLUMNS, || {
                format!("characters beyond column {MAX_COLUMNS} dropped")
            });
            return;
        }
        if self.row > MAX_ROWS {
            self.warnings.add(W_ROWS, || {
                format!("characters beyond row {MAX_ROWS} dropped")
            });
            return;
        }
        if let Some(mpp) = self.mpp {
            if col > mpp && ch != ' ' {
                self.warnings.add(W_BEYOND_MPP, || {
                    format!("text beyond the line length (SHF MPP {mpp}) kept on its row")
                });
            }
        }
        if self.page_format.is_none() {
            self.page_lm = self.lm;
            self.page_format = Some(self.format(self.lm));
        }
        if self.first_used.is_none() {
            self.first_used = Some((self.ccsid, self.origin));
        }
        let index = match col.checked_sub(self.page_lm) {
            Some(index) => index,
            None => {
                self.warnings.add(W_LEFT_OF_MARGIN, || {
                    "characters left of the page's left margin put at the margin".to_string()
                });
                0
            }
        };
        let mut add = 0;
        if self.underline {
            add |= UNDERLINE;
        }
        if self.bold && ch != ' ' {
            add |= BOLD;
        }
        if ch != ' ' {
            self.has_content = true;
        }
        if self.page.lines.len() < self.row {
            self.page.lines.resize_with(self.row, Line::default);
        }
        let line = &mut self.page.lines[self.row - 1];
        overlay_cell(line, index, ch, add);
    }

    /// Underlines the word just left of the print position (WUS).
    fn underline_word(&mut self) {
        let Some(line) = self.page.lines.get_mut(self.row.wrapping_sub(1)) else {
            return;
        };
        let Some(mut index) = self
            .col
            .checked_sub(self.page_lm)
            .and_then(|i| i.checked_sub(1))
        else {
            return;
        };
        while index < line.chars.len() && line.chars[index] != ' ' {
            line.flags[index] |= UNDERLINE;
            match index.checked_sub(1) {
                Some(previous) => index = previous,
                None => break,
            }
        }
    }

    fn decode(&self, byte: u8) -> char {
        match byte {
            0x41 | 0xFF => ' ',
            _ => {
                let ch = self.table[usize::from(byte)];
                if ch.is_control() {
                    '\u{FFFD}'
                } else {
                    ch
                }
            }
        }
    }

    /// A byte that the fast path can place without looking further.
    fn fast_graphic(&self, byte: u8) -> bool {
        byte >= 0x40 && byte != 0xCA && !self.dbcs
    }

    fn graphic(&mut self, byte: u8) {
        let ch = self.decode(byte);
        self.put(ch);
    }

    fn next_tab(&self, tabs: &[usize], from: usize) -> Option<usize> {
        tabs.iter().copied().find(|&tab| tab > from)
    }

    // ---- controls -------------------------------------------------------------------

    fn truncated(&mut self, what: &str, at: u64) {
        let message = format!("offset {at}: {what} cut short by the end of the input: ignored");
        self.warnings.add(W_TRUNCATED, || message);
    }

    /// Handles the control (or the non-fast graphic) `byte` read at `at`. `Ok(false)` ends the
    /// stream (a control cut by the end of the input).
    fn control<R: BufRead>(&mut self, byte: u8, at: u64, input: &mut Input<R>) -> io::Result<bool> {
        match byte {
            0x40..=0xFF if self.dbcs => {
                // DBCS: a pair of bytes, two columns.
                let second = input.peek()?;
                if second.is_some_and(|b| b >= 0x40) {
                    input.consume(1);
                }
                if byte == 0x40 && second == Some(0x40) {
                    self.put(' ');
                    self.put(' ');
                } else {
                    self.put('\u{FFFD}');
                    self.col = self.col.saturating_add(1);
                }
            }
            0xCA => {
                // SHY: a hyphen only at the end of a line.
                let next = input.peek()?;
                if matches!(
                    next,
                    None | Some(0x15 | 0x0D | 0x06 | 0x1E | 0x33 | 0x0C | 0x3A | 0x25)
                ) {
                    self.put('-');
                }
            }
            0x40..=0xFF => self.graphic(byte),
            0x00 | 0x0A | 0x2A | 0x2F | 0x09 | 0x38 => {}
            0x03 => {
                let Some(count) = input.next()? else {
                    self.truncated("ATRN", at);
                    return Ok(false);
                };
                if !input.read_params(usize::from(count))? {
                    self.truncated("ATRN", at);
                    return Ok(false);
                }
                self.warnings.add(W_ATRN, || {
                    format!("offset {at}: ASCII transparent data (ATRN) skipped")
                });
            }
            0x04 => {
                let Some(channel) = input.next()? else {
                    self.truncated("VCS", at);
                    return Ok(false);
                };
                self.channel(channel, at)?;
            }
            0x05 => self.tab(),
            0x39 => {
                self.tab();
                self.indent = Some(self.col);
            }
            0x06 => {
                self.indent = None;
                self.new_line()?;
            }
            0x08 => {
                if input.next()?.is_none() {
                    self.truncated("GE", at);
                    return Ok(false);
                }
                self.put('\u{FFFD}');
            }
            0x0B => self.vertical_tab(at)?,
            0x0C => self.form_feed()?,
            0x3A => {
                self.indent = None;
                self.form_feed()?;
            }
            0x0D => self.col = self.line_start(),
            0x0E => {
                self.dbcs = true;
                self.warnings.add(W_DBCS, || {
                    format!("offset {at}: DBCS data (SO/SI) shown as U+FFFD: no DBCS tables")
                });
            }
            0x0F => self.dbcs = false,
            0x14 => self.inhibit = false,
            0x24 => self.inhibit = true,
            0x15 | 0x1E | 0x33 => self.new_line()?,
            0x25 => self.line_feed()?,
            0x16 | 0x1A | 0x36 => self.col = self.col.saturating_sub(1).max(1),
            0x23 => self.underline_word(),
            0x28 => {
                if !input.read_params(2)? {
                    self.truncated("SA", at);
                    return Ok(false);
                }
            }
            0x2B => return self.escape(at, input),
            0x34 => {
                if !input.read_params(2)? {
                    self.truncated("PP", at);
                    return Ok(false);
                }
                let (kind, value) = (input.params[0], usize::from(input.params[1]));
                self.presentation_position(kind, value, at)?;
            }
            0x35 => {
                let Some(count) = input.next()? else {
                    self.truncated("TRN", at);
                    return Ok(false);
                };
                let complete = input.read_params(usize::from(count))?;
                for &byte in &input.params {
                    let ch = if byte < 0x40 {
                        '\u{FFFD}'
                    } else {
                        self.decode(byte)
                    };
                    self.put(ch);
                }
                if !complete {
                    self.truncated("TRN", at);
                    return Ok(false);
                }
            }
            0x3F => self.put('\u{FFFD}'),
            _ => {
                self.warnings.add(W_UNKNOWN_CONTROL | u32::from(byte), || {
                    format!("offset {at}: unknown control {byte:02X} ignored")
                });
            }
        }
        Ok(true)
    }

    fn tab(&mut self) {
        match self.next_tab(&self.htabs, self.col) {
            Some(tab) => self.col = tab,
            None => self.col = self.col.saturating_add(1),
        }
    }

    fn vertical_tab(&mut self, at: u64) -> io::Result<()> {
        let stops = self.vtabs.iter().copied().filter(|&line| line > 0);
        let below = stops.clone().filter(|&line| line > self.row).min();
        match (below, stops.min()) {
            (Some(line), _) => self.move_to_line(line, at, false),
            (None, Some(first)) => self.move_to_line(first, at, true),
            (None, None) => self.line_feed(),
        }
    }

    fn channel(&mut self, code: u8, at: u64) -> io::Result<()> {
        let channel = match code {
            0x81..=0x89 => usize::from(code - 0x80),
            0x7A..=0x7C => usize::from(code - 0x7A) + 10,
            _ => {
                self.warnings.add(W_BAD_PARAMETER | 0x04, || {
                    format!("offset {at}: VCS channel {code:02X} unknown: line feed")
                });
                return self.line_feed();
            }
        };
        match self
            .vtabs
            .get(channel - 1)
            .copied()
            .filter(|&line| line > 0)
        {
            Some(line) => self.move_to_line(line, at, line <= self.row),
            None if channel == 1 => self.form_feed(),
            None => self.line_feed(),
        }
    }

    fn presentation_position(&mut self, kind: u8, value: usize, at: u64) -> io::Result<()> {
        match kind {
            0xC0 => self.col = value.max(1),
            0xC8 => self.col = self.col.saturating_add(value),
            0xC4 => self.move_to_line(value, at, false)?,
            0x4C => self.down(value)?,
            _ => self.warnings.add(W_BAD_PARAMETER | 0x34, || {
                format!("offset {at}: presentation position {kind:02X} unknown: ignored")
            }),
        }
        Ok(())
    }

    /// `2B cc LL p…`.
    fn escape<R: BufRead>(&mut self, at: u64, input: &mut Input<R>) -> io::Result<bool> {
        let Some(class) = input.next()? else {
            self.truncated("escape 2B", at);
            return Ok(false);
        };
        let Some(mut length) = input.next()? else {
            self.truncated(&format!("escape 2B {class:02X}"), at);
            return Ok(false);
        };
        if length == 0 {
            self.warnings.add(W_BAD_ESCAPE, || {
                format!("offset {at}: escape 2B {class:02X} with length 0 read as 1")
            });
            length = 1;
        }
        if !input.read_params(usize::from(length) - 1)? {
            self.truncated(&format!("escape 2B {class:02X}"), at);
            return Ok(false);
        }
        let params = std::mem::take(&mut input.params);
        self.apply_escape(class, &params, at);
        input.params = params;
        Ok(true)
    }

    fn unknown_escape(&mut self, class: u8, function: Option<u8>, at: u64) {
        let code = (u32::from(class) << 8) | u32::from(function.unwrap_or(0));
        self.warnings.add(W_UNKNOWN_ESCAPE | code, || match function {
            Some(function) => {
                format!("offset {at}: unknown escape 2B {class:02X} function {function:02X} skipped")
            }
            None => format!("offset {at}: unknown escape 2B {class:02X} skipped"),
        });
    }

    fn bad_parameter(&mut self, name: &'static str, at: u64) {
        let code = name
            .bytes()
            .fold(0u32, |sum, b| sum.wrapping_add(u32::from(b)))
            & 0xFFFF;
        self.warnings.add(W_BAD_PARAMETER | code, || {
            format!("offset {at}: {name} with missing or invalid parameters ignored")
        });
    }

    fn apply_escape(&mut self, class: u8, params: &[u8], at: u64) {
        match class {
            0xC1 => self.set_horizontal_format(params),
            0xC2 => self.set_vertical_format(params),
            0xC6 => match params.first() {
                Some(&0) | None => self.lpi = Some(DEFAULT_LPI),
                Some(&ld) => self.lpi = Some(72.0 / f32::from(ld)),
            },
            0xC8 => {} // SGEA
            0xD1 | 0xD2 | 0xD3 | 0xD4 | 0xFD => {
                let Some((&function, rest)) = params.split_first() else {
                    self.bad_parameter("escape without function code", at);
                    return;
                };
                match (class, function) {
                    (0xD1, _) => self.escape_d1(function, rest, at),
                    (0xD2, _) => self.escape_d2(function, rest, at),
                    (0xD3, 0xF6) => self.set_text_orientation(rest, at),
                    (0xD4, 0x0A) => self.underline = true,
                    (0xD4, 0x0E) => self.underline = false,
                    (0xD4, 0x72 | 0x76) => {} // BOS/EOS
                    (0xFD, 0x02 | 0x03) => {} // SFSS/SPCC
                    _ => self.unknown_escape(class, Some(function), at),
                }
            }
            0xFE => {} // LAC
            _ => self.unknown_escape(class, None, at),
        }
    }

    fn escape_d1(&mut self, function: u8, rest: &[u8], at: u64) {
        match function {
            0x81 | 0x87 => {} // SCGL, SFFC
            0x01 => match (u16_at(rest, 0), u16_at(rest, 2)) {
                (Some(gcsgid), Some(cpgid)) => self.set_code_page(gcsgid, cpgid, at),
                _ => self.bad_parameter("SCG", at),
            },
            0x05 => {
                let width = u16_at(rest, 2).unwrap_or(0);
                let cpi = if width > 0 {
                    Some(1440.0 / f32::from(width))
                } else {
                    u16_at(rest, 0).and_then(fgid_cpi)
                };
                match cpi {
                    Some(cpi) => self.cpi = Some(cpi),
                    None => self.bad_parameter("SFG", at),
                }
            }
            0x8A => self.bold = true,
            0x8E => self.bold = false,
            _ => self.unknown_escape(0xD1, Some(function), at),
        }
    }

    fn escape_d2(&mut self, function: u8, rest: &[u8], at: u64) {
        match function {
            0x29 => {
                let value = match rest {
                    [high, low, ..] => u16::from_be_bytes([*high, *low]),
                    [only] => u16::from(*only),
                    [] => 0,
                };
                match scd_cpi(value) {
                    Some(cpi) => self.cpi = Some(cpi),
                    None => self.bad_parameter("SCD/SPD", at),
                }
            }
            0x15 => match u16_at(rest, 0) {
                Some(distance) if distance > 0 => self.lpi = Some(1440.0 / f32::from(distance)),
                _ => self.bad_parameter("SSLD", at),
            },
            0x09 => match rest.first() {
                Some(&ls) if ls > 0 => self.half_lines = usize::from(ls),
                Some(_) => self.half_lines = 2,
                None => self.bad_parameter("SLS", at),
            },
            0x40 => match (u16_at(rest, 0), u16_at(rest, 2)) {
                (Some(width), Some(depth)) if width > 0 && depth > 0 => {
                    self.paper = Some((f32::from(width) / 20.0, f32::from(depth) / 20.0));
                }
                _ => self.bad_parameter("SPPS", at),
            },
            0x11 => match u16_at(rest, 0) {
                Some(0xFFFF) => self.margin_left = None,
                Some(left) => self.margin_left = Some(f32::from(left) / 20.0),
                None => self.bad_parameter("SHM", at),
            },
            0x49 => match u16_at(rest, 0) {
                Some(0xFFFF) => self.margin_top = None,
                Some(top) => self.margin_top = Some(f32::from(top) / 20.0),
                None => self.bad_parameter("SVM", at),
            },
            0x01 => self.set_tabs(rest),
            0x07 => match rest.first() {
                Some(&0) => self.indent = None,
                Some(&level) => self.indent = Some(usize::from(level)),
                None => self.bad_parameter("SIL", at),
            },
            // PPM, RLM, JTF, SJM, SIC, SPSU, SEA
            0x48 | 0x0B | 0x03 | 0x0D | 0x45 | 0x4C | 0x85 => {}
            _ => self.unknown_escape(0xD2, Some(function), at),
        }
    }

    fn set_horizontal_format(&mut self, params: &[u8]) {
        self.mpp = params
            .first()
            .filter(|&&mpp| mpp > 0)
            .map(|&mpp| usize::from(mpp));
        self.lm = params
            .get(1)
            .filter(|&&lm| lm > 0)
            .map_or(1, |&lm| usize::from(lm));
        self.htabs = params
            .get(3..)
            .unwrap_or(&[])
            .iter()
            .filter(|&&tab| tab > 0)
            .map(|&tab| usize::from(tab))
            .collect();
        self.htabs.sort_unstable();
        self.htabs.dedup();
        if self.col < self.lm {
            self.col = self.lm;
        }
    }

    fn set_vertical_format(&mut self, params: &[u8]) {
        self.mpl = params
            .first()
            .filter(|&&mpl| mpl > 0)
            .map(|&mpl| usize::from(mpl));
        self.tm = params
            .get(1)
            .filter(|&&tm| tm > 0)
            .map_or(1, |&tm| usize::from(tm));
        self.bm = params
            .get(2)
            .filter(|&&bm| bm > 0)
            .map(|&bm| usize::from(bm));
        // Channel n is the n-th stop, so the order is kept as sent (VT sorts when it looks).
        self.vtabs = params
            .get(3..)
            .unwrap_or(&[])
            .iter()
            .map(|&tab| usize::from(tab))
            .collect();
        if self.row < self.tm {
            self.row = self.tm;
        }
    }

    /// STAB: `ff` then 3-byte stops (alignment, position) relative to the left margin.
    fn set_tabs(&mut self, rest: &[u8]) {
        let Some((&format, stops)) = rest.split_first() else {
            return;
        };
        let cpi = self.cpi();
        let lm = self.lm;
        self.htabs = stops
            .chunks_exact(3)
            .filter_map(|stop| {
                let value = u16::from_be_bytes([stop[1], stop[2]]);
                let offset = if format == 0x01 {
                    (f32::from(value) * cpi / 1440.0).round() as usize
                } else {
                    usize::from(value).checked_sub(1)?
                };
                Some(lm + offset)
            })
            .filter(|&tab| tab <= MAX_COLUMNS)
            .collect();
        self.htabs.sort_unstable();
        self.htabs.dedup();
    }

    fn set_text_orientation(&mut self, rest: &[u8], at: u64) {
        match u16_at(rest, 2) {
            Some(0xFFFF) => self.rotation = None,
            Some(0xFFFE) => self.rotation = Some(90), // COR: turned and reduced
            Some(value) if value.is_multiple_of(128) && value / 128 < 360 => {
                self.rotation = Some(value / 128);
            }
            _ => self.bad_parameter("STO", at),
        }
    }

    fn set_code_page(&mut self, gcsgid: u16, cpgid: u16, at: u64) {
        if self.origin == CcsidOrigin::Sidecar {
            if cpgid != self.ccsid && ebcdic_tables::table(cpgid).is_some() {
                let ccsid = self.ccsid;
                self.warnings.add(W_SCG | u32::from(cpgid), || {
                    format!("offset {at}: SCG code page {cpgid} overridden by the side-car CCSID {ccsid}")
                });
            }
            return;
        }
        if let Some(table) = ebcdic_tables::table(cpgid) {
            self.table = table;
            self.ccsid = cpgid;
            self.origin = CcsidOrigin::Scg;
            return;
        }
        let swapped = ebcdic_tables::table(gcsgid).filter(|_| self.origin == CcsidOrigin::Default);
        let current = self.ccsid;
        match swapped {
            Some(table) => {
                self.table = table;
                self.ccsid = gcsgid;
                self.origin = CcsidOrigin::Scg;
                self.warnings.add(W_SCG | u32::from(cpgid), || {
                    format!("offset {at}: SCG code page {cpgid} unknown; its GCSGID {gcsgid} is a code page (swapped SCG): using {gcsgid}")
                });
            }
            None => self.warnings.add(W_SCG | u32::from(cpgid), || {
                format!("offset {at}: SCG code page {cpgid} (GCSGID {gcsgid}) unknown: keeping CCSID {current}")
            }),
        }
    }
}

/// Writes `ch` over the cell `index` of `line` (the rules of `spool::Line::overlay`, one cell;
/// a cell never written before just takes `ch`) and adds `add` to its flags.
fn overlay_cell(line: &mut Line, index: usize, ch: char, add: u8) {
    if index == line.chars.len() {
        // Printing left to right: the common case, one cell more.
        line.chars.push(ch);
        line.flags.push(WRITTEN | add);
        return;
    }
    if line.chars.len() <= index {
        if line.chars.capacity() <= index {
            // A print line is up to 198 columns: grow once, not a column at a time.
            let room = (index + 1).max(200) - line.chars.len();
            line.chars.reserve(room);
            line.flags.reserve(room);
        }
        line.chars.resize(index + 1, ' ');
        line.flags.resize(index + 1, 0);
    }
    let flags = &mut line.flags[index];
    let under = line.chars[index];
    if *flags & WRITTEN == 0 {
        line.chars[index] = ch;
        *flags = WRITTEN | add;
        return;
    }
    *flags |= add;
    if ch == ' ' {
        return;
    }
    if ch == '_' && under != '_' {
        *flags |= UNDERLINE;
    } else if ch == under {
        *flags |= BOLD;
    } else if under == ' ' || under == '_' {
        if under == '_' {
            *flags |= UNDERLINE;
        }
        line.chars[index] = ch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text → CCSID 037 bytes (ASCII and Latin-1 letters that 037 has).
    fn e(text: &str) -> Vec<u8> {
        ebc(text, 37)
    }

    fn ebc(text: &str, ccsid: u16) -> Vec<u8> {
        let table = ebcdic_tables::table(ccsid).unwrap();
        text.chars()
            .map(|ch| {
                (0x40..=0xFEu8)
                    .find(|&b| table[usize::from(b)] == ch)
                    .unwrap_or_else(|| panic!("{ch:?} not in CCSID {ccsid}"))
            })
            .collect()
    }

    fn run(bytes: &[u8], options: &ScsOptions) -> (Vec<Page>, ScsSummary) {
        let mut pages = Vec::new();
        let summary = interpret(bytes, options, |page| {
            pages.push(page.clone());
            Ok(())
        })
        .unwrap();
        (pages, summary)
    }

    fn texts(bytes: &[u8]) -> Vec<String> {
        run(bytes, &ScsOptions::default())
            .0
            .iter()
            .map(Page::text)
            .collect()
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn graphics_new_lines_and_form_feeds() {
        let bytes = cat(&[
            b"\x0c",
            &e("AB"),
            b"\x15",
            &e("C"),
            b"\x0c\x0c",
            &e("D"),
            b"\x0c",
        ]);
        assert_eq!(texts(&bytes), ["AB\nC", "D"]);
    }

    #[test]
    fn blank_pages_are_kept_on_request_but_never_a_leading_one() {
        let bytes = cat(&[b"\x0c", &e("A"), b"\x0c\x0c", &e("B")]);
        let options = ScsOptions {
            keep_blank_pages: true,
            ..ScsOptions::default()
        };
        let (pages, _) = run(&bytes, &options);
        let texts: Vec<String> = pages.iter().map(Page::text).collect();
        assert_eq!(texts, ["A", "", "B"]);
        assert_eq!(pages[2].number, 3);
    }

    #[test]
    fn absolute_and_relative_positions() {
        // AHPP 10, RHPP 2, AVPP 5, RVPP 2.
        let bytes = cat(&[
            &e("A"),
            b"\x34\xC0\x0A",
            &e("B"),
            b"\x34\xC8\x02",
            &e("C"),
            b"\x34\xC4\x05",
            &e("D"),
            b"\x34\x4C\x02",
            &e("E"),
        ]);
        let pages = texts(&bytes);
        assert_eq!(
            pages,
            ["A        B  C\n\n\n\n             D\n\n              E"]
        );
    }

    #[test]
    fn avpp_upwards_starts_a_new_page() {
        let bytes = cat(&[b"\x34\xC4\x05", &e("X"), b"\x34\xC4\x02", &e("Y")]);
        assert_eq!(texts(&bytes), ["\n\n\n\nX", "\n Y"]);
    }

    #[test]
    fn avpp_beyond_the_page_starts_a_new_page() {
        // SVF: 10 lines per page.
        let bytes = cat(&[b"\x2B\xC2\x02\x0A", &e("X"), b"\x34\xC4\x0C", &e("Y")]);
        let (pages, summary) = run(&bytes, &ScsOptions::default());
        let texts: Vec<String> = pages.iter().map(Page::text).collect();
        assert_eq!(texts, ["X", " Y"]);
        assert!(
            summary.warnings[0].contains("beyond"),
            "{:?}",
            summary.warnings
        );
    }

    #[test]
    fn new_lines_past_the_last_line_overflow_to_the_next_page() {
        let mut bytes = b"\x2B\xC2\x02\x03".to_vec();
        for word in ["a", "b", "c", "d"] {
            bytes.extend(e(word));
            bytes.push(0x15);
        }
        assert_eq!(texts(&bytes), ["a\nb\nc", "d"]);
    }

    #[test]
    fn backspace_overprint_is_bold_and_underscore_overprint_underlines() {
        let bytes = cat(&[
            &e("AB"),
            b"\x16",
            &e("B"),
            b"\x0D",
            &e("_"),
            b"\x15",
            &e("_x"),
        ]);
        let (pages, _) = run(&bytes, &ScsOptions::default());
        let page = &pages[0];
        assert_eq!(page.text(), "AB\n_x");
        assert_eq!(page.lines[0].flags, [UNDERLINE, BOLD]);
        // A lone underscore stays a character.
        assert_eq!(page.lines[1].flags, [0, 0]);
    }

    #[test]
    fn cr_overprint_of_a_whole_line_with_the_same_text_is_bold() {
        let bytes = cat(&[&e("TOTAL"), b"\x0D", &e("TOTAL"), b"\x0D", &e("_____")]);
        let (pages, _) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages[0].text(), "TOTAL");
        assert_eq!(pages[0].lines[0].flags, [BOLD | UNDERLINE; 5]);
    }

    #[test]
    fn different_characters_keep_the_first_and_text_over_underscore_wins() {
        let bytes = cat(&[&e("A_"), b"\x0D", &e("BC")]);
        let (pages, _) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages[0].text(), "AC");
        assert_eq!(pages[0].lines[0].flags, [0, UNDERLINE]);
    }

    #[test]
    fn bus_eus_underline_and_bes_ees_bold() {
        let bytes = cat(&[
            b"\x2B\xD4\x03\x0A\x01",
            &e("a b"),
            b"\x2B\xD4\x02\x0E",
            &e("c"),
            b"\x2B\xD1\x03\x8A\x00",
            &e("d"),
            b"\x2B\xD1\x03\x8E\x00",
            &e("e"),
        ]);
        let (pages, _) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages[0].text(), "a bcde");
        assert_eq!(
            pages[0].lines[0].flags,
            [UNDERLINE, UNDERLINE, UNDERLINE, 0, BOLD, 0]
        );
    }

    #[test]
    fn wus_underlines_the_word_before() {
        let bytes = cat(&[&e("ab cd"), b"\x23", &e(" e")]);
        let (pages, _) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages[0].text(), "ab cd e");
        assert_eq!(
            pages[0].lines[0].flags,
            [0, 0, 0, UNDERLINE, UNDERLINE, 0, 0]
        );
    }

    #[test]
    fn transparent_data_is_printed_without_control_scan() {
        // TRN 4: "A", NL, FF, "B" — the NL and FF are data, not controls.
        let bytes = cat(&[b"\x35\x04\xC1\x15\x0C\xC2", &e("C")]);
        assert_eq!(texts(&bytes), ["A\u{FFFD}\u{FFFD}BC"]);
    }

    #[test]
    fn unknown_escapes_are_skipped_by_their_length() {
        let bytes = cat(&[
            &e("A"),
            b"\x2B\xE7\x05\x15\x0C\x15\x0C", // unknown class, params look like controls
            b"\x2B\xD2\x04\x77\x15\x0C",     // unknown D2 function
            &e("B"),
        ]);
        let (pages, summary) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].text(), "AB");
        assert_eq!(summary.warnings.len(), 2, "{:?}", summary.warnings);
    }

    #[test]
    fn escape_lengths_below_two() {
        // SGEA with LL = 1 (no parameters) is normal; LL = 0 is read as 1.
        let bytes = cat(&[b"\x2B\xC8\x01", &e("A"), b"\x2B\xC8\x00", &e("B")]);
        let (pages, summary) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages[0].text(), "AB");
        assert_eq!(summary.warnings.len(), 1);
        // A D2 escape with no function code.
        let bytes = cat(&[b"\x2B\xD2\x01", &e("C")]);
        let (pages, _) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages[0].text(), "C");
    }

    #[test]
    fn truncated_controls_end_cleanly() {
        for tail in [
            &b"\x2B"[..],
            b"\x2B\xD2",
            b"\x2B\xD2\x06\x40\x2E",
            b"\x34",
            b"\x34\xC0",
            b"\x35\x05\xC1\xC2",
            b"\x03\x09\x41",
            b"\x08",
            b"\x04",
            b"\x28\x01",
        ] {
            let bytes = cat(&[&e("AB"), tail]);
            let (pages, summary) = run(&bytes, &ScsOptions::default());
            assert_eq!(pages.len(), 1, "{tail:02X?}");
            assert!(pages[0].text().starts_with("AB"), "{tail:02X?}");
            assert!(
                summary.warnings.iter().any(|w| w.contains("cut short")),
                "{tail:02X?}: {:?}",
                summary.warnings
            );
            assert_eq!(summary.bytes, bytes.len() as u64);
        }
    }

    #[test]
    fn controls_split_across_buffer_boundaries() {
        let bytes = cat(&[
            b"\x2B\xD2\x04\x29\x00\x0C",
            b"\x2B\xD1\x06\x01\x01\x29\x04\x7B",
            &ebc("é", 1147),
            b"\x35\x03",
            &ebc("€ç", 1147),
            b"\x9F",
            b"\x34\xC0\x0A",
            &ebc("x", 1147),
        ]);
        let whole = run(&bytes, &ScsOptions::default());
        for capacity in 1..8 {
            let reader = io::BufReader::with_capacity(capacity, &bytes[..]);
            let mut pages = Vec::new();
            let summary = interpret(reader, &ScsOptions::default(), |page| {
                pages.push(page.clone());
                Ok(())
            })
            .unwrap();
            assert_eq!(pages, whole.0, "capacity {capacity}");
            assert_eq!(summary, whole.1);
        }
        assert_eq!(whole.0[0].text(), "é€ç€     x");
        assert_eq!(whole.0[0].format.cpi, Some(12.0));
    }

    #[test]
    fn scg_switches_the_code_page_mid_stream() {
        // C0 is "{" in 037 and "é" in 297; the SCG selects 297 from there on.
        let bytes = cat(&[b"\xC0\x15", b"\x2B\xD1\x06\x01\x02\xB9\x01\x29", b"\xC0"]);
        let (pages, summary) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages[0].text(), "{\né");
        assert_eq!(
            (summary.ccsid, summary.ccsid_origin),
            (37, CcsidOrigin::Default)
        );
    }

    #[test]
    fn ccsid_precedence() {
        let bytes = cat(&[b"\x2B\xD1\x06\x01\x02\xB9\x04\x7B", b"\x9F"]);
        // SCG 1147 known: beats the source.
        let options = ScsOptions {
            source_ccsid: Some(297),
            ..ScsOptions::default()
        };
        let (pages, summary) = run(&bytes, &options);
        assert_eq!(pages[0].text(), "€");
        assert_eq!(
            (summary.ccsid, summary.ccsid_origin),
            (1147, CcsidOrigin::Scg)
        );
        // The side-car beats the SCG.
        let options = ScsOptions {
            sidecar_ccsid: Some(297),
            ..ScsOptions::default()
        };
        let (pages, summary) = run(&bytes, &options);
        assert_eq!(pages[0].text(), "¤");
        assert_eq!(
            (summary.ccsid, summary.ccsid_origin),
            (297, CcsidOrigin::Sidecar)
        );
        // A malformed SCG (GCSGID 297 / CPGID 697): the source wins over the GCSGID...
        let malformed = cat(&[b"\x2B\xD1\x06\x01\x01\x29\x02\xB9", b"\xC0"]);
        let options = ScsOptions {
            source_ccsid: Some(1147),
            ..ScsOptions::default()
        };
        let (pages, summary) = run(&malformed, &options);
        assert_eq!(pages[0].text(), "é");
        assert_eq!(
            (summary.ccsid, summary.ccsid_origin),
            (1147, CcsidOrigin::Source)
        );
        // ...and without a source, the swapped GCSGID is used.
        let (pages, summary) = run(&malformed, &ScsOptions::default());
        assert_eq!(pages[0].text(), "é");
        assert_eq!(
            (summary.ccsid, summary.ccsid_origin),
            (297, CcsidOrigin::Scg)
        );
        // An unknown side-car CCSID is reported and skipped.
        let options = ScsOptions {
            sidecar_ccsid: Some(930),
            ..ScsOptions::default()
        };
        let (_, summary) = run(b"\xC1", &options);
        assert_eq!(summary.ccsid_origin, CcsidOrigin::Default);
        assert!(summary.warnings[0].contains("930"));
    }

    #[test]
    fn sub_and_special_graphics() {
        // SUB, RSP, FF byte, SHY mid-word and at line end, GE.
        let bytes = cat(&[
            &e("a"),
            b"\x3F\x41\xFF",
            &e("b"),
            b"\xCA",
            &e("c"),
            b"\xCA\x15\x08\x99",
        ]);
        assert_eq!(texts(&bytes), ["a\u{FFFD}  bc-\n\u{FFFD}"]);
    }

    #[test]
    fn horizontal_tabs_from_shf_and_stab() {
        // SHF: MPP 80, LM 1, RM 80, tabs at 10 and 20.
        let bytes = cat(&[
            b"\x2B\xC1\x06\x50\x01\x50\x0A\x14",
            &e("a"),
            b"\x05",
            &e("b"),
            b"\x05",
            &e("c"),
            b"\x05",
            &e("d"),
        ]);
        assert_eq!(texts(&bytes), ["a        b         c d"]);
        // STAB in columns relative to the left margin: stops at 5 and 8.
        let bytes = cat(&[
            b"\x2B\xD2\x09\x01\x00\x00\x00\x05\x00\x00\x08",
            &e("a"),
            b"\x05",
            &e("b"),
            b"\x05",
            &e("c"),
        ]);
        assert_eq!(texts(&bytes), ["a   b  c"]);
    }

    #[test]
    fn indent_tab_sets_the_new_line_column() {
        let bytes = cat(&[
            b"\x2B\xC1\x05\x50\x01\x50\x05",
            &e("a"),
            b"\x39",
            &e("b"),
            b"\x15",
            &e("c"),
            b"\x06",
            &e("d"),
        ]);
        assert_eq!(texts(&bytes), ["a   b\n    c\nd"]);
    }

    #[test]
    fn vertical_tabs_and_channels_from_svf() {
        // SVF: MPL 20, TM 1, BM 20, tabs (channels) at lines 5 and 10.
        let svf = b"\x2B\xC2\x06\x14\x01\x14\x05\x0A";
        let bytes = cat(&[
            svf,
            &e("a"),
            b"\x0B",
            &e("b"),
            b"\x0B",
            &e("c"),
            b"\x0B",
            &e("d"),
        ]);
        assert_eq!(texts(&bytes), ["a\n\n\n\n b\n\n\n\n\n  c", "\n\n\n\n   d"]);
        // VCS channel 2 → line 10; channel 1 → line 5 of the next page (we are below it).
        let bytes = cat(&[svf, &e("a"), b"\x04\x82", &e("b"), b"\x04\x81", &e("c")]);
        assert_eq!(texts(&bytes), ["a\n\n\n\n\n\n\n\n\n b", "\n\n\n\n  c"]);
        // VT without tabs is a line feed.
        assert_eq!(texts(&cat(&[&e("a"), b"\x0B", &e("b")])), ["a\n b"]);
    }

    #[test]
    fn line_spacing_in_half_lines() {
        // SLS 4 half lines = double spacing; LF keeps the column.
        let bytes = cat(&[
            b"\x2B\xD2\x03\x09\x04",
            &e("a"),
            b"\x15",
            &e("b"),
            b"\x25",
            &e("c"),
        ]);
        assert_eq!(texts(&bytes), ["a\n\nb\n\n c"]);
    }

    #[test]
    fn inhibit_presentation_moves_without_printing() {
        let bytes = cat(&[&e("a"), b"\x24", &e("secret"), b"\x14", &e("b")]);
        assert_eq!(texts(&bytes), ["a      b"]);
    }

    #[test]
    fn dbcs_pairs_take_two_columns() {
        let bytes = cat(&[&e("a"), b"\x0E\x45\x41\x40\x40\x0F", &e("b")]);
        let (pages, summary) = run(&bytes, &ScsOptions::default());
        assert_eq!(pages[0].text(), "a\u{FFFD}   b");
        assert!(summary.warnings[0].contains("DBCS"));
    }

    #[test]
    fn geometry_from_the_stream() {
        // SPPS A4, STO 90°, SCD 15 cpi, SLD 8 lpi, SHM 0.5 in, SVM 0.25 in.
        let bytes = cat(&[
            b"\x2B\xD2\x06\x40\x2E\x84\x41\xC1",
            b"\x2B\xD3\x06\xF6\x00\x00\x2D\x00",
            b"\x2B\xD2\x04\x29\x00\x0F",
            b"\x2B\xC6\x02\x09",
            b"\x2B\xD2\x04\x11\x02\xD0",
            b"\x2B\xD2\x04\x49\x01\x68",
            &e("x"),
        ]);
        let (pages, _) = run(&bytes, &ScsOptions::default());
        let format = pages[0].format;
        assert_eq!(format.paper, Some((11908.0 / 20.0, 16833.0 / 20.0)));
        assert_eq!(format.landscape, Some(true));
        assert_eq!((format.cpi, format.lpi), (Some(15.0), Some(8.0)));
        assert_eq!(
            (format.margin_left, format.margin_top),
            (Some(36.0), Some(18.0))
        );
        // Landscape A4 at 8 lpi: 8.27 in × 8 = 66 rows; 11.69 in × 15 = 175 columns.
        assert_eq!((format.rows, format.columns), (Some(66), Some(175)));
    }

    #[test]
    fn geometry_from_shf_svf_then_fallback_then_defaults() {
        // SHF 198 columns, SVF 88 lines, SFG width 72 (20 cpi), SSLD 180 (8 lpi), LM 3.
        let bytes = cat(&[
            b"\x2B\xC1\x03\xC6\x03",
            b"\x2B\xC2\x02\x58",
            b"\x2B\xD1\x07\x05\x01\x19\x00\x48\x01",
            b"\x2B\xD2\x04\x15\x00\xB4",
            &e("x"),
        ]);
        let (pages, _) = run(&bytes, &ScsOptions::default());
        let format = pages[0].format;
        assert_eq!((format.cpi, format.lpi), (Some(20.0), Some(8.0)));
        assert_eq!(format.paper, None);
        assert_eq!((format.rows, format.columns), (Some(88), Some(198)));
        assert_eq!(format.margin_left, Some(2.0 * 72.0 / 20.0));
        assert_eq!(pages[0].lines[0].chars, ['x']);

        let fallback = PageFormat {
            cpi: Some(12.0),
            paper: Some((595.0, 842.0)),
            rows: Some(70),
            ..PageFormat::default()
        };
        let options = ScsOptions {
            fallback,
            ..ScsOptions::default()
        };
        let (pages, _) = run(&e("x"), &options);
        let format = pages[0].format;
        assert_eq!((format.cpi, format.lpi), (Some(12.0), Some(6.0)));
        assert_eq!(format.paper, Some((595.0, 842.0)));
        assert_eq!(format.rows, Some(70));

        let (pages, _) = run(&e("x"), &ScsOptions::default());
        let format = pages[0].format;
        assert_eq!((format.paper, format.landscape), (None, None));
        assert_eq!((format.rows, format.columns), (Some(66), Some(132)));
        assert_eq!((format.cpi, format.lpi), (Some(10.0), Some(6.0)));
    }

    #[test]
    fn huge_positions_are_bounded() {
        // RHPP 255 six times → column 1531: dropped with a warning, memory stays small.
        let mut bytes = e("a");
        for _ in 0..6 {
            bytes.extend_from_slice(b"\x34\xC8\xFF");
        }
        bytes.extend(e("b"));
        let fallback = PageFormat {
            rows: Some(100_000),
            ..PageFormat::default()
        };
        let options = ScsOptions {
            fallback,
            ..ScsOptions::default()
        };
        let (pages, summary) = run(&bytes, &options);
        assert_eq!(pages[0].text(), "a");
        assert!(summary.warnings.iter().any(|w| w.contains("column")));
        assert_eq!(pages[0].format.rows, Some(MAX_ROWS));
    }

    #[test]
    fn warnings_are_counted_per_kind() {
        let bytes = [0x01, 0x01, 0x01, 0x02, 0xC1];
        let (_, summary) = run(&bytes, &ScsOptions::default());
        assert_eq!(summary.warnings.len(), 2);
        assert!(
            summary.warnings[0].ends_with("(×3)"),
            "{:?}",
            summary.warnings
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..300 {
            let mut bytes = Vec::new();
            for _ in 0..(seed % 2000) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Bias towards controls and escapes.
                let byte = (seed >> 24) as u8;
                bytes.push(if seed.is_multiple_of(3) {
                    byte & 0x3F
                } else {
                    byte
                });
            }
            let result = interpret(&bytes[..], &ScsOptions::default(), |page| {
                assert!(page.lines.len() <= MAX_ROWS);
                assert!(page.lines.iter().all(|l| l.chars.len() <= MAX_COLUMNS));
                assert!(page
                    .lines
                    .iter()
                    .all(|l| l.flags.iter().all(|f| f & WRITTEN == 0)));
                Ok(())
            });
            assert!(result.is_ok());
        }
    }

    #[test]
    fn sniffing() {
        let scs = cat(&[
            b"\x2B\xD2\x06\x40\x2E\x84\x41\xC1",
            &e("ACME SARL"),
            b"\x15",
        ]);
        assert!(looks_scs(&scs));
        assert!(!looks_scs(b"ACME SARL\n"));
        assert!(!looks_scs(&e("ACME SARL FACTURE")));
    }
}
