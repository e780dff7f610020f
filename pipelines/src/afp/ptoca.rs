//! The PTOCA interpreter: presentation text (PTX) control sequences and code points →
//! text runs and rules on the page.
//!
//! Control sequences come unchained (`2B D3 LL TT …`) or chained (`LL TT …` after a sequence
//! whose type is odd; an even type ends the chain). Every control of PTOCA's text subset is
//! done: AMI, AMB, RMI, RMB, BLN, SBI, SIM, SVI, SIA, STO (four orientations), SCFL, TRN, RPS,
//! NOP, DIR and DBR rules, STC and SEC colours, USC underscore, OVS, TBM, BSU/ESU; glyph runs,
//! Unicode complex text and encrypted text are skipped by their length and named once in the
//! warnings. A length that runs past the data is an error (the text object is damaged).
//!
//! Positions are in the text object's units (PTD); a character advances by its standard PDF
//! font width at the font's size (the blank by the variable space increment when set, plus
//! the intercharacter adjustment), which is where the next code point lands when the stream
//! gives no move: runs are placed where the AFP puts them, and drift, if the AFP's font had
//! other metrics, stays within a run.

use super::fields::{i16_at, u16_at};
use super::fonts::MappedFont;
use super::page::{AfpPage, Item, Rgb, Rule, TextRun, BLACK};
use super::AfpError;
use crate::charset::{windows_1252_byte, Charset};

/// Where a text object lies on the page and in which units it counts.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// Top-left of the object area, in points from the page's top-left corner.
    pub left: f32,
    pub top: f32,
    /// Text units per inch along x and y.
    pub units_x: f32,
    pub units_y: f32,
    /// The object's extent in its units (for the corner origins of turned text).
    pub extent_x: f32,
    pub extent_y: f32,
    /// The page's height in points (PDF y goes up).
    pub page_height: f32,
}

/// The fonts a text object can select, by local id.
pub trait FontLookup {
    fn font(&self, lid: u8) -> Option<&MappedFont>;
    /// The CCSID for fonts whose names say none.
    fn default_ccsid(&self) -> u16;
}

/// The text state: PTOCA's initial conditions, changed by the controls as they come.
#[derive(Debug, Clone)]
pub struct TextState {
    pub i: i32,
    pub b: i32,
    pub inline_margin: i32,
    pub baseline_increment: i32,
    /// Inline direction in degrees clockwise on the page (0, 90, 180, 270).
    pub inline_orientation: u16,
    pub lid: Option<u8>,
    pub space_increment: Option<i32>,
    pub char_adjust: i32,
    pub color: Rgb,
    pub underscore: bool,
    /// Baseline offset of a temporary baseline move (super/subscript).
    pub temporary_b: i32,
}

impl TextState {
    /// PTOCA's defaults at the start of a text object: (0, 0), 0° inline, 6 lpi.
    pub fn new(units_y: f32) -> TextState {
        TextState {
            i: 0,
            b: 0,
            inline_margin: 0,
            baseline_increment: (units_y / 6.0).round() as i32,
            inline_orientation: 0,
            lid: None,
            space_increment: None,
            char_adjust: 0,
            color: BLACK,
            underscore: false,
            temporary_b: 0,
        }
    }
}

/// Runs one PTX's data against `state`, adding runs and rules to `page`. Warnings (skipped
/// controls, unknown fonts) go to `warnings`, each once.
pub fn interpret(
    data: &[u8],
    state: &mut TextState,
    placement: &Placement,
    fonts: &dyn FontLookup,
    page: &mut AfpPage,
    warnings: &mut Vec<String>,
) -> Result<(), AfpError> {
    let mut at = 0;
    let mut chained = false;
    while at < data.len() {
        if !chained {
            if data[at] == 0x2B && data.get(at + 1) == Some(&0xD3) {
                at += 2;
                chained = true;
                continue;
            }
            // Code points up to the next control sequence introducer.
            let end = find_introducer(data, at);
            draw(&data[at..end], state, placement, fonts, page, warnings);
            at = end;
            continue;
        }
        let (Some(&length), Some(&kind)) = (data.get(at), data.get(at + 1)) else {
            return Err(damaged(at, "a control sequence is cut after its length"));
        };
        let length = usize::from(length);
        if length < 2 || at + length > data.len() {
            return Err(damaged(
                at,
                &format!(
                    "control sequence {kind:02x} of {length} bytes runs past the {} bytes of text data",
                    data.len()
                ),
            ));
        }
        let params = &data[at + 2..at + length];
        control(kind & 0xFE, params, state, placement, fonts, page, warnings);
        chained = kind & 1 == 1;
        at += length;
    }
    Ok(())
}

