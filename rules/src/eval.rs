//! Evaluation: pick the doctype of a document, extract and type its keys,
//! and derive the attach targets. Evaluation never fails; whatever prevents
//! automatic filing is listed in [`Evaluation::problems`].

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::compile::{Conditions, Doctype, Extractor, KeyRule, RuleSet};
use crate::scan::{show_confidence, text_confidence, Laid, Shaped, Word};
use crate::values::{parse_value, quoted};

/// The document to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Source name (e.g. `spool-in`, `cli`).
    pub source: &'a str,
    /// Format name (e.g. `text-spool`, `pdf`).
    pub format: &'a str,
    /// page texts in reading order; for spools each page is lines separated by '\n', columns are char positions (1-based col = char index + 1)
    pub pages: &'a [String],
    /// Document metadata (e.g. `form_type` of a spool, `mail.subject` of an
    /// e-mailed document).
    pub metadata: &'a BTreeMap<String, String>,
    /// OCR words of a scanned document: one list per page, in the order of
    /// `pages`; `None` for a document that was not OCR'd (a spool, a
    /// born-digital PDF). `zone_mm` keys read them; other keys take their
    /// confidence from them.
    pub words: Option<&'a [Vec<Word>]>,
}

impl<'a> Input<'a> {
    /// A document without OCR words (`words: None`).
    pub fn new(
        source: &'a str,
        format: &'a str,
        pages: &'a [String],
        metadata: &'a BTreeMap<String, String>,
    ) -> Input<'a> {
        Input {
            source,
            format,
            pages,
            metadata,
            words: None,
        }
    }

    /// The same document with its OCR words (one list per page).
    pub fn with_words(self, words: &'a [Vec<Word>]) -> Input<'a> {
        Input {
            words: Some(words),
            ..self
        }
    }
}

/// The result of evaluating a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The chosen doctype, `None` if no doctype matched.
    pub doc_type: Option<String>,
    /// Keys found, typed and validated, by key name.
    pub keys: BTreeMap<String, KeyValue>,
    /// Records the document attaches to, in the order of the attach rules.
    pub targets: Vec<Target>,
    /// why this document cannot be filed automatically; empty = every rule is satisfied
    pub problems: Vec<String>,
}

/// One extracted key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    /// Canonical typed value (e.g. `2024-03-15`, `1227.00`).
    pub value: String,
    /// The text as found (regex group or zone text).
    pub raw: String,
    /// The rule that found it, e.g. `invoice/client_number: zone p1 r2-2 c50-80`,
    /// or `mail/client_number: metadata mail.plus` for a value read from a
    /// metadata field (`+ regex` when narrowed by a regex).
    pub rule: String,
    /// 1-based page where it was found; 0 for a value read from a metadata
    /// field (`field = "..."`), which is on no page.
    pub page: usize,
    /// OCR confidence (0 to 100) of the value: the lowest confidence of the
    /// OCR words it was read from; `None` when the document has no words,
    /// for a metadata value, or when the words of the value were not found.
    pub confidence: Option<f32>,
    /// The value as found (trimmed) when `shape` corrected it (OCR
    /// confusions swapped, inner spaces removed); `raw` then holds the same
    /// text and `value` is typed from the corrected one.
    pub corrected_from: Option<String>,
}

/// The kind of record a document attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A client record.
    Client,
    /// An invoice record.
    Invoice,
    /// A form record.
    Form,
}

impl TargetKind {
    /// `"client"`, `"invoice"` or `"form"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Client => "client",
            TargetKind::Invoice => "invoice",
            TargetKind::Form => "form",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not `client`, `invoice` or `form`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown target kind {} (expected client, invoice or form)", quoted(.0))]
pub struct UnknownTargetKind(pub String);

impl FromStr for TargetKind {
    type Err = UnknownTargetKind;
    /// Exact, lowercase names only, as in the rules file.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "client" => Ok(TargetKind::Client),
            "invoice" => Ok(TargetKind::Invoice),
            "form" => Ok(TargetKind::Form),
            other => Err(UnknownTargetKind(other.to_string())),
        }
    }
}

