//! AFP fonts → standard PDF fonts: the Map Coded Font (MCF, both formats) gives each local
//! font id a character set, a code page, or a coded font; their names (and the FGID of a
//! coded font's GRID) say the family, the weight, the size and the code page.
//!
//! - Family and weight: IBM core character set names `C0` + typeface + weight, `42`…`45`
//!   Courier, `H2`…`H5` Helvetica, `N2`…`N5` Times (2 roman, 3 italic, 4 bold, 5 bold
//!   italic), as FOP and the IBM core interchange fonts name them; Gothic, Letter Gothic,
//!   Prestige and every other typewriter face print as Courier (IBM i spools are monospace).
//! - Size: the font descriptor (X'1F', what FOP writes for outline fonts); the size code at the end of a raster name (`…80` 8 pt, `…A0` 10 pt, `…D0` 14 pt);
//!   a pitch in a typewriter name (`C0D0GT12` 12 cpi → Courier 10 pt); the FGID of a GRID;
//!   else none: the text's variable space increment decides it (see [`MappedFont::size_for`]).
//! - Code page: the digits of the code page name (`T1V10500` → 500, `T1001147` → 1147), or
//!   the GRID's CPGID, or the run's default.

use super::fields::{decode_name, fully_qualified_name, triplets, u16_at};
use super::metrics;

/// The families of the standard PDF fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Courier,
    Helvetica,
    Times,
}

/// A standard PDF font.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StdFont {
    pub family: Family,
    pub bold: bool,
    pub italic: bool,
}

impl StdFont {
    pub const COURIER: StdFont = StdFont {
        family: Family::Courier,
        bold: false,
        italic: false,
    };

    /// 0..12, for the PDF writer's font table.
    pub fn index(self) -> usize {
        let family = match self.family {
            Family::Courier => 0,
            Family::Helvetica => 1,
            Family::Times => 2,
        };
        family * 4 + usize::from(self.bold) * 2 + usize::from(self.italic)
    }

    /// The font's PDF base name.
    pub fn pdf_name(self) -> &'static str {
        match (self.family, self.bold, self.italic) {
            (Family::Courier, false, false) => "Courier",
            (Family::Courier, true, false) => "Courier-Bold",
            (Family::Courier, false, true) => "Courier-Oblique",
            (Family::Courier, true, true) => "Courier-BoldOblique",
            (Family::Helvetica, false, false) => "Helvetica",
            (Family::Helvetica, true, false) => "Helvetica-Bold",
            (Family::Helvetica, false, true) => "Helvetica-Oblique",
            (Family::Helvetica, true, true) => "Helvetica-BoldOblique",
            (Family::Times, false, false) => "Times-Roman",
            (Family::Times, true, false) => "Times-Bold",
            (Family::Times, false, true) => "Times-Italic",
            (Family::Times, true, true) => "Times-BoldItalic",
        }
    }

    /// All twelve, by [`StdFont::index`].
    pub fn all() -> impl Iterator<Item = StdFont> {
        [Family::Courier, Family::Helvetica, Family::Times]
            .into_iter()
            .flat_map(|family| {
                [(false, false), (false, true), (true, false), (true, true)].map(
                    move |(bold, italic)| StdFont {
                        family,
                        bold,
                        italic,
                    },
                )
            })
    }

    /// Advance of a WinAnsi code, in 1/1000 em.
    pub fn advance(self, code: u8) -> f32 {
        let table = match (self.family, self.bold, self.italic) {
            (Family::Courier, ..) => return 600.0,
            (Family::Helvetica, false, _) => &metrics::HELVETICA,
            (Family::Helvetica, true, _) => &metrics::HELVETICA_BOLD,
            (Family::Times, false, false) => &metrics::TIMES,
            (Family::Times, true, false) => &metrics::TIMES_BOLD,
            (Family::Times, false, true) => &metrics::TIMES_ITALIC,
            (Family::Times, true, true) => &metrics::TIMES_BOLD_ITALIC,
        };
        match code.checked_sub(0x20) {
            Some(index) => f32::from(table[usize::from(index)]),
            None => 0.0,
        }
    }
}

