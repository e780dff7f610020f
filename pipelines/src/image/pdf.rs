//! The PDF of image pages, written with lopdf: one page per image, the page the image's size
//! at its resolution, and optionally an invisible text layer of OCR words (Courier, text
//! render mode 3, each word scaled with Tz to span its box, WinAnsi with a ToUnicode CMap).

use std::fmt::Write as _;

use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream, StringFormat};

use super::{deflate, Encoding, ImageError, ImagePage, PageColor, PlacedWord};
use crate::charset::windows_1252_byte;

/// Courier's advance, in em.
const ADVANCE: f32 = 0.6;
/// Courier's ascent and descent (AFM), in em: the glyph box pdftotext reports.
const ASCENT: f32 = 0.629;
const DESCENT: f32 = 0.157;

/// The PDF: one page per image, page size from the resolution, the image filling it; with
/// `words` (one list per page), an invisible text layer at the words' positions.
pub fn images_to_pdf(
    pages: &[ImagePage],
    words: Option<&[Vec<PlacedWord>]>,
) -> Result<Vec<u8>, ImageError> {
    if let Some(words) = words {
        if words.len() != pages.len() {
            return Err(ImageError::WordPages {
                words: words.len(),
                pages: pages.len(),
            });
        }
    }
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = words.map(|_| {
        let to_unicode = doc.add_object(Stream::new(
            Dictionary::new(),
            to_unicode_cmap().into_bytes(),
        ));
        doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => "Courier",
            "Encoding" => "WinAnsiEncoding",
            "ToUnicode" => to_unicode,
        })
    });
    let mut kids = Vec::with_capacity(pages.len());
    for (index, page) in pages.iter().enumerate() {
        let image_id = add_image(&mut doc, page);
        let (image_width, image_height) = (page.width_pt(), page.height_pt());
        let (width, height) = page.upright_size_pt();
        let mut content = format!(
            "q {} cm /Im0 Do Q\n",
            image_matrix(page.rotate, image_width, image_height)
        );
        let mut resources = dictionary! { "XObject" => dictionary! { "Im0" => image_id } };
        if let (Some(words), Some(font_id)) = (words, font_id) {
            text_layer(&mut content, page, &words[index]);
            resources.set("Font", dictionary! { "F0" => font_id });
        }
        let content_id = doc.add_object(
            Stream::new(
                dictionary! { "Filter" => "FlateDecode" },
                deflate(content.as_bytes()),
            )
            .with_compression(false),
        );
        kids.push(Object::Reference(doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(width), Object::Real(height)],
            "Resources" => resources,
            "Contents" => content_id,
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|error| ImageError::Pdf(error.to_string().to_lowercase()))?;
    Ok(out)
}

fn add_image(doc: &mut Document, page: &ImagePage) -> ObjectId {
    let mut dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Image",
        "Width" => i64::from(page.width_px),
        "Height" => i64::from(page.height_px),
        "BitsPerComponent" => i64::from(page.bits_per_component),
    };
    dict.set(
        "ColorSpace",
        match &page.color {
            PageColor::Gray => Object::Name(b"DeviceGray".to_vec()),
            PageColor::Rgb => Object::Name(b"DeviceRGB".to_vec()),
            PageColor::Cmyk => Object::Name(b"DeviceCMYK".to_vec()),
            PageColor::Indexed(palette) => Object::Array(vec![
                Object::Name(b"Indexed".to_vec()),
                Object::Name(b"DeviceRGB".to_vec()),
                Object::Integer((palette.len() / 3) as i64 - 1),
                Object::String(palette.clone(), StringFormat::Hexadecimal),
            ]),
        },
    );
    match page.encoding {
        Encoding::CcittFax {
            k,
            black_is_1,
            encoded_byte_align,
        } => {
            dict.set("Filter", "CCITTFaxDecode");
            dict.set(
                "DecodeParms",
                dictionary! {
                    "K" => i64::from(k),
                    "Columns" => i64::from(page.width_px),
                    "Rows" => i64::from(page.height_px),
                    "BlackIs1" => black_is_1,
                    "EncodedByteAlign" => encoded_byte_align,
                },
            );
        }
        Encoding::Dct { adobe_inverted } => {
            dict.set("Filter", "DCTDecode");
            if adobe_inverted {
                dict.set(
                    "Decode",
                    [1, 0, 1, 0, 1, 0, 1, 0].map(Object::Integer).to_vec(),
                );
            }
        }
        Encoding::Flate { png_predictor } => {
            dict.set("Filter", "FlateDecode");
            if png_predictor {
                dict.set(
                    "DecodeParms",
                    dictionary! {
                        "Predictor" => 15,
                        "Colors" => i64::from(page.color.components()),
                        "BitsPerComponent" => i64::from(page.bits_per_component),
                        "Columns" => i64::from(page.width_px),
                    },
                );
            }
        }
    }
    if page.inverted {
        dict.set("Decode", vec![Object::Integer(1), Object::Integer(0)]);
    }
    if let Some(mask) = &page.smask {
        let mask_id = doc.add_object(
            Stream::new(
                dictionary! {
                    "Type" => "XObject",
                    "Subtype" => "Image",
                    "Width" => i64::from(page.width_px),
                    "Height" => i64::from(page.height_px),
                    "BitsPerComponent" => 8,
                    "ColorSpace" => "DeviceGray",
                    "Filter" => "FlateDecode",
                },
                mask.clone(),
            )
            .with_compression(false),
        );
        dict.set("SMask", mask_id);
    }
    doc.add_object(Stream::new(dict, page.data.clone()).with_compression(false))
}