/// A record the document attaches to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Kind of record.
    pub kind: TargetKind,
    /// Typed value of the key that identifies the record.
    pub value: String,
    /// Name of that key.
    pub key: String,
}

/// All pages joined with '\n', with the byte offset where each page starts.
struct Joined {
    text: String,
    starts: Vec<usize>,
}

impl Joined {
    fn new(pages: &[String]) -> Joined {
        let len = pages.iter().map(|p| p.len() + 1).sum();
        let mut text = String::with_capacity(len);
        let mut starts = Vec::with_capacity(pages.len());
        for (i, p) in pages.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            starts.push(text.len());
            text.push_str(p);
        }
        Joined { text, starts }
    }

    /// 1-based page holding byte `offset` of the joined text.
    fn page_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

/// A document being evaluated; the joined text is built at most once.
struct Doc<'i, 'a> {
    input: &'i Input<'a>,
    joined: OnceCell<Joined>,
}

impl Doc<'_, '_> {
    fn joined(&self) -> &Joined {
        self.joined.get_or_init(|| Joined::new(self.input.pages))
    }
}

impl Conditions {
    fn hold(&self, doc: &Doc<'_, '_>) -> bool {
        let input = doc.input;
        if !self.hold_without_text(input.source, input.format, input.metadata) {
            return false;
        }
        match &self.text {
            Some(re) => re.is_match(&doc.joined().text),
            None => true,
        }
    }

    /// `when.source`, `when.format` and `when.metadata` (not `when.text`).
    pub(crate) fn hold_without_text(
        &self,
        source: &str,
        format: &str,
        metadata: &BTreeMap<String, String>,
    ) -> bool {
        if let Some(sources) = &self.sources {
            if !sources.iter().any(|s| s == source) {
                return false;
            }
        }
        if let Some(formats) = &self.formats {
            if !formats.iter().any(|f| f == format) {
                return false;
            }
        }
        self.metadata
            .iter()
            .all(|(k, v)| metadata.get(k) == Some(v))
            && self
                .metadata_match
                .iter()
                .all(|(k, re)| metadata.get(k).is_some_and(|v| re.is_match(v)))
    }
}

/// What a key rule found: raw text, 1-based page (0 for a metadata value),
/// confidence.
struct Found {
    raw: String,
    page: usize,
    confidence: Option<f32>,
}

impl KeyRule {
    /// What the rule finds, if anything.
    fn extract(&self, doc: &Doc<'_, '_>) -> Option<Found> {
        // best-effort confidence of a value read from a page's text
        let on_page = |raw: String, page: usize| {
            let confidence = doc
                .input
                .words
                .and_then(|words| words.get(page.checked_sub(1)?))
                .and_then(|words| text_confidence(words, &raw));
            Found {
                raw,
                page,
                confidence,
            }
        };
        match &self.extractor {
            Extractor::Regex(pattern) => {
                let joined = doc.joined();
                let (raw, offset) = pattern.find(&joined.text, self.occurrence)?;
                Some(on_page(raw.to_string(), joined.page_of(offset)))
            }
            Extractor::Zone { zone, regex } => {
                let index = zone.page_index(doc.input.pages.len())?;
                let lines = zone.cut(doc.input.pages.get(index)?);
                let raw = match regex {
                    Some(pattern) => {
                        let text = lines.join("\n");
                        pattern.find(&text, self.occurrence)?.0.to_string()
                    }
                    None => {
                        let parts: Vec<&str> = lines
                            .iter()
                            .map(|l| l.trim())
                            .filter(|l| !l.is_empty())
                            .collect();
                        if parts.is_empty() {
                            return None;
                        }
                        parts.join(" ")
                    }
                };
                Some(on_page(raw, index + 1))
            }
            Extractor::ZoneMm { zone, regex } => {
                let words = doc.input.words?;
                let index = zone.page_index(words.len())?;
                let laid: Laid<'_> = zone.text(words.get(index)?);
                let (raw, range) = match regex {
                    Some(pattern) => {
                        let (value, start) = pattern.find(&laid.text, self.occurrence)?;
                        (value.to_string(), start..start + value.len())
                    }
                    None if laid.text.is_empty() => return None,
                    None => (laid.text.replace('\n', " "), 0..laid.text.len()),
                };
                Some(Found {
                    confidence: laid.confidence(range),
                    raw,
                    page: index + 1,
                })
            }
            Extractor::Field { field, regex } => {
                let value = doc.input.metadata.get(field)?;
                let raw = match regex {
                    Some(pattern) => pattern.find(value, self.occurrence)?.0,
                    None => Some(value.trim()).filter(|v| !v.is_empty())?,
                };
                Some(Found {
                    raw: raw.to_string(),
                    page: 0,
                    confidence: None,
                })
            }
        }
    }
}

