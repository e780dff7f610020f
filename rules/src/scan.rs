//! Keys from scans: OCR words with their boxes in millimetres, zones in
//! millimetres (`zone_mm`), the confidence of a value, and `shape`, which
//! corrects the usual OCR confusions (O/0, I/1, S/5...) in codes.

use std::ops::Range;

use regex::Regex;

/// One OCR word of a page: its text, its box in millimetres from the page's
/// top-left corner, and the OCR engine's confidence (0 to 100). The pipeline stores a
/// scan's words in this form (JSON, one list per page).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Word {
    /// The word as read.
    pub text: String,
    /// Left edge, millimetres from the page's left edge.
    pub x_mm: f32,
    /// Top edge, millimetres from the page's top edge.
    pub y_mm: f32,
    /// Width, millimetres.
    pub width_mm: f32,
    /// Height, millimetres.
    pub height_mm: f32,
    /// The engine's confidence, 0 to 100; a negative or NaN confidence
    /// (tesseract writes -1 for non-words) is unknown and never lowers a
    /// key's confidence.
    pub confidence: f32,
}

impl Word {
    fn centre(&self) -> (f32, f32) {
        (
            self.x_mm + self.width_mm / 2.0,
            self.y_mm + self.height_mm / 2.0,
        )
    }

    fn known_confidence(&self) -> Option<f32> {
        (self.confidence >= 0.0).then_some(self.confidence)
    }
}

/// `zone_mm = { page = 1, x = [120, 200], y = [30, 45] }`, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MmZone {
    /// 1-based, or negative from the end (-1 = last page); never 0.
    pub(crate) page: i64,
    pub(crate) x: (f64, f64),
    pub(crate) y: (f64, f64),
}

impl MmZone {
    /// Check a `zone_mm` as written.
    pub(crate) fn check(page: i64, x: &[f64], y: &[f64]) -> Result<MmZone, String> {
        if page == 0 {
            return Err("page 0 does not exist: pages start at 1 (-1 = last page)".into());
        }
        let range = |what: &str, pair: &[f64]| -> Result<(f64, f64), String> {
            let &[from, to] = pair else {
                return Err(format!(
                    "{what} must be [from, to] (2 numbers, millimetres), got {}",
                    pair.len()
                ));
            };
            if !from.is_finite() || !to.is_finite() || from < 0.0 || to < 0.0 {
                return Err(format!(
                    "{what} must be millimetres from the page's edge (0 or more), got [{from}, {to}]"
                ));
            }
            if from > to {
                return Err(format!(
                    "{what} [{from}, {to}] goes backwards (from must be <= to)"
                ));
            }
            Ok((from, to))
        };
        Ok(MmZone {
            page,
            x: range("x", x)?,
            y: range("y", y)?,
        })
    }

    /// `p1 x120-200 y30-45`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "p{} x{}-{} y{}-{}",
            self.page, self.x.0, self.x.1, self.y.0, self.y.1
        )
    }

    /// 0-based index of the zone's page among `page_count` pages, if it exists.
    pub(crate) fn page_index(&self, page_count: usize) -> Option<usize> {
        page_index(self.page, page_count)
    }

    fn holds(&self, word: &Word) -> bool {
        let (cx, cy) = word.centre();
        let (cx, cy) = (f64::from(cx), f64::from(cy));
        self.x.0 <= cx && cx <= self.x.1 && self.y.0 <= cy && cy <= self.y.1
    }

    /// The words of `page` whose box centre lies in the zone, laid out.
    pub(crate) fn text<'w>(&self, page: &'w [Word]) -> Laid<'w> {
        Laid::new(page.iter().filter(|w| self.holds(w)).collect())
    }
}

/// 0-based index of 1-based (or negative from the end) `page` among
/// `page_count` pages.
pub(crate) fn page_index(page: i64, page_count: usize) -> Option<usize> {
    if page > 0 {
        let i = usize::try_from(page - 1).ok()?;
        (i < page_count).then_some(i)
    } else {
        let back = usize::try_from(page.unsigned_abs()).ok()?;
        page_count.checked_sub(back)
    }
}

/// Words laid out as text: grouped into lines (vertical centres within half
/// the median word height of the line's mean centre), lines top to bottom,
/// words left to right, words joined by a space and lines by `'\n'`.
pub(crate) struct Laid<'w> {
    pub(crate) text: String,
    /// Byte range of each word in `text`, and the word.
    spans: Vec<(Range<usize>, &'w Word)>,
}

