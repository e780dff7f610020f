//! Scanned images to PDF: multi-page TIFF (CCITT G3/G4, LZW, Deflate, PackBits, JPEG-in-TIFF,
//! uncompressed), JPEG and PNG become PDF pages, one per image, at their real size.
//!
//! # Embedding without re-encoding
//!
//! Where PDF can hold the compressed bytes as they are, they go in untouched:
//!
//! - single-strip CCITT G4 and G3 TIFF pages as `/CCITTFaxDecode` (K, Columns, Rows,
//!   BlackIs1 from PhotometricInterpretation, EncodedByteAlign from the G3 fill-bits option;
//!   FillOrder 2 bytes are bit-reversed, nothing else changes);
//! - JPEG files as `/DCTDecode` (Adobe CMYK gets `/Decode [1 0 1 0 1 0 1 0]`, the inverted
//!   convention Photoshop writes);
//! - non-interlaced PNG without alpha as `/FlateDecode` with the PNG predictor: the IDAT
//!   stream is copied (after an inflate that checks it is whole and of the right size).
//!
//! Multi-strip CCITT pages cannot be concatenated (each G4 strip restarts its reference line):
//! their strips are decoded and the page is re-encoded as one G4 stream, still CCITT. Other
//! TIFF compressions, interlaced PNG and PNG with alpha (kept as an `/SMask`) are decoded and
//! stored Flate-compressed.
//!
//! # Resolution
//!
//! The page size is pixels ÷ dpi × 72 pt, with the dpi the file states (TIFF XResolution,
//! YResolution, ResolutionUnit; JPEG JFIF density or EXIF; PNG pHYs). A file that states
//! none, or an aspect ratio only, or a value outside [`MIN_DPI`]..=[`MAX_DPI`], is taken at
//! [`DEFAULT_DPI`] = 300: copiers scan at 300 dpi, and the PDF convention of 72 would turn an
//! A4 scan into a 1.2 m page.
//!
//! # Limits
//!
//! [`ImageLimits`] bounds the pixels of one page (checked on the header, before anything is
//! decoded or allocated) and the pages of one file. TIFF IFD loops are caught by the tiff
//! crate.

mod bitmap;
mod jpeg;
mod pdf;
mod png;
mod tiff;

pub use pdf::images_to_pdf;
pub(crate) use pdf::{invisible_words, WordBox};

/// Resolution assumed when a file states none (see the module documentation).
pub const DEFAULT_DPI: f32 = 300.0;
/// Lowest stated resolution believed; lower ones are taken as [`DEFAULT_DPI`].
pub const MIN_DPI: f32 = 20.0;
/// Highest stated resolution believed.
pub const MAX_DPI: f32 = 20_000.0;

/// The image formats taken from scanner drop folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Tiff,
    Jpeg,
    Png,
}

/// Bounds on what one image file may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLimits {
    /// Pixels of one page (width × height); the decompression-bomb guard. Default 200 Mpx.
    pub max_pixels: u64,
    /// Pages of one file. Default 2000.
    pub max_pages: usize,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_pixels: 200_000_000,
            max_pages: 2000,
        }
    }
}

