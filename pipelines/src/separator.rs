//! Separator sheets (issue 6): the pages at which a scanned batch is cut into letters.
//!
//! A page is a separator when it carries a barcode whose value is one of the configured
//! values (`GREFFIER-SEP`), or whose value starts with a configured prefix (`CLIENT:C01234`
//! with the prefix `CLIENT:` mapped to the key `client_number`: a separator that hands the key
//! `client_number = C01234` to the next document); and, when asked for, when it is blank: its
//! share of dark pixels, once a margin of 3 % on each side is left out (scanner edges, the
//! shadow of the lid), is under a threshold.
//!
//! Pure: a page comes in as a grey bitmap in PNM (P5 8-bit grey, or P4 1-bit where 1 is black),
//! what [`crate::image::page_as_pnm`] makes for OCR, and nothing is read or written elsewhere.
//!
//! Barcodes are read by `rxing` (a port of ZXing) built with its QR code and 1-D readers only
//! (Code 128, Code 39 …), fed our luma buffer: no image crate. Pages wider or taller than
//! [`DECODE_MAX_SIDE`] pixels (a 300 dpi A4 page) are halved first: the barcodes of a
//! separator sheet are big, and the decoder's time grows with the pixels.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rxing::common::HybridBinarizer;
use rxing::multi::{GenericMultipleBarcodeReader, MultipleBarcodeReader};
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8Source, MultiUseMultiFormatReader};

/// The largest page side, in pixels, decoded as it is; a bigger page is halved (box filter)
/// until it fits. 1800 keeps a 150 dpi A4 page (1240 x 1754) whole and halves a 300 dpi one.
pub const DECODE_MAX_SIDE: u32 = 1800;

/// The largest image [`parse_pnm`] takes, in pixels: an A4 page at 600 dpi is 35 M.
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// Luma under which a pixel counts as ink for blank-page detection.
const INK_LUMA: u8 = 128;

/// Share of the page ignored on each side when measuring ink.
const BLANK_MARGIN: f32 = 0.03;

/// What makes a page a separator.
#[derive(Debug, Clone, PartialEq)]
pub struct SeparatorConfig {
    /// Exact barcode values that mark a separator; default `["GREFFIER-SEP"]`.
    pub barcode_values: Vec<String>,
    /// `(prefix, key)`: a barcode `prefix` + `value` (value not empty) is a separator that
    /// carries `key = value` to the next document. `("CLIENT:", "client_number")` reads
    /// `CLIENT:C01234` as `client_number = C01234`. Default: none.
    pub key_prefixes: Vec<(String, String)>,
    /// Blank pages are separators too; default false.
    pub blank_pages: bool,
    /// Share of dark pixels (luma under 128) under which a page is blank, measured inside a
    /// margin of 3 % on each side; default 0.002.
    pub blank_ink_ratio: f32,
}

impl Default for SeparatorConfig {
    fn default() -> Self {
        SeparatorConfig {
            barcode_values: vec!["GREFFIER-SEP".to_owned()],
            key_prefixes: Vec::new(),
            blank_pages: false,
            blank_ink_ratio: 0.002,
        }
    }
}

/// Why a page is a separator.
#[derive(Debug, Clone, PartialEq)]
pub enum Separator {
    /// A barcode with a configured value or prefix; `key` is `(key, value)` for a prefix.
    Barcode {
        value: String,
        key: Option<(String, String)>,
    },
    /// A blank page, with its measured share of dark pixels.
    Blank { ink_ratio: f32 },
}

/// A grey bitmap: `pixels` holds `width * height` luma bytes, row by row, 0 black, 255 white.
/// A bitmap whose `pixels` do not match its size is no page: no barcode, no separator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Why a PNM could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SeparatorError {
    #[error("not a P4 or P5 portable anymap")]
    NotPnm,
    #[error("malformed pnm header: {0}")]
    Header(&'static str),
    #[error("pnm maxval {0} is not supported (8-bit grey only)")]
    MaxVal(u32),
    #[error("image of {width} x {height} pixels is empty or over the limit of {limit} pixels")]
    Size { width: u32, height: u32, limit: u64 },
    #[error("pnm pixel data is truncated: {got} bytes of {expected}")]
    Truncated { expected: usize, got: usize },
}