fn damaged(at: usize, what: &str) -> AfpError {
    AfpError::Text {
        what: format!("{what} (byte {at} of the presentation text)"),
    }
}

fn find_introducer(data: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < data.len() {
        match memchr::memchr(0x2B, &data[at..]) {
            Some(found) if data.get(at + found + 1) == Some(&0xD3) => return at + found,
            Some(found) => at += found + 1,
            None => return data.len(),
        }
    }
    data.len()
}

fn warn_once(warnings: &mut Vec<String>, warning: String) {
    if !warnings.contains(&warning) {
        warnings.push(warning);
    }
}

fn control(
    kind: u8,
    params: &[u8],
    state: &mut TextState,
    placement: &Placement,
    fonts: &dyn FontLookup,
    page: &mut AfpPage,
    warnings: &mut Vec<String>,
) {
    let signed = || i32::from(i16_at(params, 0).unwrap_or(0));
    match kind {
        // SIM, SIA, SVI, AMI, RMI.
        0xC0 => state.inline_margin = signed(),
        0xC2 => {
            let adjust = i32::from(u16_at(params, 0).unwrap_or(0));
            state.char_adjust = if params.get(2) == Some(&1) {
                -adjust
            } else {
                adjust
            };
        }
        0xC4 => state.space_increment = Some(signed()),
        0xC6 => state.i = signed(),
        0xC8 => state.i = state.i.saturating_add(signed()),
        // SBI, AMB, RMB, BLN.
        0xD0 => state.baseline_increment = signed(),
        0xD2 => state.b = signed(),
        0xD4 => state.b = state.b.saturating_add(signed()),
        0xD8 => {
            state.i = state.inline_margin;
            state.b = state.b.saturating_add(state.baseline_increment);
        }
        // STO: inline orientation, in degrees × 128 (minutes ignored).
        0xF6 => {
            let degrees = u16_at(params, 0).unwrap_or(0) >> 7;
            state.inline_orientation = match degrees {
                90 => 90,
                180 => 180,
                270 => 270,
                _ => 0,
            };
        }
        // SCFL.
        0xF0 => state.lid = params.first().copied(),
        // TRN.
        0xDA => draw(params, state, placement, fonts, page, warnings),
        // RPS: repeat the string until `length` bytes are presented.
        0xEE => {
            let total = usize::from(u16_at(params, 0).unwrap_or(0));
            let pattern = params.get(2..).unwrap_or_default();
            if !pattern.is_empty() && total > 0 {
                let repeated: Vec<u8> = pattern.iter().copied().cycle().take(total).collect();
                draw(&repeated, state, placement, fonts, page, warnings);
            }
        }
        // DIR, DBR.
        0xE4 | 0xE6 => rule(kind == 0xE6, params, state, placement, page),
        // STC.
        0x74 => state.color = named_color(u16_at(params, 0).unwrap_or(0xFF07)),
        // SEC.
        0x80 => state.color = extended_color(params).unwrap_or(state.color),
        // USC.
        0x76 => state.underscore = params.first().is_some_and(|&on| on != 0),
        // TBM: 1 back to the baseline, 2 subscript, 3 superscript.
        0x78 => {
            let increment = i16_at(params, 2)
                .map(i32::from)
                .unwrap_or(state.baseline_increment / 3);
            state.temporary_b = match params.first() {
                Some(2) => increment.abs(),
                Some(3) => -increment.abs(),
                _ => 0,
            };
        }
        // NOP, OVS, BSU, ESU: nothing to draw.
        0xF8 | 0x72 | 0xF2 | 0xF4 => {}
        0x6A | 0x6C | 0x6E | 0x8A | 0x8C | 0x8E | 0x98 | 0x9A | 0x9C => warn_once(
            warnings,
            format!(
                "ptoca control {kind:02x} (glyph runs, complex or encrypted text) not rendered"
            ),
        ),
        _ => {}
    }
}

