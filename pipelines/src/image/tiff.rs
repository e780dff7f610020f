//! TIFF pages: tags and pixels through the `tiff` crate, CCITT strips taken from the file's
//! bytes as they are (single strip) or decoded and re-encoded as one G4 stream (several).

use std::io::Cursor;

use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;
use tiff::ColorType;

use super::bitmap::{decode_ccitt, encode_g4, to_gray, Bitmap, Ccitt};
use super::{
    check_pixels, deflate, resolution, Encoding, ImageError, ImageLimits, ImagePage, PageColor,
};

const CCITT_RLE: u16 = 2;
const CCITT_G3: u16 = 3;
const CCITT_G4: u16 = 4;
/// T4Options bit 0: 2-D coding.
const T4_2D: u32 = 1;
/// T4Options bit 2: fill bits before EOL, so each line starts on a byte boundary.
const T4_FILL: u32 = 4;

/// The tags of one page that decide how it is embedded.
struct Page {
    width: u32,
    height: u32,
    compression: u16,
    /// PhotometricInterpretation 1 (BlackIsZero) on a CCITT page: BlackIs1.
    black_is_zero: bool,
    fill_order_reversed: bool,
    t4_options: u32,
    rows_per_strip: u32,
    strips: Vec<Vec<u8>>,
    dpi: (f32, f32),
}

pub(super) fn pages(bytes: &[u8], limits: &ImageLimits) -> Result<Vec<ImagePage>, ImageError> {
    let mut decoder = open(bytes, limits)?;
    let mut pages = Vec::new();
    loop {
        if pages.len() >= limits.max_pages {
            return Err(ImageError::TooManyPages {
                limit: limits.max_pages,
            });
        }
        pages.push(page(&mut decoder, bytes, pages.len(), limits)?);
        if !decoder.more_images() {
            return Ok(pages);
        }
        decoder.next_image()?;
    }
}

pub(super) fn bitmap(
    bytes: &[u8],
    index: usize,
    limits: &ImageLimits,
) -> Result<Bitmap, ImageError> {
    let mut decoder = open(bytes, limits)?;
    for count in 0..index {
        if !decoder.more_images() {
            return Err(ImageError::NoSuchPage {
                page: index,
                count: count + 1,
            });
        }
        if count >= limits.max_pages {
            return Err(ImageError::TooManyPages {
                limit: limits.max_pages,
            });
        }
        decoder.next_image()?;
    }
    let tags = tags(&mut decoder, bytes, index, limits)?;
    // 2-D G3 and modified Huffman go into a PDF as they are, but the fax decoder reads only
    // 1-D G3 and G4: decoding them as 1-D would give noise, so say so (the scan pipeline then
    // renders the page from its PDF instead).
    let two_d_g3 = tags.compression == CCITT_G3 && tags.t4_options & T4_2D != 0;
    if two_d_g3 || tags.compression == CCITT_RLE {
        return Err(unsupported("a bitmap of a 2-d g3 or modified huffman page"));
    }
    let Some(flavour) = ccitt_flavour(&tags) else {
        let (color, samples, alpha) = decode(&mut decoder, &tags)?;
        return Ok(match (color, samples) {
            (PageColor::Gray, Samples::Bits(data)) => Bitmap::Bilevel {
                width: tags.width,
                height: tags.height,
                data: data.iter().map(|byte| !byte).collect(),
            },
            (color, Samples::Bytes(data)) => Bitmap::Gray {
                width: tags.width,
                height: tags.height,
                data: to_gray(&data, usize::from(color.components()), alpha),
            },
            (_, Samples::Bits(_)) => return Err(unsupported("1-bit colour")),
        });
    };
    let Bitmap::Bilevel {
        width,
        height,
        mut data,
    } = decode_ccitt(
        &tags.strips,
        flavour,
        tags.width,
        tags.height,
        tags.rows_per_strip,
    )?
    else {
        return Err(unsupported("ccitt page"));
    };
    // With BlackIsZero, CCITT "black" runs are the white pixels.
    if tags.black_is_zero {
        data.iter_mut().for_each(|byte| *byte = !*byte);
    }
    Ok(Bitmap::Bilevel {
        width,
        height,
        data,
    })
}

fn open<'a>(
    bytes: &'a [u8],
    limits: &ImageLimits,
) -> Result<Decoder<Cursor<&'a [u8]>>, ImageError> {
    let mut tiff_limits = Limits::default();
    // 4 bytes a pixel at most once decoded (CMYK 8-bit), 16-bit samples twice that.
    tiff_limits.decoding_buffer_size =
        usize::try_from(limits.max_pixels.saturating_mul(8)).unwrap_or(usize::MAX);
    Ok(Decoder::new(Cursor::new(bytes))?.with_limits(tiff_limits))
}

