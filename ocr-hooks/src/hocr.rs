//! A small hOCR reader: pages, blocks (`ocr_carea`), paragraphs (`ocr_par`), lines
//! (`ocr_line`, `ocr_header`, `ocr_caption`, `ocr_textfloat`) and words (`ocrx_word`, with
//! `bbox` and `x_wconf` in their `title`). Not a general HTML parser: it reads the tags and
//! text that hOCR engines (tesseract, kraken, …) write, and ignores everything else.

use crate::ocr::{OcrPage, OcrWord};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Page,
    Block,
    Paragraph,
    Line,
    Word,
    Other,
}

/// HTML elements that never have an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr",
];

pub(crate) fn parse_hocr(html: &str) -> Result<OcrPage, String> {
    let mut page: Option<OcrPage> = None;
    // Open elements: (tag name, kind).
    let mut stack: Vec<(String, Kind)> = Vec::new();
    let (mut block, mut paragraph, mut line) = (0u32, 0u32, 0u32);
    // The word being read: its box, confidence and text so far.
    let mut word: Option<(OcrWord, String)> = None;

    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(&mut word, rest);
            break;
        };
        push_text(&mut word, &rest[..lt]);
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            let end = rest.find("-->").ok_or("unterminated comment")?;
            rest = &rest[end + 3..];
            continue;
        }
        let gt = tag_end(rest).ok_or("unterminated tag")?;
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            // Close up to and including the matching element (tolerates unclosed ones).
            if let Some(pos) = stack.iter().rposition(|(n, _)| *n == name) {
                for (_, kind) in stack.drain(pos..).rev() {
                    if kind == Kind::Word {
                        if let Some((mut w, text)) = word.take() {
                            let text = decode_entities(text.trim());
                            if !text.is_empty() {
                                w.text = text;
                                page.as_mut().ok_or("a word outside a page")?.words.push(w);
                            }
                        }
                    }
                }
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name_end = tag
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = tag[..name_end].to_ascii_lowercase();
        let attrs = &tag[name_end..];
        let class = attribute(attrs, "class").unwrap_or_default();
        let title = attribute(attrs, "title").unwrap_or_default();
        let kind = match class.split_ascii_whitespace().next().unwrap_or("") {
            "ocr_page" => Kind::Page,
            "ocr_carea" => Kind::Block,
            "ocr_par" => Kind::Paragraph,
            "ocr_line" | "ocr_header" | "ocr_caption" | "ocr_textfloat" => Kind::Line,
            "ocrx_word" => Kind::Word,
            _ => Kind::Other,
        };
        match kind {
            Kind::Page => {
                if page.is_some() {
                    return Err("the image has more than one page".into());
                }
                let [_, _, right, bottom] = bbox(&title).unwrap_or([0; 4]);
                page = Some(OcrPage {
                    width: right,
                    height: bottom,
                    words: Vec::new(),
                });
            }
            Kind::Block => (block, paragraph, line) = (block + 1, 0, 0),
            Kind::Paragraph => (paragraph, line) = (paragraph + 1, 0),
            Kind::Line => line += 1,
            Kind::Word => {
                let [left, top, right, bottom] =
                    bbox(&title).ok_or_else(|| format!("a word without a bbox: `{title}`"))?;
                let confidence = property(&title, "x_wconf")
                    .and_then(|v| v.parse::<f32>().ok())
                    .unwrap_or(0.0)
                    .clamp(0.0, 100.0);
                let w = OcrWord {
                    text: String::new(),
                    left,
                    top,
                    width: right.saturating_sub(left),
                    height: bottom.saturating_sub(top),
                    confidence,
                    // Engines that omit a level still get numbers that keep reading order.
                    block: block.max(1),
                    paragraph: paragraph.max(1),
                    line: line.max(1),
                };
                word = Some((w, String::new()));
            }
            Kind::Other => {}
        }
        if !self_closing && !VOID.contains(&name.as_str()) {
            stack.push((name, kind));
        }
    }
    page.ok_or_else(|| "no ocr_page element".into())
}

fn push_text(word: &mut Option<(OcrWord, String)>, text: &str) {
    if let Some((_, buf)) = word.as_mut() {
        buf.push_str(text);
    }
}