/// What a local font id stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedFont {
    pub font: StdFont,
    /// Size in points when the names say it.
    pub size: Option<f32>,
    /// The code page its code points are in, when the names say it.
    pub ccsid: Option<u16>,
    /// The names, for messages: character set or coded font, and code page.
    pub name: String,
}

impl MappedFont {
    /// The size to draw at: the named size, else the one whose blank is the variable space
    /// increment (FOP names outline fonts without a size and sets SVI to the blank's width),
    /// else 10 pt.
    pub fn size_for(&self, space_increment_pt: Option<f32>) -> f32 {
        if let Some(size) = self.size {
            return size;
        }
        match space_increment_pt {
            Some(space) if space > 0.0 => {
                let blank = self.font.advance(b' ') / 1000.0;
                let size = space / blank;
                if (2.0..=200.0).contains(&size) {
                    return (size * 4.0).round() / 4.0;
                }
                10.0
            }
            _ => 10.0,
        }
    }
}

impl Default for MappedFont {
    fn default() -> Self {
        MappedFont {
            font: StdFont::COURIER,
            size: None,
            ccsid: None,
            name: "default".into(),
        }
    }
}

/// The fonts of an MCF (format 2, `D3AB8A`): repeating groups of triplets.
pub fn map_coded_font_2(data: &[u8]) -> Vec<(u8, MappedFont)> {
    let mut fonts = Vec::new();
    let mut rest = data;
    while let Some(length) = u16_at(rest, 0) {
        let length = usize::from(length);
        if length < 2 || length > rest.len() {
            break;
        }
        let group = &rest[2..length];
        rest = &rest[length..];
        let (mut lid, mut character_set, mut code_page, mut coded_font, mut grid) =
            (None, None, None, None, None);
        let mut described_size = None;
        for triplet in triplets(group) {
            if let Some((kind, name)) = fully_qualified_name(&triplet) {
                match kind {
                    0x86 => character_set = Some(decode_name(name)),
                    0x85 => code_page = Some(decode_name(name)),
                    0x8E => coded_font = Some(decode_name(name)),
                    0x84 if name.len() >= 8 => grid = Some(name.to_vec()),
                    _ => {}
                }
            } else if triplet.id == 0x24 && triplet.data.len() >= 2 && triplet.data[0] == 0x05 {
                lid = Some(triplet.data[1]);
            } else if triplet.id == 0x1F {
                // Font descriptor specification: the vertical size in 1440ths of an inch.
                described_size = u16_at(triplet.data, 2)
                    .map(|twentieths| f32::from(twentieths) / 20.0)
                    .filter(|size| (1.0..=500.0).contains(size));
            }
        }
        let Some(lid) = lid else {
            continue;
        };
        let mut font = font_from_names(
            character_set.as_deref(),
            coded_font.as_deref(),
            code_page.as_deref(),
            grid.as_deref(),
        );
        font.size = described_size.or(font.size);
        fonts.push((lid, font));
    }
    fonts
}

/// The fonts of an MCF-1 (`D3B18A`): a 4-byte header (group length, 3 reserved), then
/// groups of LID, reserved, section, reserved, coded font name (8), code page name (8),
/// character set name (8), character rotation (2).
pub fn map_coded_font_1(data: &[u8]) -> Vec<(u8, MappedFont)> {
    let Some(&group_length) = data.first() else {
        return Vec::new();
    };
    let group_length = usize::from(group_length);
    if group_length < 28 {
        return Vec::new();
    }
    let mut fonts = Vec::new();
    for group in data.get(4..).unwrap_or_default().chunks_exact(group_length) {
        let name = |at: usize| {
            let text = decode_name(&group[at..at + 8]);
            (!text.is_empty()).then_some(text)
        };
        let (coded_font, code_page, character_set) = (name(4), name(12), name(20));
        fonts.push((
            group[0],
            font_from_names(
                character_set.as_deref(),
                coded_font.as_deref(),
                code_page.as_deref(),
                None,
            ),
        ));
    }
    fonts
}