impl GrayImage {
    /// A bitmap from its luma bytes; `None` when the length does not match the size.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Option<GrayImage> {
        let expected = (width as usize).checked_mul(height as usize)?;
        (pixels.len() == expected).then_some(GrayImage {
            width,
            height,
            pixels,
        })
    }

    /// Whether `pixels` holds exactly `width * height` bytes.
    pub fn is_consistent(&self) -> bool {
        (self.width as usize).checked_mul(self.height as usize) == Some(self.pixels.len())
    }

    /// Half the size each way, each pixel the mean of a 2 x 2 block (an odd last row or
    /// column is dropped).
    fn halved(&self) -> GrayImage {
        let (w, h) = ((self.width / 2) as usize, (self.height / 2) as usize);
        let stride = self.width as usize;
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            let top = &self.pixels[2 * y * stride..][..stride];
            let bottom = &self.pixels[(2 * y + 1) * stride..][..stride];
            for x in 0..w {
                let sum = u16::from(top[2 * x])
                    + u16::from(top[2 * x + 1])
                    + u16::from(bottom[2 * x])
                    + u16::from(bottom[2 * x + 1]);
                pixels.push(((sum + 2) / 4) as u8);
            }
        }
        GrayImage {
            width: w as u32,
            height: h as u32,
            pixels,
        }
    }
}

/// Reads a P5 (8-bit grey, any maxval up to 255, scaled to 255) or P4 (1-bit, 1 black) PNM
/// of at most [`MAX_PIXELS`]. Bytes after the first image are ignored.
pub fn parse_pnm(bytes: &[u8]) -> Result<GrayImage, SeparatorError> {
    parse_pnm_limited(bytes, MAX_PIXELS)
}

/// [`parse_pnm`] with another limit on the pixels (the fuzz target keeps images small).
pub fn parse_pnm_limited(bytes: &[u8], max_pixels: u64) -> Result<GrayImage, SeparatorError> {
    let mut header = Header { bytes, at: 0 };
    let bitmap = match bytes.get(..2) {
        Some(b"P4") => true,
        Some(b"P5") => false,
        _ => return Err(SeparatorError::NotPnm),
    };
    header.at = 2;
    let width = header.number()?;
    let height = header.number()?;
    let maxval = if bitmap { 1 } else { header.number()? };
    if !bitmap && !(1..=255).contains(&maxval) {
        return Err(SeparatorError::MaxVal(maxval));
    }
    // Exactly one whitespace byte ends the header.
    match bytes.get(header.at) {
        Some(byte) if byte.is_ascii_whitespace() => header.at += 1,
        _ => return Err(SeparatorError::Header("no whitespace after the header")),
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 || pixels > max_pixels {
        return Err(SeparatorError::Size {
            width,
            height,
            limit: max_pixels,
        });
    }
    let (w, h) = (width as usize, height as usize);
    let data = &bytes[header.at..];
    let row_bytes = if bitmap { w.div_ceil(8) } else { w };
    let expected = row_bytes * h;
    if data.len() < expected {
        return Err(SeparatorError::Truncated {
            expected,
            got: data.len(),
        });
    }
    let pixels = if bitmap {
        let mut pixels = Vec::with_capacity(w * h);
        for row in data[..expected].chunks_exact(row_bytes) {
            pixels.extend((0..w).map(|x| {
                if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                    0
                } else {
                    255
                }
            }));
        }
        pixels
    } else if maxval == 255 {
        data[..expected].to_vec()
    } else {
        let scale = |v: u8| ((u32::from(v.min(maxval as u8)) * 255 + maxval / 2) / maxval) as u8;
        data[..expected].iter().map(|&v| scale(v)).collect()
    };
    Ok(GrayImage {
        width,
        height,
        pixels,
    })
}

/// The PNM header reader: decimal numbers between whitespace and `#` comments.
struct Header<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Header<'_> {
    fn number(&mut self) -> Result<u32, SeparatorError> {
        loop {
            match self.bytes.get(self.at) {
                Some(b'#') => {
                    while !matches!(self.bytes.get(self.at), None | Some(b'\n' | b'\r')) {
                        self.at += 1;
                    }
                }
                Some(byte) if byte.is_ascii_whitespace() => self.at += 1,
                Some(_) => break,
                None => return Err(SeparatorError::Header("ends before its numbers")),
            }
        }
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        if start == self.at {
            return Err(SeparatorError::Header("a number is expected"));
        }
        std::str::from_utf8(&self.bytes[start..self.at])
            .ok()
            .and_then(|digits| digits.parse().ok())
            .ok_or(SeparatorError::Header("a number is out of range"))
    }
}

