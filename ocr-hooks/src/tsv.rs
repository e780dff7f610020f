//! Parsers for tesseract's TSV output, plain text word lists and tesseract's OSD report.

use crate::ocr::{OcrPage, OcrWord, Orientation};

/// Reads tesseract's `tsv` output: the level 1 row gives the page size, level 5 rows are
/// words (rows with confidence -1 and blank words are skipped). Columns: level page_num
/// block_num par_num line_num word_num left top width height conf text.
pub(crate) fn parse_tsv(tsv: &str) -> Result<OcrPage, String> {
    let mut lines = tsv.lines();
    match lines.next() {
        Some(header) if header.starts_with("level\t") => {}
        Some(_) => return Err("the first line is not the tsv header".into()),
        // tesseract writes at least the header; nothing at all means it did not run.
        None => return Err("the output is empty".into()),
    }
    let mut page: Option<OcrPage> = None;
    for (n, line) in lines.enumerate() {
        let row = n + 2;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.splitn(12, '\t').collect();
        if fields.len() < 11 {
            return Err(format!("line {row} has {} columns, not 12", fields.len()));
        }
        let number = |i: usize| -> Result<u32, String> {
            fields[i].trim().parse::<u32>().map_err(|_| {
                format!(
                    "line {row}, column {}: `{}` is not a number",
                    i + 1,
                    fields[i]
                )
            })
        };
        match number(0)? {
            1 => {
                if page.is_some() {
                    return Err("the image has more than one page".into());
                }
                page = Some(OcrPage {
                    width: number(8)?,
                    height: number(9)?,
                    words: Vec::new(),
                });
            }
            5 => {
                let Some(page) = page.as_mut() else {
                    return Err(format!("line {row}: a word before the page row"));
                };
                let confidence: f32 = fields[10].trim().parse().map_err(|_| {
                    format!("line {row}: confidence `{}` is not a number", fields[10])
                })?;
                let text = fields.get(11).map_or("", |t| t.trim());
                if confidence < 0.0 || text.is_empty() {
                    continue;
                }
                page.words.push(OcrWord {
                    text: text.to_owned(),
                    left: number(6)?,
                    top: number(7)?,
                    width: number(8)?,
                    height: number(9)?,
                    confidence: confidence.min(100.0),
                    block: number(2)?,
                    paragraph: number(3)?,
                    line: number(4)?,
                });
            }
            _ => {}
        }
    }
    page.ok_or_else(|| "no page row".into())
}

/// A plain text result: words without positions (zero boxes, confidence 0). Each non-blank
/// line is a line; blank lines separate paragraphs; everything is block 1.
pub(crate) fn parse_text(text: &str) -> OcrPage {
    let mut words = Vec::new();
    let (mut paragraph, mut line) = (1, 0);
    let mut after_blank = false;
    for row in text.lines() {
        if row.trim().is_empty() {
            after_blank = true;
            continue;
        }
        if after_blank && !words.is_empty() {
            paragraph += 1;
            line = 0;
        }
        after_blank = false;
        line += 1;
        for token in row.split_whitespace() {
            words.push(OcrWord {
                text: token.to_owned(),
                left: 0,
                top: 0,
                width: 0,
                height: 0,
                confidence: 0.0,
                block: 1,
                paragraph,
                line,
            });
        }
    }
    OcrPage {
        width: 0,
        height: 0,
        words,
    }
}

/// Reads `Rotate: N` and `Orientation confidence: X` from tesseract's `--psm 0` report.
pub(crate) fn parse_osd(report: &str) -> Result<Orientation, String> {
    let value = |key: &str| {
        report
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .ok_or_else(|| format!("no `{key}` line"))
    };
    let rotate = value("Rotate:")?;
    let rotate: u16 = rotate
        .parse()
        .ok()
        .filter(|r| matches!(r, 0 | 90 | 180 | 270))
        .ok_or_else(|| format!("rotation `{rotate}` is not 0, 90, 180 or 270"))?;
    let confidence = value("Orientation confidence:")?;
    let confidence: f32 = confidence
        .parse()
        .map_err(|_| format!("confidence `{confidence}` is not a number"))?;
    Ok(Orientation { rotate, confidence })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
1\t1\t0\t0\t0\t0\t0\t0\t640\t480\t-1\t
2\t1\t1\t0\t0\t0\t36\t92\t582\t269\t-1\t
4\t1\t1\t1\t1\t0\t36\t92\t544\t30\t-1\t
5\t1\t1\t1\t1\t1\t36\t92\t60\t24\t96.821556\tThis
5\t1\t1\t1\t1\t2\t109\t92\t20\t24\t96.931900\tis
5\t1\t1\t1\t1\t3\t141\t98\t15\t18\t-1\t
5\t1\t2\t1\t1\t1\t141\t98\t15\t18\t12.5\tfin
";

    #[test]
    fn tsv_words_and_page_size() {
        let page = parse_tsv(TSV).unwrap();
        assert_eq!((page.width, page.height), (640, 480));
        assert_eq!(page.words.len(), 3);
        let w = &page.words[1];
        assert_eq!(w.text, "is");
        assert_eq!((w.left, w.top, w.width, w.height), (109, 92, 20, 24));
        assert_eq!((w.block, w.paragraph, w.line), (1, 1, 1));
        assert_eq!(page.text(), "This is\n\nfin");
    }

    #[test]
    fn tsv_errors() {
        assert!(parse_tsv("").is_err());
        assert!(parse_tsv("garbage\n").is_err());
        assert!(parse_tsv("level\ttext\n")
            .unwrap_err()
            .contains("no page row"));
        assert!(parse_tsv("level\tx\n5\t1\t1\t1\t1\t1\t1\t1\t1\t1\t50\tx\n").is_err());
        let two = format!("{TSV}1\t2\t0\t0\t0\t0\t0\t0\t640\t480\t-1\t\n");
        assert!(parse_tsv(&two).unwrap_err().contains("more than one page"));
    }

    #[test]
    fn text_lines_and_paragraphs() {
        let page = parse_text("\nBonjour  madame\nsuite\n\n\nFin\n");
        assert_eq!(page.text(), "Bonjour madame\nsuite\n\nFin");
        assert!(page
            .words
            .iter()
            .all(|w| w.width == 0 && w.confidence == 0.0));
    }

    #[test]
    fn osd_report() {
        let report = "Page number: 0\nOrientation in degrees: 90\nRotate: 270\nOrientation confidence: 9.30\nScript: Latin\n";
        assert_eq!(
            parse_osd(report).unwrap(),
            Orientation {
                rotate: 270,
                confidence: 9.3
            }
        );
        assert!(parse_osd("Rotate: 45\nOrientation confidence: 1\n").is_err());
        assert!(parse_osd("").is_err());
    }
}
