//! The page model of AFP: what a page shows, in PDF points (origin bottom-left, y up), ready
//! for the PDF writer; and the page's text in reading order for the rules and the index.

use std::sync::Arc;

use super::fonts::StdFont;
use crate::image::ImagePage;

/// An RGB colour, each component 0..=1.
pub type Rgb = [f32; 3];

pub const BLACK: Rgb = [0.0, 0.0, 0.0];

/// A run of text drawn from one point in one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRun {
    /// Start of the baseline.
    pub x: f32,
    pub y: f32,
    /// Direction of the text, degrees counter-clockwise (0, 90, 180, 270).
    pub angle: u16,
    pub font: StdFont,
    pub size: f32,
    pub text: String,
    /// Extra space added to each blank (PDF `Tw`), so blanks are as wide as the AFP said.
    pub word_space: f32,
    /// Extra space after every character (PDF `Tc`).
    pub char_space: f32,
    pub color: Rgb,
    pub underline: bool,
    /// Width of the run along its direction, in points.
    pub width: f32,
    /// Horizontal scaling in percent (PDF `Tz`): below 100 when the AFP places the next run
    /// of the line before this one would end in the standard font (its font was narrower,
    /// or its producer kerned).
    pub scale: f32,
}

/// A filled rectangle (PTOCA rules, and underlines).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub color: Rgb,
}

/// An image drawn into a box.
#[derive(Debug, Clone)]
pub struct PlacedImage {
    /// Identifies the image within the run, so a logo on every page is stored once per PDF.
    pub id: u64,
    pub image: Arc<ImagePage>,
    /// The box the image fills: lower-left corner and size.
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// A PDF page drawn as an overlay (the resource folder's `NAME.pdf`).
#[derive(Debug, Clone)]
pub struct PlacedBackground {
    pub background: Arc<super::background::PdfBackground>,
    /// Where the background page's lower-left corner goes.
    pub x: f32,
    pub y: f32,
    /// Scale along x and y (1 for an overlay; an object container's PDF fits its area).
    pub scale_x: f32,
    pub scale_y: f32,
}

/// One thing on a page, in drawing order.
#[derive(Debug, Clone)]
pub enum Item {
    Text(TextRun),
    Rule(Rule),
    Image(PlacedImage),
    Background(PlacedBackground),
}

/// A rendered page.
#[derive(Debug, Clone, Default)]
pub struct AfpPage {
    /// 1-based number of the page in the run.
    pub number: usize,
    pub width: f32,
    pub height: f32,
    pub items: Vec<Item>,
    /// Index attributes (TLE) placed inside the page.
    pub tles: Vec<(String, String)>,
    /// What could not be shown ("missing overlay O1INVBG1"), each once.
    pub warnings: Vec<String>,
}

impl AfpPage {
    /// Narrows each run that would run into the next one on its baseline, so every run ends
    /// where the AFP starts the next (at most 15 % narrower; beyond that the AFP overprints
    /// on purpose, or its font is not the one drawn).
    pub fn fit_runs(&mut self) {
        let mut order: Vec<usize> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| matches!(item, Item::Text(run) if run.angle == 0))
            .map(|(index, _)| index)
            .collect();
        let key = |item: &Item| match item {
            Item::Text(run) => (run.y, run.x),
            _ => (0.0, 0.0),
        };
        order.sort_by(|&a, &b| {
            let (ya, xa) = key(&self.items[a]);
            let (yb, xb) = key(&self.items[b]);
            ya.total_cmp(&yb).then(xa.total_cmp(&xb))
        });
        for pair in order.windows(2) {
            let (next_x, next_y) = match &self.items[pair[1]] {
                Item::Text(next) => (next.x, next.y),
                _ => continue,
            };
            let Item::Text(run) = &mut self.items[pair[0]] else {
                continue;
            };
            if (run.y - next_y).abs() > 0.01 || next_x <= run.x || run.width <= 0.0 {
                continue;
            }
            let room = next_x - run.x;
            if run.width > room + 0.01 {
                let scale = room / run.width;
                if scale >= 0.85 {
                    run.scale = 100.0 * scale;
                    run.width = room;
                }
            }
        }
    }

    /// The page's text, one line per baseline, top to bottom, runs left to right; runs on the
    /// same baseline are joined with one blank when apart, without when they touch.
    pub fn text(&self) -> String {
        let mut runs: Vec<&TextRun> = self
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Text(run) if !run.text.trim().is_empty() => Some(run),
                _ => None,
            })
            .collect();
        // Reading order of upright text: descending baseline, then left to right. Turned runs
        // are read where they start, like pdftotext does without -layout.
        runs.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x.total_cmp(&b.x)));
        let mut text = String::new();
        let mut line: Vec<&TextRun> = Vec::new();
        let flush = |line: &mut Vec<&TextRun>, text: &mut String| {
            line.sort_by(|a, b| a.x.total_cmp(&b.x));
            let mut end = f32::NEG_INFINITY;
            for (index, run) in line.iter().enumerate() {
                if index > 0 && run.x > end + run.size * 0.15 {
                    text.push(' ');
                }
                text.push_str(run.text.trim_end());
                end = run.x + run.width;
            }
            text.push('\n');
            line.clear();
        };
        for run in runs {
            if let Some(first) = line.first() {
                if (first.y - run.y).abs() > first.size.min(run.size) * 0.4 {
                    flush(&mut line, &mut text);
                }
            }
            line.push(run);
        }
        if !line.is_empty() {
            flush(&mut line, &mut text);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::afp::fonts::{Family, StdFont};

    fn run(x: f32, y: f32, text: &str) -> Item {
        Item::Text(TextRun {
            x,
            y,
            angle: 0,
            font: StdFont {
                family: Family::Courier,
                bold: false,
                italic: false,
            },
            size: 10.0,
            text: text.into(),
            word_space: 0.0,
            char_space: 0.0,
            color: BLACK,
            underline: false,
            width: text.len() as f32 * 6.0,
            scale: 100.0,
        })
    }

    #[test]
    fn text_reads_top_to_bottom_and_joins_runs_of_a_line() {
        let page = AfpPage {
            number: 1,
            width: 595.0,
            height: 842.0,
            items: vec![
                run(300.0, 700.0, "Client No: CL004711"),
                run(50.0, 700.5, "Invoice No: FA-1"),
                run(50.0, 800.0, "ACME SARL"),
                run(50.0, 690.0, "Date"),
                run(74.0, 690.0, ": 15/03/2024"),
            ],
            ..AfpPage::default()
        };
        assert_eq!(
            page.text(),
            "ACME SARL\nInvoice No: FA-1 Client No: CL004711\nDate: 15/03/2024\n"
        );
    }
}