fn page(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    bytes: &[u8],
    index: usize,
    limits: &ImageLimits,
) -> Result<ImagePage, ImageError> {
    let tags = tags(decoder, bytes, index, limits)?;
    let (dpi_x, dpi_y) = tags.dpi;
    let mut page = ImagePage {
        width_px: tags.width,
        height_px: tags.height,
        dpi_x,
        dpi_y,
        encoding: Encoding::Flate {
            png_predictor: false,
        },
        color: PageColor::Gray,
        bits_per_component: 1,
        inverted: false,
        data: Vec::new(),
        smask: None,
        rotate: 0,
    };
    if let Some(flavour) = ccitt_flavour(&tags) {
        if let [strip] = tags.strips.as_slice() {
            page.encoding = Encoding::CcittFax {
                k: match tags.compression {
                    CCITT_G4 => -1,
                    CCITT_G3 if tags.t4_options & T4_2D != 0 => 1,
                    _ => 0,
                },
                black_is_1: tags.black_is_zero,
                encoded_byte_align: tags.compression == CCITT_RLE || tags.t4_options & T4_FILL != 0,
            };
            page.data = strip.clone();
            return Ok(page);
        }
        let Bitmap::Bilevel { data, .. } = decode_ccitt(
            &tags.strips,
            flavour,
            tags.width,
            tags.height,
            tags.rows_per_strip,
        )?
        else {
            return Err(unsupported("ccitt page"));
        };
        page.encoding = Encoding::CcittFax {
            k: -1,
            black_is_1: tags.black_is_zero,
            encoded_byte_align: false,
        };
        page.data = encode_g4(tags.width, tags.height, &data)?;
        return Ok(page);
    }
    if matches!(tags.compression, CCITT_RLE | CCITT_G3 | CCITT_G4) {
        return Err(unsupported(
            "ccitt in several strips with 2-d g3 or modified huffman coding",
        ));
    }
    let (color, samples, alpha) = decode(decoder, &tags)?;
    page.bits_per_component = match samples {
        Samples::Bits(_) => 1,
        Samples::Bytes(_) => 8,
    };
    let data = match samples {
        Samples::Bits(data) | Samples::Bytes(data) => data,
    };
    let channels = usize::from(color.components());
    page.color = color;
    if alpha {
        let (colour, mask) = split_alpha(&data, channels);
        page.data = deflate(&colour);
        page.smask = Some(deflate(&mask));
    } else {
        page.data = deflate(&data);
    }
    Ok(page)
}

fn ccitt_flavour(tags: &Page) -> Option<Ccitt> {
    match tags.compression {
        CCITT_G4 => Some(Ccitt::G4),
        CCITT_G3 if tags.t4_options & T4_2D == 0 => Some(Ccitt::G3OneD),
        // 2-D G3 and modified Huffman: only as a single strip, which goes in as it is.
        CCITT_G3 | CCITT_RLE if tags.strips.len() == 1 => Some(Ccitt::G3OneD),
        _ => None,
    }
}

fn tags(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    bytes: &[u8],
    index: usize,
    limits: &ImageLimits,
) -> Result<Page, ImageError> {
    let (width, height) = decoder.dimensions()?;
    check_pixels(index, width, height, limits)?;
    let compression = decoder
        .find_tag_unsigned::<u16>(Tag::Compression)?
        .unwrap_or(1);
    let photometric = decoder
        .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)?
        .unwrap_or(0);
    let fill_order = decoder
        .find_tag_unsigned::<u16>(Tag::FillOrder)?
        .unwrap_or(1);
    let t4_options = decoder
        .find_tag_unsigned::<u32>(Tag::Unknown(292))?
        .unwrap_or(0);
    let rows_per_strip = decoder
        .find_tag_unsigned::<u32>(Tag::RowsPerStrip)?
        .unwrap_or(u32::MAX);
    let dpi = stated_dpi(decoder)?;
    let mut tags = Page {
        width,
        height,
        compression,
        black_is_zero: photometric == 1,
        fill_order_reversed: fill_order == 2,
        t4_options,
        rows_per_strip,
        strips: Vec::new(),
        dpi: resolution(dpi),
    };
    if matches!(compression, CCITT_RLE | CCITT_G3 | CCITT_G4) {
        tags.strips = ccitt_strips(decoder, bytes, &tags)?;
    }
    Ok(tags)
}

/// The raw strips of a CCITT page, bit-reversed for FillOrder 2.
fn ccitt_strips(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    bytes: &[u8],
    tags: &Page,
) -> Result<Vec<Vec<u8>>, ImageError> {
    let Some(offsets) = decoder.find_tag_unsigned_vec::<u64>(Tag::StripOffsets)? else {
        return Err(unsupported("tiled ccitt page"));
    };
    let counts = decoder
        .find_tag_unsigned_vec::<u64>(Tag::StripByteCounts)?
        .ok_or_else(|| malformed("ccitt page without strip byte counts"))?;
    if offsets.len() != counts.len() || offsets.is_empty() {
        return Err(malformed("strip offsets and byte counts differ in number"));
    }
    let mut strips = Vec::with_capacity(offsets.len());
    for (offset, count) in offsets.iter().zip(&counts) {
        let start = usize::try_from(*offset).map_err(|_| truncated("strip beyond the end"))?;
        let end = offset
            .checked_add(*count)
            .and_then(|end| usize::try_from(end).ok())
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| truncated("strip beyond the end"))?;
        let strip = &bytes[start..end];
        strips.push(if tags.fill_order_reversed {
            strip.iter().map(|byte| byte.reverse_bits()).collect()
        } else {
            strip.to_vec()
        });
    }
    Ok(strips)
}