impl Doctype {
    fn evaluate(&self, doc: &Doc<'_, '_>) -> Evaluation {
        let mut keys = BTreeMap::new();
        let mut problems = Vec::new();
        for rule in &self.keys {
            let Some(Found {
                raw,
                page,
                confidence,
            }) = rule.extract(doc)
            else {
                if rule.required {
                    problems.push(format!("required key {} not found", rule.name));
                }
                continue;
            };
            let mut rule_text = rule.description.clone();
            let mut corrected_from = None;
            let mut shaped: Option<String> = None;
            if let Some(shape) = &rule.shape {
                match shape.fit(&raw) {
                    Shaped::Fits(None) => {}
                    Shaped::Fits(Some(corrected)) => {
                        let found = raw.trim().to_string();
                        rule_text.push_str(&format!(" (corrected from {})", quoted(&found)));
                        corrected_from = Some(found);
                        shaped = Some(corrected);
                    }
                    Shaped::Ambiguous(variants) => {
                        let variants: Vec<String> = variants.iter().map(|v| quoted(v)).collect();
                        problems.push(format!(
                            "key {}: {} could be read as {} to match shape {}: check it",
                            rule.name,
                            quoted(&raw),
                            variants.join(" or "),
                            shape.written
                        ));
                        continue;
                    }
                    Shaped::NoFit => {
                        problems.push(format!(
                            "key {}: {} does not match shape {}, even with OCR corrections",
                            rule.name,
                            quoted(&raw),
                            shape.written
                        ));
                        continue;
                    }
                }
            }
            let value = match parse_value(rule.value_type, shaped.as_deref().unwrap_or(&raw)) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("key {}: {e}", rule.name));
                    continue;
                }
            };
            if let Some(validate) = &rule.validate {
                if !validate.is_match(&value) {
                    problems.push(format!(
                        "key {}: {} does not match {}",
                        rule.name,
                        quoted(&value),
                        validate.as_str()
                    ));
                    continue;
                }
            }
            if let (Some(min), Some(c)) = (rule.min_confidence, confidence) {
                if c < min {
                    problems.push(format!(
                        "key {} read with confidence {} (below {}): check it",
                        rule.name,
                        show_confidence(c),
                        show_confidence(min)
                    ));
                }
            }
            keys.insert(
                rule.name.clone(),
                KeyValue {
                    value,
                    raw,
                    rule: rule_text,
                    page,
                    confidence,
                    corrected_from,
                },
            );
        }

        let mut targets = Vec::new();
        for attach in &self.attaches {
            match keys.get(&attach.key) {
                Some(kv) => targets.push(Target {
                    kind: attach.target,
                    value: kv.value.clone(),
                    key: attach.key.clone(),
                }),
                None => problems.push(format!(
                    "cannot attach to {}: key {} has no value",
                    attach.target, attach.key
                )),
            }
        }

        Evaluation {
            doc_type: Some(self.name.clone()),
            keys,
            targets,
            problems,
        }
    }
}