impl<'w> Laid<'w> {
    pub(crate) fn new(mut words: Vec<&'w Word>) -> Laid<'w> {
        words.retain(|w| !w.text.trim().is_empty());
        let mut heights: Vec<f32> = words.iter().map(|w| w.height_mm).collect();
        heights.sort_by(f32::total_cmp);
        let tolerance = match heights.len() {
            0 => 0.0,
            n if n % 2 == 1 => heights[n / 2] / 2.0,
            n => (heights[n / 2 - 1] + heights[n / 2]) / 4.0,
        };
        words.sort_by(|a, b| a.centre().1.total_cmp(&b.centre().1));
        // (sum of centres, words)
        let mut lines: Vec<(f32, Vec<&Word>)> = Vec::new();
        for w in words {
            let cy = w.centre().1;
            match lines.last_mut() {
                Some((sum, line)) if (cy - *sum / line.len() as f32).abs() <= tolerance => {
                    *sum += cy;
                    line.push(w);
                }
                _ => lines.push((cy, vec![w])),
            }
        }
        let mut text = String::new();
        let mut spans = Vec::new();
        for (i, (_, mut line)) in lines.into_iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            line.sort_by(|a, b| a.x_mm.total_cmp(&b.x_mm));
            for (j, w) in line.into_iter().enumerate() {
                if j > 0 {
                    text.push(' ');
                }
                let t = w.text.trim();
                spans.push((text.len()..text.len() + t.len(), w));
                text.push_str(t);
            }
        }
        Laid { text, spans }
    }

    /// Lowest known confidence of the words overlapping bytes `range` of
    /// the text (None if no overlapping word has a known confidence).
    pub(crate) fn confidence(&self, range: Range<usize>) -> Option<f32> {
        self.spans
            .iter()
            .filter(|(span, _)| span.start < range.end && range.start < span.end)
            .filter_map(|(_, w)| w.known_confidence())
            .reduce(f32::min)
    }
}

/// Best-effort confidence of a value read from a page's text (a regex or a
/// text-grid zone): the page's words are laid out (as for a `zone_mm`, the
/// whole page) with every separator a single space, and the value, its
/// whitespace runs made single spaces, is searched in that text; the words
/// overlapping its first occurrence give the lowest confidence. If it is not
/// there (the text and the words were laid out differently), each
/// whitespace-separated part of the value must be in some word (the first
/// such word is taken); if one part is in none, None.
pub(crate) fn text_confidence(page: &[Word], value: &str) -> Option<f32> {
    let laid = Laid::new(page.iter().collect());
    let flat = laid.text.replace('\n', " ");
    let wanted = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if wanted.is_empty() {
        return None;
    }
    if let Some(start) = flat.find(&wanted) {
        return laid.confidence(start..start + wanted.len());
    }
    let mut lowest: Option<f32> = None;
    for part in value.split_whitespace() {
        let word = page.iter().find(|w| w.text.contains(part))?;
        if let Some(c) = word.known_confidence() {
            lowest = Some(lowest.map_or(c, |l| l.min(c)));
        }
    }
    lowest
}

/// A key's `shape`: the regex as written, and anchored on the whole value.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    pub(crate) written: String,
    pub(crate) whole: Regex,
}

/// What a shape makes of a raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shaped {
    /// The value fits, as found (`None`) or corrected (`Some(corrected)`).
    Fits(Option<String>),
    /// Several corrections with the fewest changes fit: the rules never guess.
    Ambiguous(Vec<String>),
    /// No correction fits (within the budget).
    NoFit,
}

/// At most this many variants are tried per form of the value (as found,
/// spaces removed).
const BUDGET: usize = 1 << 12;

/// The character an OCR engine may have read instead of `c`.
fn confusable(c: char) -> Option<char> {
    Some(match c {
        'O' | 'o' | 'Q' | 'D' => '0',
        'I' | 'l' | '|' | 'i' => '1',
        'Z' | 'z' => '2',
        'S' | 's' => '5',
        'B' => '8',
        'G' => '6',
        'T' => '7',
        '0' => 'O',
        '1' => 'I',
        '5' => 'S',
        '8' => 'B',
        '2' => 'Z',
        '6' => 'G',
        _ => return None,
    })
}

impl Shape {
    /// Fit `raw` (trimmed) to the shape: as it is; else with its inner
    /// whitespace removed; else with the fewest confusable characters
    /// swapped (in either form), if exactly one variant with that number of
    /// swaps fits.
    pub(crate) fn fit(&self, raw: &str) -> Shaped {
        let trimmed = raw.trim();
        if self.whole.is_match(trimmed) {
            return Shaped::Fits(None);
        }
        let stripped: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        if stripped != trimmed && self.whole.is_match(&stripped) {
            return Shaped::Fits(Some(stripped));
        }
        let mut forms = vec![trimmed.to_string()];
        if stripped != trimmed {
            forms.push(stripped);
        }
        // (number of swaps, variants that fit with that number)
        let mut best: Option<(usize, Vec<String>)> = None;
        for form in &forms {
            if let Some((k, fits)) = self.fewest_swaps(form) {
                match &mut best {
                    Some((bk, _)) if k > *bk => {}
                    Some((bk, bv)) if k == *bk => {
                        for f in fits {
                            if !bv.contains(&f) {
                                bv.push(f);
                            }
                        }
                    }
                    _ => best = Some((k, fits)),
                }
            }
        }
        match best {
            None => Shaped::NoFit,
            Some((_, mut fits)) if fits.len() == 1 => Shaped::Fits(fits.pop()),
            Some((_, fits)) => Shaped::Ambiguous(fits),
        }
    }

