//! The streaming PDF writer for AFP pages: standard fonts (WinAnsi, with a ToUnicode map so
//! text extracts as Unicode) written when first used, each image once per PDF however many
//! pages show it, one compressed content stream per page. Memory holds one page.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use flate2::Compression;

use super::background::PdfBackground;
use super::fonts::StdFont;
use super::page::{AfpPage, Item, PlacedImage, Rgb, TextRun};
use crate::charset::windows_1252_byte;
use crate::image::{Encoding, ImagePage, PageColor};
// `push_number`: PDF numbers without `format!`, the hot path of every page.
use crate::pdf::{
    deflate_reusing, push_number_str as push_number, to_unicode_cmap, write_trailer, Counting,
    REPLACEMENT_CODE,
};

const CATALOG: u32 = 1;
const PAGES: u32 = 2;
const INFO: u32 = 3;
const TO_UNICODE: u32 = 4;
const FIRST_FREE: u32 = 5;

/// Writes AFP pages to a PDF as they come.
pub struct AfpPdfWriter<W: Write> {
    out: Counting<W>,
    offsets: Vec<u64>,
    page_objects: Vec<u32>,
    fonts: [Option<u32>; 12],
    images: HashMap<u64, u32>,
    backgrounds: HashMap<u64, u32>,
    content: String,
    /// One compressor for every page (creating one per page cost more than compressing).
    deflate: flate2::Compress,
}