/// The colours of the standard OCA colour values (STC, and SEC colour space 0x40).
fn named_color(value: u16) -> Rgb {
    match value & 0x00FF {
        0x01 => [0.0, 0.0, 1.0],
        0x02 => [1.0, 0.0, 0.0],
        0x03 => [1.0, 0.0, 1.0],
        0x04 => [0.0, 1.0, 0.0],
        0x05 => [0.0, 1.0, 1.0],
        0x06 => [1.0, 1.0, 0.0],
        0x08 if value == 0xFF08 => [1.0, 1.0, 1.0],
        0x09 => [0.0, 0.0, 0.67],
        0x0A => [1.0, 0.5, 0.0],
        0x0B => [0.5, 0.0, 0.5],
        0x0C => [0.0, 0.5, 0.0],
        0x0D => [0.0, 0.5, 0.5],
        0x0E => [0.77, 0.6, 0.05],
        0x0F => [0.5, 0.5, 0.5],
        0x10 => [0.6, 0.3, 0.1],
        _ => BLACK,
    }
}

/// SEC: reserved, colour space, 4 reserved, 4 component sizes in bits, the value.
fn extended_color(params: &[u8]) -> Option<Rgb> {
    let space = *params.get(1)?;
    let sizes = params.get(6..10)?;
    let value = params.get(10..)?;
    let component = |index: usize| -> Option<f32> {
        let bits = u32::from(sizes[index]);
        if bits == 8 {
            return Some(f32::from(*value.get(index)?) / 255.0);
        }
        if bits == 16 {
            return Some(f32::from(u16_at(value, index * 2)?) / 65535.0);
        }
        None
    };
    match space {
        0x01 => Some([component(0)?, component(1)?, component(2)?]),
        0x04 => {
            let (c, m, y, k) = (component(0)?, component(1)?, component(2)?, component(3)?);
            Some([
                (1.0 - c) * (1.0 - k),
                (1.0 - m) * (1.0 - k),
                (1.0 - y) * (1.0 - k),
            ])
        }
        0x08 => {
            let lightness = f32::from(*value.first()?) / 255.0;
            Some([lightness; 3])
        }
        0x40 => Some(named_color(u16_at(value, 0)?)),
        _ => None,
    }
}

/// Page points (from the top-left) of text position (i, b) in the object's orientation.
fn to_page(placement: &Placement, orientation: u16, i: i32, b: i32) -> (f32, f32) {
    let (i, b) = (i as f32, b as f32);
    let (x, y) = match orientation {
        90 => (placement.extent_x - b, i),
        180 => (placement.extent_x - i, placement.extent_y - b),
        270 => (b, placement.extent_y - i),
        _ => (i, b),
    };
    let x_pt = placement.left + x * 72.0 / placement.units_x;
    let y_pt = placement.top + y * 72.0 / placement.units_y;
    (x_pt, placement.page_height - y_pt)
}

/// The PDF angle (counter-clockwise) of an AFP inline orientation (clockwise, y down).
fn pdf_angle(orientation: u16) -> u16 {
    match orientation {
        90 => 270,
        180 => 180,
        270 => 90,
        _ => 0,
    }
}

fn units_along(placement: &Placement, orientation: u16) -> f32 {
    if orientation == 90 || orientation == 270 {
        placement.units_y
    } else {
        placement.units_x
    }
}