/// Whether `page` is a separator under `config`, and why. A barcode wins over blankness.
pub fn page_separator(page: &GrayImage, config: &SeparatorConfig) -> Option<Separator> {
    if !page.is_consistent() {
        return None;
    }
    let wanted = !config.barcode_values.is_empty() || !config.key_prefixes.is_empty();
    if wanted {
        for value in barcodes(page) {
            if let Some(separator) = barcode_separator(&value, config) {
                return Some(separator);
            }
        }
    }
    if config.blank_pages {
        let ink_ratio = ink_ratio(page);
        if ink_ratio < config.blank_ink_ratio {
            return Some(Separator::Blank { ink_ratio });
        }
    }
    None
}

/// What a barcode value means under `config`: a separator (with its key), or nothing.
pub fn barcode_separator(value: &str, config: &SeparatorConfig) -> Option<Separator> {
    if config.barcode_values.iter().any(|wanted| wanted == value) {
        return Some(Separator::Barcode {
            value: value.to_owned(),
            key: None,
        });
    }
    config.key_prefixes.iter().find_map(|(prefix, key)| {
        let rest = value.strip_prefix(prefix.as_str())?;
        (!rest.is_empty()).then(|| Separator::Barcode {
            value: value.to_owned(),
            key: Some((key.clone(), rest.to_owned())),
        })
    })
}

/// The share of dark pixels (luma under 128) of `page`, a margin of 3 % on each side left out
/// (0 for a page so narrow that nothing is left, 1 for an inconsistent bitmap: never blank).
pub fn ink_ratio(page: &GrayImage) -> f32 {
    if !page.is_consistent() {
        return 1.0;
    }
    let (w, h) = (page.width as usize, page.height as usize);
    let margin = |side: usize| (side as f32 * BLANK_MARGIN).ceil() as usize;
    let (mx, my) = (margin(w), margin(h));
    if w <= 2 * mx || h <= 2 * my {
        return 0.0;
    }
    let mut dark = 0u64;
    for y in my..h - my {
        let row = &page.pixels[y * w..][mx..w - mx];
        dark += row.iter().filter(|&&luma| luma < INK_LUMA).count() as u64;
    }
    let counted = ((w - 2 * mx) * (h - 2 * my)) as f64;
    (dark as f64 / counted) as f32
}

/// The barcodes found on a page (QR code, Code 128, Code 39), in no particular order, each
/// value once. For tests, and for keys read off pages that are not separators.
pub fn barcodes(page: &GrayImage) -> Vec<String> {
    if !page.is_consistent() {
        return Vec::new();
    }
    let mut halved;
    let mut image = page;
    while image.width > DECODE_MAX_SIDE || image.height > DECODE_MAX_SIDE {
        halved = image.halved();
        image = &halved;
    }
    if image.width == 0 || image.height == 0 {
        return Vec::new();
    }
    // rxing is a port of Java code full of indexing; a panic on a strange page must not take
    // the worker with it: such a page has no barcode we can read.
    catch_unwind(AssertUnwindSafe(|| decode(image))).unwrap_or_default()
}

fn decode(image: &GrayImage) -> Vec<String> {
    let Ok(source) = Luma8Source::new_with_slice(&image.pixels, image.width, image.height) else {
        return Vec::new();
    };
    let hints = DecodeHints {
        PossibleFormats: Some(HashSet::from([
            BarcodeFormat::QR_CODE,
            BarcodeFormat::CODE_128,
            BarcodeFormat::CODE_39,
        ])),
        TryHarder: Some(true),
        ..DecodeHints::default()
    };
    let mut reader = GenericMultipleBarcodeReader::new(MultiUseMultiFormatReader::default());
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let Ok(results) = reader.decode_multiple_with_hints(&mut bitmap, &hints) else {
        return Vec::new();
    };
    let mut values: Vec<String> = Vec::new();
    for result in results {
        let text = result.getText();
        if !values.iter().any(|seen| seen == text) {
            values.push(text.to_owned());
        }
    }
    values
}