/// A font from whatever names the MCF gives.
pub fn font_from_names(
    character_set: Option<&str>,
    coded_font: Option<&str>,
    code_page: Option<&str>,
    grid: Option<&[u8]>,
) -> MappedFont {
    let face = character_set.or(coded_font).unwrap_or("");
    let fgid = grid.and_then(|grid| u16_at(grid, 4));
    let (font, mut size) = match face_of(face) {
        Some(found) => found,
        None => match fgid.and_then(fgid_font) {
            Some((font, size)) => (font, Some(size)),
            None => (StdFont::COURIER, None),
        },
    };
    if size.is_none() {
        size = fgid.and_then(fgid_font).map(|(_, size)| size);
    }
    let ccsid = code_page
        .and_then(code_page_ccsid)
        .or_else(|| grid.and_then(|grid| u16_at(grid, 2)).filter(|&c| c > 0));
    let name = [character_set, coded_font, code_page]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("/");
    MappedFont {
        font,
        size,
        ccsid,
        name,
    }
}

/// Family, weight and size from a character set or coded font name (`C0H400D0`, `X0420080`).
fn face_of(name: &str) -> Option<(StdFont, Option<f32>)> {
    let name = name.to_ascii_uppercase();
    let bytes = name.as_bytes();
    if bytes.len() < 4 {
        return None;
    }
    let typewriter = ["GT", "CR", "LG", "PR", "OR", "SC", "ST", "CE"];
    let after_prefix = name.get(2..).unwrap_or("");
    if let Some(kind) = typewriter.iter().find(|kind| after_prefix.contains(*kind)) {
        // C0D0GT10, C0S0CR12 …: a pitch, or a point size, after the face.
        let digits: String = name
            .rsplit(kind)
            .next()
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let pitch: Option<f32> = digits
            .parse()
            .ok()
            .filter(|&p: &f32| (5.0..=27.0).contains(&p));
        return Some((StdFont::COURIER, pitch.map(|cpi| 120.0 / cpi)));
    }
    let (family, weight) = match (bytes[2], bytes[3]) {
        (b'4', w) => (Family::Courier, w),
        (b'H', w) => (Family::Helvetica, w),
        (b'N', w) | (b'T', w) => (Family::Times, w),
        _ => return None,
    };
    let (bold, italic) = match weight {
        b'2' => (false, false),
        b'3' => (false, true),
        b'4' => (true, false),
        b'5' => (true, true),
        _ => return None,
    };
    let size = bytes.get(6).and_then(|&code| size_code(code));
    Some((
        StdFont {
            family,
            bold,
            italic,
        },
        size,
    ))
}

/// The point size of an IBM raster font size code (the 7th character of its name).
fn size_code(code: u8) -> Option<f32> {
    Some(match code {
        b'5' => 5.0,
        b'6' => 6.0,
        b'7' => 7.0,
        b'8' => 8.0,
        b'9' => 9.0,
        b'A' => 10.0,
        b'B' => 11.0,
        b'C' => 12.0,
        b'D' => 14.0,
        b'E' => 16.0,
        b'F' => 18.0,
        b'G' => 20.0,
        b'H' => 24.0,
        b'J' => 30.0,
        b'N' => 36.0,
        _ => return None,
    })
}