impl<W: Write> AfpPdfWriter<W> {
    pub fn new(inner: W) -> io::Result<AfpPdfWriter<W>> {
        let mut writer = AfpPdfWriter {
            out: Counting { inner, written: 0 },
            offsets: vec![0; FIRST_FREE as usize],
            page_objects: Vec::new(),
            fonts: [None; 12],
            images: HashMap::new(),
            backgrounds: HashMap::new(),
            content: String::with_capacity(16 * 1024),
            deflate: flate2::Compress::new(Compression::fast(), true),
        };
        writer.out.write_all(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")?;
        writer.begin_object(TO_UNICODE)?;
        let cmap = unicode_cmap();
        write!(writer.out, "<< /Length {} >>\nstream\n", cmap.len())?;
        writer.out.write_all(cmap.as_bytes())?;
        writer.out.write_all(b"\nendstream\nendobj\n")?;
        Ok(writer)
    }

    pub fn pages(&self) -> usize {
        self.page_objects.len()
    }

    fn begin_object(&mut self, id: u32) -> io::Result<()> {
        let index = id as usize;
        if self.offsets.len() <= index {
            self.offsets.resize(index + 1, 0);
        }
        self.offsets[index] = self.out.written;
        writeln!(self.out, "{id} 0 obj")
    }

    fn next_id(&mut self) -> u32 {
        let id = u32::try_from(self.offsets.len()).unwrap_or(u32::MAX);
        self.offsets.push(0);
        id
    }

    fn font(&mut self, font: StdFont) -> io::Result<u32> {
        if let Some(id) = self.fonts[font.index()] {
            return Ok(id);
        }
        let id = self.next_id();
        self.begin_object(id)?;
        write!(
            self.out,
            "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [{REPLACEMENT_CODE} /question] >> /ToUnicode {TO_UNICODE} 0 R >>\nendobj\n",
            font.pdf_name()
        )?;
        self.fonts[font.index()] = Some(id);
        Ok(id)
    }

    fn image(&mut self, placed: &PlacedImage) -> io::Result<u32> {
        if let Some(&id) = self.images.get(&placed.id) {
            return Ok(id);
        }
        let id = self.next_id();
        write_image(self, id, &placed.image)?;
        self.images.insert(placed.id, id);
        Ok(id)
    }

    fn background(&mut self, background: &PdfBackground) -> io::Result<u32> {
        if let Some(&id) = self.backgrounds.get(&background.id) {
            return Ok(id);
        }
        let offsets = std::cell::RefCell::new(std::mem::take(&mut self.offsets));
        let mut allocate = || {
            let mut offsets = offsets.borrow_mut();
            let id = u32::try_from(offsets.len()).unwrap_or(u32::MAX);
            offsets.push(0);
            id
        };
        let mut begin = |out: &mut Counting<W>, id: u32| -> io::Result<()> {
            let mut offsets = offsets.borrow_mut();
            if let Some(slot) = offsets.get_mut(id as usize) {
                *slot = out.written;
            }
            writeln!(out, "{id} 0 obj")
        };
        let result = background.write(&mut self.out, &mut allocate, &mut begin);
        self.offsets = offsets.into_inner();
        let id = result?;
        self.backgrounds.insert(background.id, id);
        Ok(id)
    }

    /// Appends one page.
    pub fn add_page(&mut self, page: &AfpPage) -> io::Result<()> {
        let mut used_fonts: Vec<StdFont> = Vec::new();
        let mut used_images: Vec<(u64, u32)> = Vec::new();
        let mut used_backgrounds: Vec<(u64, u32)> = Vec::new();
        let mut content = std::mem::take(&mut self.content);
        content.clear();
        // Fill colour and text state persist through the page's content (BT/ET keep them;
        // the q/Q of images restore them): set again only when they change.
        let mut state = ContentState::default();
        for item in &page.items {
            match item {
                Item::Text(run) => {
                    if !used_fonts.contains(&run.font) {
                        used_fonts.push(run.font);
                    }
                    text_ops(&mut content, run, &mut state);
                }
                Item::Rule(rule) => {
                    state.fill(&mut content, rule.color);
                    for value in [rule.x, rule.y, rule.width, rule.height] {
                        push_number(&mut content, value, 3);
                        content.push(' ');
                    }
                    content.push_str("re f\n");
                }
                Item::Background(placed) => {
                    let id = self.background(&placed.background)?;
                    if !used_backgrounds
                        .iter()
                        .any(|(bg, _)| *bg == placed.background.id)
                    {
                        used_backgrounds.push((placed.background.id, id));
                    }
                    let (ox, oy) = placed.background.origin;
                    let (sx, sy) = (placed.scale_x, placed.scale_y);
                    let _ = writeln!(
                        content,
                        "q {sx:.5} 0 0 {sy:.5} {:.3} {:.3} cm /Bg{} Do Q",
                        placed.x - ox * sx,
                        placed.y - oy * sy,
                        placed.background.id
                    );
                }
                Item::Image(placed) => {
                    let id = self.image(placed)?;
                    if !used_images.iter().any(|(image, _)| *image == placed.id) {
                        used_images.push((placed.id, id));
                    }
                    let _ = writeln!(
                        content,
                        "q {:.3} 0 0 {:.3} {:.3} {:.3} cm /Im{} Do Q",
                        placed.width, placed.height, placed.x, placed.y, placed.id
                    );
                }
            }
        }
        let mut resources = String::from("<< ");
        if !used_fonts.is_empty() {
            resources.push_str("/Font << ");
            for font in used_fonts {
                let id = self.font(font)?;
                let _ = write!(resources, "/F{} {id} 0 R ", font.index());
            }
            resources.push_str(">> ");
        }
        if !used_images.is_empty() || !used_backgrounds.is_empty() {
            resources.push_str("/XObject << ");
            for (image, id) in &used_images {
                let _ = write!(resources, "/Im{image} {id} 0 R ");
            }
            for (background, id) in &used_backgrounds {
                let _ = write!(resources, "/Bg{background} {id} 0 R ");
            }
            resources.push_str(">> ");
        }
        resources.push_str(">>");
        let compressed = deflate(&mut self.deflate, content.as_bytes())?;
        self.content = content;
        let content_id = self.next_id();
        self.begin_object(content_id)?;
        write!(
            self.out,
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            compressed.len()
        )?;
        self.out.write_all(&compressed)?;
        self.out.write_all(b"\nendstream\nendobj\n")?;
        let page_id = self.next_id();
        self.begin_object(page_id)?;
        write!(
            self.out,
            "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {:.2} {:.2}] /Resources {resources} /Contents {content_id} 0 R >>\nendobj\n",
            page.width, page.height
        )?;
        self.page_objects.push(page_id);
        Ok(())
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

/// The ToUnicode map, made once per process (every part's PDF carries it).
fn unicode_cmap() -> &'static str {
    static CMAP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CMAP.get_or_init(to_unicode_cmap)
}

/// What the content stream has set so far on this page.
#[derive(Default)]
struct ContentState {
    fill: Option<Rgb>,
    font: Option<(usize, f32)>,
    word_space: Option<f32>,
    char_space: Option<f32>,
    scale: Option<f32>,
}

impl ContentState {
    fn fill(&mut self, content: &mut String, rgb: Rgb) {
        if self.fill == Some(rgb) {
            return;
        }
        self.fill = Some(rgb);
        for component in rgb {
            push_number(content, component, 3);
            content.push(' ');
        }
        content.push_str("rg ");
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `BT … ET` for one run: what changed of font, colour and spacing, the matrix of its
/// direction, the codes.
fn text_ops(content: &mut String, run: &TextRun, state: &mut ContentState) {
    let (cos, sin): (f32, f32) = match run.angle % 360 {
        90 => (0.0, 1.0),
        180 => (-1.0, 0.0),
        270 => (0.0, -1.0),
        _ => (1.0, 0.0),
    };
    state.fill(content, run.color);
    content.push_str("BT ");
    let font = (run.font.index(), run.size);
    if state.font != Some(font) {
        state.font = Some(font);
        content.push_str("/F");
        push_number(content, font.0 as f32, 0);
        content.push(' ');
        push_number(content, run.size, 3);
        content.push_str(" Tf ");
    }
    for (value, current, operator) in [
        (run.word_space, &mut state.word_space, " Tw "),
        (run.char_space, &mut state.char_space, " Tc "),
        (run.scale, &mut state.scale, " Tz "),
    ] {
        if *current != Some(value) {
            *current = Some(value);
            push_number(content, value, 4);
            content.push_str(operator);
        }
    }
    for value in [cos, sin, -sin, cos, run.x, run.y] {
        push_number(content, value, 3);
        content.push(' ');
    }
    content.push_str("Tm <");
    for ch in run.text.chars() {
        let code = windows_1252_byte(ch)
            .filter(|&code| code >= 0x20)
            .unwrap_or(REPLACEMENT_CODE);
        content.push(HEX[usize::from(code >> 4)] as char);
        content.push(HEX[usize::from(code & 0x0F)] as char);
    }
    content.push_str("> Tj ET\n");
    if run.underline && run.width > 0.0 {
        // Below the baseline, along the run's direction.
        let (offset, thickness) = (run.size * 0.12, (run.size * 0.05).max(0.4));
        content.push_str("q ");
        for value in [cos, sin, -sin, cos, run.x, run.y] {
            push_number(content, value, 3);
            content.push(' ');
        }
        content.push_str("cm 0 ");
        for value in [-offset - thickness, run.width, thickness] {
            push_number(content, value, 3);
            content.push(' ');
        }
        content.push_str("re f Q\n");
    }
}

/// The image XObject of `image` as object `id`.
fn write_image<W: Write>(
    writer: &mut AfpPdfWriter<W>,
    id: u32,
    image: &ImagePage,
) -> io::Result<()> {
    let color_space = match &image.color {
        PageColor::Gray => "/DeviceGray".to_string(),
        PageColor::Rgb => "/DeviceRGB".to_string(),
        PageColor::Cmyk => "/DeviceCMYK".to_string(),
        PageColor::Indexed(palette) => {
            let mut hex = String::with_capacity(palette.len() * 2);
            for byte in palette {
                let _ = write!(hex, "{byte:02X}");
            }
            format!(
                "[/Indexed /DeviceRGB {} <{hex}>]",
                (palette.len() / 3).saturating_sub(1)
            )
        }
    };
    let mut dict = format!(
        "<< /Type /XObject /Subtype /Image /Width {} /Height {} /BitsPerComponent {} /ColorSpace {color_space} /Length {}",
        image.width_px,
        image.height_px,
        image.bits_per_component,
        image.data.len()
    );
    match image.encoding {
        Encoding::CcittFax {
            k,
            black_is_1,
            encoded_byte_align,
        } => {
            let _ = write!(
                dict,
                " /Filter /CCITTFaxDecode /DecodeParms << /K {k} /Columns {} /Rows {} /BlackIs1 {black_is_1} /EncodedByteAlign {encoded_byte_align} >>",
                image.width_px, image.height_px
            );
        }
        Encoding::Dct { adobe_inverted } => {
            dict.push_str(" /Filter /DCTDecode");
            if adobe_inverted {
                dict.push_str(" /Decode [1 0 1 0 1 0 1 0]");
            }
        }
        Encoding::Flate { png_predictor } => {
            dict.push_str(" /Filter /FlateDecode");
            if png_predictor {
                let components = match image.color {
                    PageColor::Rgb => 3,
                    PageColor::Cmyk => 4,
                    _ => 1,
                };
                let _ = write!(
                    dict,
                    " /DecodeParms << /Predictor 15 /Colors {components} /BitsPerComponent {} /Columns {} >>",
                    image.bits_per_component, image.width_px
                );
            }
        }
    }
    if image.inverted {
        dict.push_str(" /Decode [1 0]");
    }
    dict.push_str(" >>");
    writer.begin_object(id)?;
    writer.out.write_all(dict.as_bytes())?;
    writer.out.write_all(b"\nstream\n")?;
    writer.out.write_all(&image.data)?;
    writer.out.write_all(b"\nendstream\nendobj\n")
}

fn deflate(compress: &mut flate2::Compress, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    deflate_reusing(compress, data, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_short_and_exact() {
        let mut out = String::new();
        for (value, decimals) in [
            (0.0, 3),
            (12.5, 3),
            (-0.0004, 3),
            (-3.14159, 4),
            (841.89, 2),
            (100.0, 2),
            (0.3, 3),
        ] {
            push_number(&mut out, value, decimals);
            out.push(' ');
        }
        assert_eq!(out, "0 12.5 0 -3.1416 841.89 100 0.3 ");
    }
}