impl RuleSet {
    /// Evaluate a document: the first doctype (file order) whose conditions
    /// all hold is chosen, then its keys and attaches are evaluated.
    pub fn evaluate(&self, input: &Input<'_>) -> Evaluation {
        let doc = Doc {
            input,
            joined: OnceCell::new(),
        };
        match self.doctypes.iter().find(|d| d.when.hold(&doc)) {
            Some(doctype) => doctype.evaluate(&doc),
            None => Evaluation {
                doc_type: None,
                keys: BTreeMap::new(),
                targets: Vec::new(),
                problems: vec!["no document type matched".to_string()],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    fn eval(
        rules: &str,
        source: &str,
        format: &str,
        p: &[&str],
        meta: &[(&str, &str)],
    ) -> Evaluation {
        let rs = RuleSet::from_toml(rules).unwrap();
        let pages = pages(p);
        let metadata: BTreeMap<String, String> = meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        rs.evaluate(&Input {
            source,
            format,
            pages: &pages,
            metadata: &metadata,
            words: None,
        })
    }

    #[test]
    fn target_kind_names() {
        for k in [TargetKind::Client, TargetKind::Invoice, TargetKind::Form] {
            assert_eq!(k.as_str().parse::<TargetKind>(), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
        }
        let e = "Client".parse::<TargetKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown target kind \"Client\" (expected client, invoice or form)"
        );
    }

    #[test]
    fn joined_pages() {
        let j = Joined::new(&pages(&["ab", "", "cd"]));
        assert_eq!(j.text, "ab\n\ncd");
        assert_eq!([0, 1, 2, 3, 4, 5].map(|o| j.page_of(o)), [1, 1, 1, 2, 3, 3]);
        let empty = Joined::new(&[]);
        assert_eq!(empty.page_of(0), 1);
    }

    #[test]
    fn regex_value_group_and_page() {
        let ev = eval(
            r#"
            [[doctype]]
            name = "d"
            [[doctype.key]]
            name = "named"
            regex = '(N)o\s*(?P<value>\d+)'
            [[doctype.key]]
            name = "first_group"
            regex = 'Ref ([A-Z]+)'
            [[doctype.key]]
            name = "whole"
            regex = 'X\d+'
            "#,
            "cli",
            "pdf",
            &["nothing here", "No 42\nRef ABC", "X12"],
            &[],
        );
        assert_eq!(ev.problems, Vec::<String>::new());
        assert_eq!(ev.keys["named"].value, "42");
        assert_eq!(ev.keys["named"].page, 2);
        assert_eq!(ev.keys["first_group"].value, "ABC");
        assert_eq!(ev.keys["whole"].value, "X12");
        assert_eq!(ev.keys["whole"].page, 3);
        assert_eq!(ev.keys["whole"].rule, "d/whole: regex");
    }

    #[test]
    fn occurrence_last_across_pages() {
        let rules = r#"
            [[doctype]]
            name = "d"
            [[doctype.key]]
            name = "total"
            regex = 'Total\s*:\s*(?P<value>[\d ,]+\d)'
            type = "amount"
            occurrence = "last"
            [[doctype.key]]
            name = "subtotal"
            regex = 'Total\s*:\s*(?P<value>[\d ,]+\d)'
            type = "amount"
        "#;
        let ev = eval(
            rules,
            "cli",
            "pdf",
            &["Total : 10,00", "Total : 20,00\nTotal : 1 030,00", "fin"],
            &[],
        );
        assert_eq!(ev.keys["total"].value, "1030.00");
        assert_eq!(ev.keys["total"].raw, "1 030,00");
        assert_eq!(ev.keys["total"].page, 2);
        assert_eq!(ev.keys["total"].rule, "d/total: regex (last)");
        assert_eq!(ev.keys["subtotal"].value, "10.00");
        assert_eq!(ev.keys["subtotal"].page, 1);
    }

    #[test]
    fn zones_with_accents() {
        let rules = r#"
            [[doctype]]
            name = "d"
            [[doctype.key]]
            name = "plain"
            zone = { rows = [2, 3], cols = [5, 14] }
            [[doctype.key]]
            name = "narrowed"
            zone = { rows = [1, 3], cols = [1, 40] }
            regex = 'Réf\s*:\s*(?P<value>\S+)'
            type = "code"
            [[doctype.key]]
            name = "last_page"
            zone = { page = -1, rows = [1, 1], cols = [3, 5] }
            [[doctype.key]]
            name = "out_of_page"
            zone = { page = 9, rows = [1, 1], cols = [1, 5] }
            [[doctype.key]]
            name = "out_of_rows"
            zone = { rows = [20, 30], cols = [1, 5] }
            required = true
            [[doctype.key]]
            name = "blank"
            zone = { rows = [1, 1], cols = [30, 40] }
            required = true
        "#;
        let page1 = "Réf : é-1234\nàéîõ Crème  brûlée\nçççç Façon   X\n";
        let ev = eval(rules, "cli", "text-spool", &[page1, "12345\n"], &[]);
        assert_eq!(ev.keys["plain"].raw, "Crème  br Façon   X");
        assert_eq!(ev.keys["plain"].value, "Crème br Façon X");
        assert_eq!(ev.keys["plain"].page, 1);
        assert_eq!(ev.keys["narrowed"].value, "É-1234");
        assert_eq!(
            ev.keys["narrowed"].rule,
            "d/narrowed: zone p1 r1-3 c1-40 + regex"
        );
        assert_eq!(ev.keys["last_page"].value, "345");
        assert_eq!(ev.keys["last_page"].page, 2);
        assert!(!ev.keys.contains_key("out_of_page"));
        assert_eq!(
            ev.problems,
            [
                "required key out_of_rows not found",
                "required key blank not found"
            ]
        );
    }

    #[test]
    fn typed_and_validation_problems() {
        let rules = r#"
            [[doctype]]
            name = "invoice"
            [[doctype.key]]
            name = "invoice_number"
            regex = 'N° (\S+)'
            validate = '^FA-\d{4}-\d{6}$'
            type = "code"
            [[doctype.key]]
            name = "date"
            regex = 'Date : (\S+)'
            type = "date"
            required = true
            [[doctype.attach]]
            target = "invoice"
            key = "invoice_number"
            [[doctype.attach]]
            target = "form"
            key = "date"
        "#;
        let ev = eval(rules, "cli", "pdf", &["N° fa-12\nDate : 31/02/2024"], &[]);
        assert!(ev.keys.is_empty());
        assert!(ev.targets.is_empty());
        assert_eq!(
            ev.problems,
            [
                r#"key invoice_number: "FA-12" does not match ^FA-\d{4}-\d{6}$"#,
                r#"key date: "31/02/2024" is not a valid date: day 31 does not exist in février 2024 (29 days)"#,
                "cannot attach to invoice: key invoice_number has no value",
                "cannot attach to form: key date has no value",
            ]
        );
    }

    #[test]
    fn no_doctype_and_empty_document() {
        let rules = "[[doctype]]\nname = \"d\"\nwhen.text = 'x'\n";
        let ev = eval(rules, "cli", "pdf", &[], &[]);
        assert_eq!(
            ev,
            Evaluation {
                doc_type: None,
                keys: BTreeMap::new(),
                targets: vec![],
                problems: vec!["no document type matched".into()]
            }
        );
        // a doctype without conditions matches even an empty document
        let rules = "[[doctype]]\nname = \"any\"\n[[doctype.key]]\nname = \"k\"\nregex = '.*'\n";
        let ev = eval(rules, "cli", "pdf", &[], &[]);
        assert_eq!(ev.doc_type.as_deref(), Some("any"));
        assert!(ev.keys.is_empty() && ev.problems.is_empty());
    }
}