/// Fonts of IBM font global ids (FGID) common on IBM i printer files (DDS `FONT(n)`).
fn fgid_font(fgid: u16) -> Option<(StdFont, f32)> {
    let courier = |size| Some((StdFont::COURIER, size));
    match fgid {
        // 10 cpi: Courier 10, Prestige, Letter Gothic 10, Orator.
        5 | 11 | 12 | 18 | 19 | 40 | 41 | 44 | 46 => courier(12.0),
        // 12 cpi: Courier 12, Prestige 12, Letter Gothic 12, Elite.
        66 | 68 | 69 | 70 | 71 | 74 | 75 | 85 | 86 | 87 | 91 | 92 | 101 | 111 => courier(10.0),
        // 13.3 and 15 cpi.
        204 | 205 | 221 | 222 | 223 | 230 | 256 => courier(8.0),
        // 16.7 to 20 cpi.
        252 | 253 | 254 | 280 | 281 | 282 | 283 | 290 | 400 => courier(7.0),
        2304 | 2305 | 2306 | 2307 | 4407 => Some((
            StdFont {
                family: Family::Helvetica,
                bold: false,
                italic: false,
            },
            10.0,
        )),
        5687 | 5707 | 5719 | 16951 => Some((
            StdFont {
                family: Family::Times,
                bold: false,
                italic: false,
            },
            10.0,
        )),
        _ => None,
    }
}

/// The CCSID a code page name implies: its last four characters as digits (`T1V10500` →
/// 500, `T1001147` → 1147).
pub fn code_page_ccsid(name: &str) -> Option<u16> {
    let tail = name.get(name.len().checked_sub(4)?..)?;
    let ccsid: u16 = tail.parse().ok()?;
    (ccsid > 0).then_some(ccsid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fop_and_ibm_names_give_family_weight_and_size() {
        let font = font_from_names(Some("C0H400D0"), None, Some("T1V10500"), None);
        assert_eq!(font.font.pdf_name(), "Helvetica-Bold");
        assert_eq!(font.size, Some(14.0));
        assert_eq!(font.ccsid, Some(500));
        let font = font_from_names(Some("C0420080"), None, Some("T1001147"), None);
        assert_eq!((font.font.pdf_name(), font.size), ("Courier", Some(8.0)));
        assert_eq!(font.ccsid, Some(1147));
        let font = font_from_names(Some("C0N50000"), None, None, None);
        assert_eq!(font.font.pdf_name(), "Times-BoldItalic");
        assert_eq!(font.size, None);
        let font = font_from_names(Some("C0D0GT12"), None, None, None);
        assert_eq!((font.font.pdf_name(), font.size), ("Courier", Some(10.0)));
    }

    #[test]
    fn an_unsized_font_takes_the_size_whose_blank_is_the_space_increment() {
        let courier = font_from_names(Some("C0420000"), None, None, None);
        // FOP: SVI 20 units at 240 dpi = 6 pt = Courier's blank at 10 pt.
        assert_eq!(courier.size_for(Some(6.0)), 10.0);
        let helvetica = font_from_names(Some("C0H20000"), None, None, None);
        assert_eq!(helvetica.size_for(Some(12.0 * 72.0 / 240.0)), 13.0);
        assert_eq!(helvetica.size_for(None), 10.0);
    }

    /// Regression (fuzz, afp_render): a name with a non-ASCII character at byte 2 was sliced
    /// inside the character and panicked.
    #[test]
    fn fonts_face_of_not_a_char_boundary() {
        let font = font_from_names(Some("CÓ440000"), None, None, None);
        assert_eq!(font.font, StdFont::COURIER);
    }

    #[test]
    fn a_grid_gives_the_code_page_and_the_fgid_the_size() {
        // GCSGID 697, CPGID 37, FGID 85 (Courier 12 cpi), width 120.
        let grid = [0x02, 0xB9, 0x00, 0x25, 0x00, 0x55, 0x00, 0x78];
        let font = font_from_names(None, Some("X0?????"), None, Some(&grid));
        assert_eq!(
            (font.font, font.size, font.ccsid),
            (StdFont::COURIER, Some(10.0), Some(37))
        );
    }
}