/// The index of the `>` closing the tag at the start of `s`, skipping quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` (quoted with `'` or `"`, or bare), entities decoded.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let key_end = rest
            .find(|c: char| c == '=' || c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let Some(after_eq) = rest.strip_prefix('=') else {
            continue; // an attribute without a value
        };
        let after_eq = after_eq.trim_start();
        let (value, tail) = match after_eq.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &after_eq[1..];
                let end = body.find(q)?;
                (&body[..end], &body[end + 1..])
            }
            _ => {
                let end = after_eq
                    .find(|c: char| c.is_ascii_whitespace())
                    .unwrap_or(after_eq.len());
                (&after_eq[..end], &after_eq[end..])
            }
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(decode_entities(value));
        }
        rest = tail;
    }
}

/// A `title` property's value: `bbox 1 2 3 4; x_wconf 96` → `property(…, "x_wconf")` = "96".
fn property<'t>(title: &'t str, name: &str) -> Option<&'t str> {
    title.split(';').find_map(|p| {
        let p = p.trim();
        let value = p.strip_prefix(name)?;
        value
            .starts_with(|c: char| c.is_ascii_whitespace())
            .then(|| value.trim())
    })
}

fn bbox(title: &str) -> Option<[u32; 4]> {
    let mut numbers = property(title, "bbox")?.split_ascii_whitespace();
    let mut out = [0u32; 4];
    for slot in &mut out {
        *slot = numbers.next()?.parse().ok()?;
    }
    Some(out)
}

/// Decodes `&amp; &lt; &gt; &quot; &apos; &#NN; &#xNN;`; anything else is kept as written.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let code = if let Some(hex) =
                        entity.strip_prefix("#x").or(entity.strip_prefix("#X"))
                    {
                        u32::from_str_radix(hex, 16).ok()
                    } else {
                        entity.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    code.and_then(char::from_u32)
                }
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOCR: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html><head><meta http-equiv="Content-Type" content="text/html;charset=utf-8" /><meta name='ocr-system' content='tesseract 5.3.0' /></head>
<body>
  <div class='ocr_page' id='page_1' title='image "p.tif"; bbox 0 0 640 480; ppageno 0; scan_res 70 70'>
   <div class='ocr_carea' id='block_1_1' title="bbox 36 92 618 361">
    <p class='ocr_par' id='par_1_1' lang='eng' title="bbox 36 92 580 184">
     <span class='ocr_line' id='line_1_1' title="bbox 36 92 580 122; baseline 0 -6; x_size 30">
      <span class='ocrx_word' id='word_1_1' title='bbox 36 92 96 116; x_wconf 96'>This</span>
      <span class='ocrx_word' id='word_1_2' title='bbox 109 92 129 116; x_wconf 95'><strong>R&amp;D</strong></span>
     </span>
     <span class='ocr_line' id='line_1_2' title="bbox 36 130 580 160">
      <span class='ocrx_word' id='word_1_3' title='bbox 36 130 90 160; x_wconf 80'>&#xE9;t&#233;</span>
     </span>
    </p>
    <p class='ocr_par' title="bbox 36 200 580 230"><span class='ocr_line' title="bbox 36 200 580 230"><span class='ocrx_word' title='bbox 36 200 80 230; x_wconf 50'>&laquo;fin</span></span></p>
   </div>
  </div>
</body></html>"#;

    #[test]
    fn reads_words_boxes_and_structure() {
        let page = parse_hocr(HOCR).unwrap();
        assert_eq!((page.width, page.height), (640, 480));
        assert_eq!(page.words.len(), 4);
        let w = &page.words[1];
        assert_eq!(w.text, "R&D");
        assert_eq!((w.left, w.top, w.width, w.height), (109, 92, 20, 24));
        assert_eq!(w.confidence, 95.0);
        assert_eq!(page.text(), "This R&D\nété\n\n&laquo;fin");
    }

    #[test]
    fn rejects_what_is_not_hocr() {
        assert!(parse_hocr("<html><body>hello</body></html>").is_err());
        assert!(parse_hocr(
            "<div class='ocr_page' title='bbox 0 0 1 1'><span class='ocrx_word'>x</span></div>"
        )
        .is_err());
        assert!(parse_hocr("<div class='ocr_page").is_err());
    }
}