/// Appends the invisible words of one page to its content stream.
/// The matrix that draws the image (the unit square) turned `rotate` degrees clockwise on a
/// page `w` × `h` points before turning (`h` × `w` when on its side).
fn image_matrix(rotate: u16, w: f32, h: f32) -> String {
    match rotate % 360 {
        // The image's right goes down the page, its top goes right.
        90 => format!("0 {:.4} {h:.4} 0 0 {w:.4}", -w),
        180 => format!("{:.4} 0 0 {:.4} {w:.4} {h:.4}", -w, -h),
        // The image's right goes up the page, its top goes left.
        270 => format!("0 {w:.4} {:.4} 0 {h:.4} 0", -h),
        _ => format!("{w:.4} 0 0 {h:.4} 0 0"),
    }
}

fn text_layer(content: &mut String, page: &ImagePage, words: &[PlacedWord]) {
    // Words are in the upright page's pixels: on its side, the axes' resolutions swap.
    let (dpi_x, dpi_y) = if page.sideways() {
        (page.dpi_y, page.dpi_x)
    } else {
        (page.dpi_x, page.dpi_y)
    };
    let (sx, sy) = (72.0 / dpi_x, 72.0 / dpi_y);
    let page_height = page.upright_size_pt().1;
    content.push_str("BT 3 Tr\n");
    invisible_words(
        content,
        "F0",
        words.iter().map(|word| WordBox {
            text: &word.text,
            left: word.left * sx,
            bottom: page_height - (word.top + word.height) * sy,
            width: word.width * sx,
            height: word.height * sy,
        }),
    );
    content.push_str("ET\n");
}

/// One word of an invisible text layer: its box in points, in page space (origin bottom-left).
pub(crate) struct WordBox<'a> {
    pub text: &'a str,
    pub left: f32,
    pub bottom: f32,
    pub width: f32,
    pub height: f32,
}

/// Writes words (inside `BT 3 Tr … ET`) in the Courier font resource `font`, WinAnsi coded,
/// each sized to its box's height and stretched with Tz to its width, so extractors find them
/// where the words are on the page.
pub(crate) fn invisible_words<'a>(
    content: &mut String,
    font: &str,
    words: impl Iterator<Item = WordBox<'a>>,
) {
    for word in words {
        let codes: Vec<u8> = word
            .text
            .chars()
            .map(|ch| windows_1252_byte(ch).unwrap_or(b'?'))
            .collect();
        let usable = [word.left, word.bottom, word.width, word.height]
            .iter()
            .all(|v| v.is_finite());
        if codes.is_empty() || !usable || word.width <= 0.0 || word.height <= 0.0 {
            continue;
        }
        let size = word.height / (ASCENT + DESCENT);
        let baseline = word.bottom + DESCENT * size;
        let scale = 100.0 * word.width / (codes.len() as f32 * ADVANCE * size);
        let _ = write!(
            content,
            "/{font} {size:.3} Tf {scale:.3} Tz 1 0 0 1 {:.3} {baseline:.3} Tm <",
            word.left
        );
        for code in codes {
            let _ = write!(content, "{code:02X}");
        }
        content.push_str("> Tj\n");
    }
}

/// WinAnsi codes to Unicode, so text extraction does not depend on the reader knowing the
/// encoding.
fn to_unicode_cmap() -> String {
    let mut pairs = Vec::new();
    for code in 0x20u8..=0xFF {
        let byte = [code];
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&byte);
        let Some(ch) = text.chars().next() else {
            continue;
        };
        // Codes WinAnsi leaves undefined decode to the C1 control of the same number.
        if windows_1252_byte(ch) == Some(code) {
            pairs.push((code, ch));
        }
    }
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Greffier-Scan-WinAnsi-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<00> <FF>\nendcodespacerange\n",
    );
    for chunk in pairs.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (code, ch) in chunk {
            let _ = writeln!(cmap, "<{code:02X}> <{:04X}>", u32::from(*ch));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend");
    cmap
}