fn stated_dpi(decoder: &mut Decoder<Cursor<&[u8]>>) -> Result<Option<(f64, f64)>, ImageError> {
    let x = decoder.find_tag(Tag::XResolution)?.and_then(rational);
    let y = decoder.find_tag(Tag::YResolution)?.and_then(rational);
    // TIFF's default unit is the inch; 1 means no unit (an aspect ratio only).
    let per_inch = match decoder
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)?
        .unwrap_or(2)
    {
        2 => 1.0,
        3 => 2.54,
        _ => return Ok(None),
    };
    Ok(match (x, y) {
        (Some(x), Some(y)) => Some((x * per_inch, y * per_inch)),
        (Some(x), None) => Some((x * per_inch, x * per_inch)),
        _ => None,
    })
}

/// A RATIONAL tag (or a float or integer one, as some writers put it).
fn rational(value: tiff::decoder::ifd::Value) -> Option<f64> {
    use tiff::decoder::ifd::Value;
    match value {
        Value::Rational(numerator, denominator) if denominator != 0 => {
            Some(f64::from(numerator) / f64::from(denominator))
        }
        Value::Rational(..) => None,
        other => other.into_f64().ok(),
    }
}

enum Samples {
    /// Packed 1-bit rows, 0 = black.
    Bits(Vec<u8>),
    /// 8-bit samples.
    Bytes(Vec<u8>),
}

/// Decodes a non-CCITT page: its colour space, samples, and whether the last sample of each
/// pixel is alpha.
fn decode(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    tags: &Page,
) -> Result<(PageColor, Samples, bool), ImageError> {
    let color_type = decoder.colortype()?;
    let pixels = decoder.read_image()?;
    let bytes = match pixels {
        DecodingResult::U8(data) => data,
        DecodingResult::U16(data) => data.iter().map(|sample| (sample >> 8) as u8).collect(),
        _ => return Err(unsupported("floating-point or 32-bit samples")),
    };
    let expected = |channels: u64| u64::from(tags.width) * u64::from(tags.height) * channels;
    let (color, channels, alpha) = match color_type {
        ColorType::Gray(1) => {
            let rows = u64::from(tags.width.div_ceil(8)) * u64::from(tags.height);
            if (bytes.len() as u64) < rows {
                return Err(truncated("fewer pixels than the page has"));
            }
            return Ok((PageColor::Gray, Samples::Bits(bytes), false));
        }
        ColorType::Gray(8 | 16) => (PageColor::Gray, 1, false),
        ColorType::GrayA(8 | 16) => (PageColor::Gray, 1, true),
        ColorType::RGB(8 | 16) => (PageColor::Rgb, 3, false),
        // JPEG-in-TIFF comes out of zune-jpeg as RGB.
        ColorType::YCbCr(8) if tags.compression == 7 => (PageColor::Rgb, 3, false),
        ColorType::RGBA(8 | 16) => (PageColor::Rgb, 3, true),
        ColorType::CMYK(8 | 16) => (PageColor::Cmyk, 4, false),
        ColorType::Palette(8) => {
            let map = decoder.get_tag_u16_vec(Tag::ColorMap)?;
            if map.len() != 3 * 256 {
                return Err(malformed("colour map of the wrong size"));
            }
            let palette = (0..256)
                .flat_map(|i| [map[i], map[256 + i], map[512 + i]])
                .map(|v| (v >> 8) as u8)
                .collect();
            (PageColor::Indexed(palette), 1, false)
        }
        other => return Err(unsupported(&format!("colour type {other:?}"))),
    };
    if (bytes.len() as u64) < expected(channels + u64::from(alpha)) {
        return Err(truncated("fewer pixels than the page has"));
    }
    Ok((color, Samples::Bytes(bytes), alpha))
}

/// Interleaved samples with a trailing alpha into colour samples and an alpha plane.
pub(super) fn split_alpha(data: &[u8], channels: usize) -> (Vec<u8>, Vec<u8>) {
    let pixels = data.len() / (channels + 1);
    let mut colour = Vec::with_capacity(pixels * channels);
    let mut alpha = Vec::with_capacity(pixels);
    for pixel in data.chunks_exact(channels + 1) {
        colour.extend_from_slice(&pixel[..channels]);
        alpha.push(pixel[channels]);
    }
    (colour, alpha)
}

fn unsupported(what: &str) -> ImageError {
    ImageError::Unsupported {
        kind: "tiff",
        what: what.to_owned(),
    }
}

fn malformed(what: &str) -> ImageError {
    ImageError::Malformed {
        kind: "tiff",
        what: what.to_owned(),
    }
}

fn truncated(what: &str) -> ImageError {
    ImageError::Truncated {
        kind: "tiff",
        what: what.to_owned(),
    }
}