    /// The smallest number of swaps with which some variant of `form` fits,
    /// and all variants that fit with that many; variants are tried by
    /// increasing number of swaps, at most [`BUDGET`] of them, and a number
    /// of swaps counts only if all its variants were tried.
    fn fewest_swaps(&self, form: &str) -> Option<(usize, Vec<String>)> {
        let chars: Vec<char> = form.chars().collect();
        let ambiguous: Vec<usize> = (0..chars.len())
            .filter(|&i| confusable(chars[i]).is_some())
            .collect();
        let n = ambiguous.len();
        let mut tried = 1; // the form itself, already refused
        for k in 1..=n {
            let mut fits = Vec::new();
            // positions (indices into `ambiguous`) of the k swaps, ascending
            let mut pick: Vec<usize> = (0..k).collect();
            loop {
                if tried >= BUDGET {
                    return None;
                }
                tried += 1;
                let mut variant = chars.clone();
                for &p in &pick {
                    let at = ambiguous[p];
                    if let Some(c) = confusable(chars[at]) {
                        variant[at] = c;
                    }
                }
                let variant: String = variant.into_iter().collect();
                if self.whole.is_match(&variant) {
                    fits.push(variant);
                }
                // next combination of k among n
                let Some(i) = (0..k).rev().find(|&i| pick[i] < n - k + i) else {
                    break;
                };
                pick[i] += 1;
                for j in i + 1..k {
                    pick[j] = pick[j - 1] + 1;
                }
            }
            if !fits.is_empty() {
                return Some((k, fits));
            }
        }
        None
    }
}

/// A confidence for messages: one decimal at most (`62`, `62.5`).
pub(crate) fn show_confidence(c: f32) -> String {
    let rounded = (f64::from(c) * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(re: &str) -> Shape {
        Shape {
            written: re.to_string(),
            whole: Regex::new(&format!("^(?:{re})$")).unwrap(),
        }
    }

    fn w(text: &str, x: f32, y: f32, conf: f32) -> Word {
        Word {
            text: text.into(),
            x_mm: x,
            y_mm: y,
            width_mm: 4.0 * text.chars().count() as f32 / 2.0,
            height_mm: 4.0,
            confidence: conf,
        }
    }

    #[test]
    fn shapes() {
        let s = shape(r"CL\d{6}");
        assert_eq!(s.fit("CL004713"), Shaped::Fits(None));
        assert_eq!(s.fit(" CL004713 "), Shaped::Fits(None));
        assert_eq!(s.fit("CLOO4713"), Shaped::Fits(Some("CL004713".into())));
        assert_eq!(s.fit("CL 004713"), Shaped::Fits(Some("CL004713".into())));
        assert_eq!(s.fit("CL OO4713"), Shaped::Fits(Some("CL004713".into())));
        assert_eq!(s.fit("CLOO47"), Shaped::NoFit);
        assert_eq!(s.fit("XX004713"), Shaped::NoFit);
        let s = shape(r"FA-\d{4}-\d{6}");
        assert_eq!(
            s.fit("FA-2O24-OOO5O1"),
            Shaped::Fits(Some("FA-2024-000501".into()))
        );
        let s = shape(r"[A-Z]{2}\d{2}|\d{2}[A-Z]{2}");
        assert_eq!(
            s.fit("OOOO"),
            Shaped::Ambiguous(vec!["00OO".into(), "OO00".into()])
        );
        // too many ambiguous characters for the budget: refused, not guessed
        let s = shape(r"\d{40}");
        assert_eq!(s.fit(&"O".repeat(40)), Shaped::NoFit);
        assert_eq!(s.fit(&"0".repeat(40)), Shaped::Fits(None));
    }

    #[test]
    fn layout_groups_lines() {
        let words = [
            w("b", 30.0, 10.5, 90.0),
            w("a", 10.0, 10.0, 80.0),
            w("d", 30.0, 20.0, 70.0),
            w("c", 10.0, 21.0, 60.0),
            w(" ", 50.0, 20.0, 10.0),
        ];
        let laid = Laid::new(words.iter().collect());
        assert_eq!(laid.text, "a b\nc d");
        assert_eq!(laid.confidence(0..1), Some(80.0));
        assert_eq!(laid.confidence(0..3), Some(80.0));
        assert_eq!(laid.confidence(2..5), Some(60.0));
        assert_eq!(text_confidence(&words, "b\n c"), Some(60.0));
        assert_eq!(text_confidence(&words, "x"), None);
        assert_eq!(show_confidence(62.0), "62");
        assert_eq!(show_confidence(62.46), "62.5");
    }
}
