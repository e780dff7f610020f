//! PNG files: the chunks are read for size, colour and pHYs; a non-interlaced PNG without
//! alpha goes into the PDF as its IDAT zlib stream with the PNG predictor, anything else is
//! decoded by the `png` crate and re-deflated (alpha as an `/SMask`).

use std::io::Cursor;

use flate2::{Decompress, FlushDecompress, Status};

use super::bitmap::{to_gray, Bitmap};
use super::tiff::split_alpha;
use super::{
    check_pixels, deflate, resolution, Encoding, ImageError, ImageLimits, ImagePage, PageColor,
};

const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// What the chunks say.
struct Header {
    width: u32,
    height: u32,
    bit_depth: u8,
    color_type: u8,
    interlaced: bool,
    palette: Vec<u8>,
    dpi: Option<(f64, f64)>,
    idat: Vec<u8>,
}

pub(super) fn page(bytes: &[u8], limits: &ImageLimits) -> Result<ImagePage, ImageError> {
    let header = header(bytes)?;
    check_pixels(0, header.width, header.height, limits)?;
    let (dpi_x, dpi_y) = resolution(header.dpi);
    let mut page = ImagePage {
        width_px: header.width,
        height_px: header.height,
        dpi_x,
        dpi_y,
        encoding: Encoding::Flate {
            png_predictor: true,
        },
        color: PageColor::Gray,
        bits_per_component: header.bit_depth,
        inverted: false,
        data: Vec::new(),
        smask: None,
        rotate: 0,
    };
    let passthrough = match header.color_type {
        0 => Some(PageColor::Gray),
        2 => Some(PageColor::Rgb),
        3 if !header.palette.is_empty() => Some(PageColor::Indexed(header.palette.clone())),
        _ => None,
    };
    if let (Some(color), false) = (passthrough, header.interlaced) {
        let colors = u64::from(color.components());
        let row = (u64::from(header.width) * colors * u64::from(header.bit_depth)).div_ceil(8) + 1;
        check_inflated_size(&header.idat, row * u64::from(header.height))?;
        page.color = color;
        page.data = header.idat;
        return Ok(page);
    }
    let (color, channels, alpha, samples) = decode(bytes, limits)?;
    page.encoding = Encoding::Flate {
        png_predictor: false,
    };
    page.bits_per_component = 8;
    page.color = color;
    if alpha {
        let (colour, mask) = split_alpha(&samples, channels);
        page.data = deflate(&colour);
        page.smask = Some(deflate(&mask));
    } else {
        page.data = deflate(&samples);
    }
    Ok(page)
}

pub(super) fn bitmap(bytes: &[u8], limits: &ImageLimits) -> Result<Bitmap, ImageError> {
    let header = header(bytes)?;
    check_pixels(0, header.width, header.height, limits)?;
    let (_, channels, alpha, samples) = decode(bytes, limits)?;
    Ok(Bitmap::Gray {
        width: header.width,
        height: header.height,
        data: to_gray(&samples, channels, alpha),
    })
}

/// Decodes to 8-bit grey or RGB samples, with or without a trailing alpha.
fn decode(
    bytes: &[u8],
    limits: &ImageLimits,
) -> Result<(PageColor, usize, bool, Vec<u8>), ImageError> {
    let budget = usize::try_from(limits.max_pixels.saturating_mul(4)).unwrap_or(usize::MAX);
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: budget });
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(png_error)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| malformed("image too large"))?;
    let mut samples = vec![0; size];
    let info = reader.next_frame(&mut samples).map_err(png_error)?;
    samples.truncate(info.buffer_size());
    Ok(match info.color_type {
        png::ColorType::Grayscale => (PageColor::Gray, 1, false, samples),
        png::ColorType::GrayscaleAlpha => (PageColor::Gray, 1, true, samples),
        png::ColorType::Rgb => (PageColor::Rgb, 3, false, samples),
        png::ColorType::Rgba => (PageColor::Rgb, 3, true, samples),
        png::ColorType::Indexed => return Err(unsupported("palette left unexpanded")),
    })
}

fn png_error(error: png::DecodingError) -> ImageError {
    match error {
        png::DecodingError::IoError(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            truncated("cut in a chunk")
        }
        png::DecodingError::LimitsExceeded => {
            unsupported("more memory than the pixel limit allows")
        }
        other => malformed(&other.to_string().to_lowercase()),
    }
}