/// Draws code points at the current position and advances it.
fn draw(
    codes: &[u8],
    state: &mut TextState,
    placement: &Placement,
    fonts: &dyn FontLookup,
    page: &mut AfpPage,
    warnings: &mut Vec<String>,
) {
    if codes.is_empty() {
        return;
    }
    let fallback = MappedFont::default();
    let font = match state.lid.and_then(|lid| fonts.font(lid)) {
        Some(font) => font,
        None => {
            if let Some(lid) = state.lid {
                warn_once(
                    warnings,
                    format!("font {lid} is not mapped (no MCF names it): drawn in Courier"),
                );
            }
            &fallback
        }
    };
    let ccsid = font.ccsid.unwrap_or_else(|| fonts.default_ccsid());
    let charset = match ccsid {
        437 | 819 | 850 | 858 | 923 | 1252 => Charset::Windows1252,
        other if crate::ebcdic_tables::table(other).is_some() => Charset::Ebcdic(other),
        other => {
            warn_once(
                warnings,
                format!(
                    "code page {other} of font {} is unknown: read as {}",
                    font.name,
                    fonts.default_ccsid()
                ),
            );
            Charset::Ebcdic(fonts.default_ccsid())
        }
    };
    let mut text = String::with_capacity(codes.len());
    charset.decode_into(codes, &mut text);
    let units = units_along(placement, state.inline_orientation);
    let space_pt = state.space_increment.map(|svi| svi as f32 * 72.0 / units);
    let size = font.size_for(space_pt);
    let blank = font.font.advance(b' ') * size / 1000.0;
    let adjust_pt = state.char_adjust as f32 * 72.0 / units;
    let mut width = 0.0f32;
    for ch in text.chars() {
        let advance = if ch == ' ' {
            space_pt.unwrap_or(blank)
        } else {
            let code = windows_1252_byte(ch).unwrap_or(b'?');
            font.font.advance(code) * size / 1000.0
        };
        width += advance + adjust_pt;
    }
    let (x, y) = to_page(
        placement,
        state.inline_orientation,
        state.i,
        state.b.saturating_add(state.temporary_b),
    );
    page.items.push(Item::Text(TextRun {
        x,
        y,
        angle: pdf_angle(state.inline_orientation),
        font: font.font,
        size,
        text,
        word_space: space_pt.map(|space| space - blank).unwrap_or(0.0),
        char_space: adjust_pt,
        color: state.color,
        underline: state.underscore,
        width,
        scale: 100.0,
    }));
    state.i = state
        .i
        .saturating_add((width * units / 72.0).round() as i32);
}