/// Why an image file cannot become PDF pages.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{kind} is truncated: {what}")]
    Truncated { kind: &'static str, what: String },
    #[error("{kind} is malformed: {what}")]
    Malformed { kind: &'static str, what: String },
    #[error("{kind} is not supported: {what}")]
    Unsupported { kind: &'static str, what: String },
    #[error("page {page} has {width}x{height} pixels, more than the limit of {limit}")]
    TooManyPixels {
        page: usize,
        width: u32,
        height: u32,
        limit: u64,
    },
    #[error("more than {limit} pages")]
    TooManyPages { limit: usize },
    #[error("page {page} does not exist (the file has {count})")]
    NoSuchPage { page: usize, count: usize },
    #[error("tiff: {0}")]
    Tiff(#[from] ::tiff::TiffError),
    #[error("words are given for {words} pages, there are {pages}")]
    WordPages { words: usize, pages: usize },
    #[error("pdf: {0}")]
    Pdf(String),
}

/// The colour space of an embedded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageColor {
    Gray,
    Rgb,
    Cmyk,
    /// RGB palette, 3 bytes an entry.
    Indexed(Vec<u8>),
}

impl PageColor {
    fn components(&self) -> u8 {
        match self {
            PageColor::Gray | PageColor::Indexed(_) => 1,
            PageColor::Rgb => 3,
            PageColor::Cmyk => 4,
        }
    }
}

/// How the bytes of an [`ImagePage`] are compressed, as the PDF filter that reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// `/CCITTFaxDecode`: K < 0 is G4, K = 0 G3 1-D, K > 0 G3 2-D.
    CcittFax {
        k: i32,
        black_is_1: bool,
        encoded_byte_align: bool,
    },
    /// `/DCTDecode`; `adobe_inverted` for Adobe CMYK.
    Dct { adobe_inverted: bool },
    /// `/FlateDecode`; `png_predictor` when the rows carry PNG filter bytes (a copied IDAT).
    Flate { png_predictor: bool },
}

/// One page, ready to embed: its compressed bytes and what a PDF reader needs to show them.
#[derive(Debug, Clone)]
pub struct ImagePage {
    pub width_px: u32,
    pub height_px: u32,
    pub dpi_x: f32,
    pub dpi_y: f32,
    pub encoding: Encoding,
    pub color: PageColor,
    pub bits_per_component: u8,
    /// `/Decode [1 0]` for grey (and 1-bit) samples where 0 is white.
    pub inverted: bool,
    /// The compressed bytes.
    pub data: Vec<u8>,
    /// An 8-bit alpha channel, Flate-compressed, shown as the image's `/SMask`.
    pub smask: Option<Vec<u8>>,
    /// Degrees (0, 90, 180, 270) the image must turn clockwise to stand upright (a page
    /// scanned upside down or sideways): the PDF page is drawn upright with the image turned
    /// by its matrix, the bytes untouched, and [`PlacedWord`]s are in the upright pixels.
    pub rotate: u16,
}

impl ImagePage {
    pub fn width_pt(&self) -> f32 {
        self.width_px as f32 * 72.0 / self.dpi_x
    }

    pub fn height_pt(&self) -> f32 {
        self.height_px as f32 * 72.0 / self.dpi_y
    }

    /// Whether the upright page is the image on its side (90 or 270 degrees).
    pub fn sideways(&self) -> bool {
        matches!(self.rotate % 360, 90 | 270)
    }

    /// The upright page's width and height, in points.
    pub fn upright_size_pt(&self) -> (f32, f32) {
        if self.sideways() {
            (self.height_pt(), self.width_pt())
        } else {
            (self.width_pt(), self.height_pt())
        }
    }

    pub fn encoding_name(&self) -> &'static str {
        match self.encoding {
            Encoding::CcittFax { k, .. } if k < 0 => "ccitt-g4",
            Encoding::CcittFax { .. } => "ccitt-g3",
            Encoding::Dct { .. } => "dct",
            Encoding::Flate { .. } => "flate",
        }
    }
}

/// A word of OCR text placed on a page, in image pixels (origin top-left).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedWord {
    pub text: String,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// Every page of an image file, in order, each ready to embed (encoded bytes owned).
pub fn image_pages(
    bytes: &[u8],
    kind: ImageKind,
    limits: &ImageLimits,
) -> Result<Vec<ImagePage>, ImageError> {
    match kind {
        ImageKind::Tiff => tiff::pages(bytes, limits),
        ImageKind::Jpeg => Ok(vec![jpeg::page(bytes, limits)?]),
        ImageKind::Png => Ok(vec![png::page(bytes, limits)?]),
    }
}

/// A grayscale bitmap of one page (0-based), for OCR engines that need a plain image file:
/// PNM, P4 (1-bit) for bi-level pages, P5 (8-bit grey) for the others. Colour is turned to
/// grey (Rec. 601 luma), alpha composed over white.
pub fn page_as_pnm(
    bytes: &[u8],
    kind: ImageKind,
    page: usize,
    limits: &ImageLimits,
) -> Result<Vec<u8>, ImageError> {
    let bitmap = match kind {
        ImageKind::Tiff => tiff::bitmap(bytes, page, limits)?,
        ImageKind::Jpeg | ImageKind::Png if page > 0 => {
            return Err(ImageError::NoSuchPage { page, count: 1 })
        }
        ImageKind::Jpeg => jpeg::bitmap(bytes, limits)?,
        ImageKind::Png => png::bitmap(bytes, limits)?,
    };
    Ok(bitmap.to_pnm())
}

/// Checks one page's pixel count against the limits, before anything is allocated for it.
fn check_pixels(
    page: usize,
    width: u32,
    height: u32,
    limits: &ImageLimits,
) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Malformed {
            kind: "image",
            what: format!("page {page} has {width}x{height} pixels"),
        });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooManyPixels {
            page,
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

/// The resolution to use from a stated one, in dots per inch (see the module documentation).
fn resolution(stated: Option<(f64, f64)>) -> (f32, f32) {
    let believable =
        |dpi: f64| dpi.is_finite() && (f64::from(MIN_DPI)..=f64::from(MAX_DPI)).contains(&dpi);
    match stated {
        Some((x, y)) if believable(x) && believable(y) => (x as f32, y as f32),
        _ => (DEFAULT_DPI, DEFAULT_DPI),
    }
}

/// Deflates bytes (zlib format, as `/FlateDecode` reads them).
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::new(6),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}