fn header(bytes: &[u8]) -> Result<Header, ImageError> {
    let Some(mut rest) = bytes.strip_prefix(SIGNATURE) else {
        return Err(malformed("no png signature"));
    };
    let mut header: Option<Header> = None;
    loop {
        let Some((length, kind)) = rest.get(..8).map(|b| {
            (
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                [b[4], b[5], b[6], b[7]],
            )
        }) else {
            return Err(truncated("no IEND chunk"));
        };
        let length = length as usize;
        let Some(data) = rest.get(8..8 + length) else {
            return Err(truncated("chunk cut short"));
        };
        if rest.len() < 12 + length {
            return Err(truncated("chunk without its crc"));
        }
        rest = &rest[12 + length..];
        match &kind {
            b"IHDR" => {
                let [w0, w1, w2, w3, h0, h1, h2, h3, bit_depth, color_type, _, _, interlace] =
                    *data
                else {
                    return Err(malformed("IHDR of the wrong size"));
                };
                let valid = matches!(
                    (color_type, bit_depth),
                    (0, 1 | 2 | 4 | 8 | 16) | (2 | 4 | 6, 8 | 16) | (3, 1 | 2 | 4 | 8)
                );
                if !valid {
                    return Err(malformed(&format!(
                        "colour type {color_type} with bit depth {bit_depth}"
                    )));
                }
                header = Some(Header {
                    width: u32::from_be_bytes([w0, w1, w2, w3]),
                    height: u32::from_be_bytes([h0, h1, h2, h3]),
                    bit_depth,
                    color_type,
                    interlaced: interlace != 0,
                    palette: Vec::new(),
                    dpi: None,
                    idat: Vec::new(),
                });
            }
            b"IEND" => break,
            _ => {
                let Some(header) = header.as_mut() else {
                    return Err(malformed("first chunk is not IHDR"));
                };
                match &kind {
                    b"PLTE" if data.len() % 3 == 0 && data.len() <= 768 => {
                        header.palette = data.to_vec()
                    }
                    b"IDAT" => header.idat.extend_from_slice(data),
                    // Unit 1: pixels per metre; 0: aspect ratio only.
                    b"pHYs" => {
                        if let [x0, x1, x2, x3, y0, y1, y2, y3, 1] = *data {
                            let per_metre = |b: [u8; 4]| f64::from(u32::from_be_bytes(b)) * 0.0254;
                            header.dpi =
                                Some((per_metre([x0, x1, x2, x3]), per_metre([y0, y1, y2, y3])));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let header = header.ok_or_else(|| malformed("no IHDR chunk"))?;
    if header.idat.is_empty() {
        return Err(malformed("no IDAT chunk"));
    }
    Ok(header)
}

/// Inflates the IDAT stream into nothing and checks it holds exactly `expected` bytes: a
/// stream copied into the PDF must be whole.
fn check_inflated_size(idat: &[u8], expected: u64) -> Result<(), ImageError> {
    let mut inflater = Decompress::new(true);
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        let consumed = inflater.total_in() as usize;
        let before = inflater.total_out();
        let status = inflater
            .decompress(
                &idat[consumed.min(idat.len())..],
                &mut scratch,
                FlushDecompress::None,
            )
            .map_err(|error| {
                malformed(&format!(
                    "idat stream: {}",
                    error.to_string().to_lowercase()
                ))
            })?;
        if inflater.total_out() > expected {
            return Err(malformed("idat stream holds more rows than the image"));
        }
        match status {
            Status::StreamEnd => break,
            _ if inflater.total_out() == before && inflater.total_in() as usize == consumed => {
                return Err(truncated("idat stream cut short"));
            }
            _ => {}
        }
    }
    if inflater.total_out() != expected {
        return Err(truncated("idat stream holds fewer rows than the image"));
    }
    Ok(())
}

fn unsupported(what: &str) -> ImageError {
    ImageError::Unsupported {
        kind: "png",
        what: what.to_owned(),
    }
}

fn malformed(what: &str) -> ImageError {
    ImageError::Malformed {
        kind: "png",
        what: what.to_owned(),
    }
}

fn truncated(what: &str) -> ImageError {
    ImageError::Truncated {
        kind: "png",
        what: what.to_owned(),
    }
}