/// DIR (along the inline direction) or DBR (along the baseline direction): a rule from the
/// current position, `length` long (negative goes back), `width` thick toward +B (+I for DBR).
fn rule(
    baseline: bool,
    params: &[u8],
    state: &TextState,
    placement: &Placement,
    page: &mut AfpPage,
) {
    let length = i32::from(i16_at(params, 0).unwrap_or(0));
    let width = match (i16_at(params, 2), params.get(4)) {
        (Some(whole), Some(&fraction)) => f32::from(whole) + f32::from(fraction) / 256.0,
        (Some(whole), None) => f32::from(whole),
        _ => (placement.units_y / 240.0).max(1.0),
    };
    let width = width.round().max(1.0) as i32;
    let (i0, b0) = (state.i, state.b);
    let (i1, b1) = if baseline {
        (i0.saturating_add(width), b0.saturating_add(length))
    } else {
        (i0.saturating_add(length), b0.saturating_add(width))
    };
    let (xa, ya) = to_page(placement, state.inline_orientation, i0, b0);
    let (xb, yb) = to_page(placement, state.inline_orientation, i1, b1);
    page.items.push(Item::Rule(Rule {
        x: xa.min(xb),
        y: ya.min(yb),
        width: (xa - xb).abs(),
        height: (ya - yb).abs(),
        color: state.color,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fonts(Vec<(u8, MappedFont)>);

    impl FontLookup for Fonts {
        fn font(&self, lid: u8) -> Option<&MappedFont> {
            self.0
                .iter()
                .find(|(id, _)| *id == lid)
                .map(|(_, font)| font)
        }
        fn default_ccsid(&self) -> u16 {
            500
        }
    }

    fn a4_at_240() -> Placement {
        Placement {
            left: 0.0,
            top: 0.0,
            units_x: 240.0,
            units_y: 240.0,
            extent_x: 1984.0,
            extent_y: 2806.0,
            page_height: 841.8,
        }
    }

    fn ebcdic(text: &str) -> Vec<u8> {
        let table = crate::ebcdic_tables::table(500).unwrap();
        text.chars()
            .map(|ch| table.iter().position(|&c| c == ch).unwrap() as u8)
            .collect()
    }

    fn runs(page: &AfpPage) -> Vec<&TextRun> {
        page.items
            .iter()
            .filter_map(|item| match item {
                Item::Text(run) => Some(run),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn chained_moves_font_and_transparent_text_place_a_run() {
        // FOP's opening: AMB 182, AMI 142, SCFL 1, SVI 20, TRN 'ACME', NOP ends the chain.
        let mut ptx = vec![0x2B, 0xD3, 0x04, 0xD3, 0x00, 0xB6, 0x04, 0xC7, 0x00, 0x8E];
        ptx.extend([0x03, 0xF1, 0x01, 0x04, 0xC5, 0x00, 0x14]);
        let text = ebcdic("ACME SA");
        ptx.push(text.len() as u8 + 2);
        ptx.push(0xDB);
        ptx.extend(&text);
        ptx.extend([0x02, 0xF8]);
        let fonts = Fonts(vec![(
            1,
            super::super::fonts::font_from_names(Some("C0420000"), None, Some("T1V10500"), None),
        )]);
        let mut page = AfpPage::default();
        let mut state = TextState::new(240.0);
        let mut warnings = Vec::new();
        interpret(
            &ptx,
            &mut state,
            &a4_at_240(),
            &fonts,
            &mut page,
            &mut warnings,
        )
        .unwrap();
        let runs = runs(&page);
        assert_eq!(runs.len(), 1);
        let run = runs[0];
        assert_eq!(run.text, "ACME SA");
        assert!((run.x - 142.0 * 0.3).abs() < 0.01);
        assert!((run.y - (841.8 - 182.0 * 0.3)).abs() < 0.01);
        assert_eq!(run.size, 10.0);
        // 7 characters of Courier 10 pt, 6 pt each: the position moved 42 pt = 140 units.
        assert_eq!(state.i, 142 + 140);
        assert!(warnings.is_empty());
    }

    #[test]
    fn turned_text_starts_at_the_right_corner() {
        let placement = a4_at_240();
        // 90°: I runs down the page from the top-right corner.
        let (x, y) = to_page(&placement, 90, 100, 50);
        assert!((x - (1984.0 - 50.0) * 0.3).abs() < 0.01);
        assert!((y - (841.8 - 100.0 * 0.3)).abs() < 0.01);
        assert_eq!(pdf_angle(90), 270);
    }

    #[test]
    fn a_length_past_the_data_is_an_error_and_unknown_controls_are_skipped() {
        let error = interpret(
            &[0x2B, 0xD3, 0x09, 0xDB, 0xC1],
            &mut TextState::new(240.0),
            &a4_at_240(),
            &Fonts(Vec::new()),
            &mut AfpPage::default(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("runs past"), "{error}");
        let mut page = AfpPage::default();
        interpret(
            &[0x2B, 0xD3, 0x03, 0x40, 0x00, 0xC1],
            &mut TextState::new(240.0),
            &a4_at_240(),
            &Fonts(Vec::new()),
            &mut page,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(runs(&page)[0].text, "A");
    }

    #[test]
    fn rules_and_colours() {
        // SEC red, then DIR 100 units long, 2 thick.
        let ptx = [
            0x2B, 0xD3, 0x0F, 0x81, 0x00, 0x01, 0, 0, 0, 0, 8, 8, 8, 0, 0xFF, 0x00, 0x00, 0x07,
            0xE4, 0x00, 0x64, 0x00, 0x02, 0x00,
        ];
        let mut page = AfpPage::default();
        interpret(
            &ptx,
            &mut TextState::new(240.0),
            &a4_at_240(),
            &Fonts(Vec::new()),
            &mut page,
            &mut Vec::new(),
        )
        .unwrap();
        let Item::Rule(rule) = &page.items[0] else {
            panic!("a rule");
        };
        assert_eq!(rule.color, [1.0, 0.0, 0.0]);
        assert!((rule.width - 30.0).abs() < 0.01 && (rule.height - 0.6).abs() < 0.01);
    }
}
