//! Compiled `RuleSet`: checks a [`RulesFile`] once (names, zones, attach
//! keys) and compiles every regex, so evaluation never fails and never
//! recompiles.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use crate::burst::{compile_burst, Burst};
use crate::config::{DoctypeConfig, KeyConfig, Occurrence, RulesFile, Settings, StringList};
use crate::error::RulesError;
use crate::eval::TargetKind;
use crate::scan::{MmZone, Shape};
use crate::sender::{compile_policies, SenderPolicy};
use crate::values::ValueType;

/// A checked, compiled rules file, ready to evaluate documents.
///
/// Cheap to share: it is `Send + Sync` and can be cloned.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) settings: Settings,
    pub(crate) doctypes: Vec<Doctype>,
    pub(crate) bursts: Vec<Burst>,
    pub(crate) sender_policies: Vec<SenderPolicy>,
}

#[derive(Debug, Clone)]
pub(crate) struct Doctype {
    pub(crate) name: String,
    pub(crate) when: Conditions,
    pub(crate) keys: Vec<KeyRule>,
    pub(crate) attaches: Vec<Attach>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    pub(crate) sources: Option<Vec<String>>,
    pub(crate) formats: Option<Vec<String>>,
    pub(crate) text: Option<Regex>,
    pub(crate) metadata: Vec<(String, String)>,
    /// `when.metadata_match`: metadata key, regex its value must match.
    pub(crate) metadata_match: Vec<(String, Regex)>,
}

#[derive(Debug, Clone)]
pub(crate) struct KeyRule {
    pub(crate) name: String,
    /// Human description, e.g. `invoice/client_number: zone p1 r2-2 c50-80`.
    pub(crate) description: String,
    pub(crate) extractor: Extractor,
    pub(crate) value_type: ValueType,
    pub(crate) required: bool,
    pub(crate) validate: Option<Regex>,
    pub(crate) occurrence: Occurrence,
    /// `shape`: the whole raw value must fit it, OCR confusions corrected.
    pub(crate) shape: Option<Shape>,
    /// `min_confidence`, 0 to 100.
    pub(crate) min_confidence: Option<f32>,
}

#[derive(Debug, Clone)]
pub(crate) enum Extractor {
    /// Regex over the whole text.
    Regex(Pattern),
    /// Zone of one page, optionally narrowed by a regex.
    Zone { zone: Zone, regex: Option<Pattern> },
    /// OCR words in a zone of one page, in millimetres, optionally
    /// narrowed by a regex.
    ZoneMm {
        zone: MmZone,
        regex: Option<Pattern>,
    },
    /// A metadata value (e.g. `mail.subject`), optionally narrowed by a regex.
    Field {
        field: String,
        regex: Option<Pattern>,
    },
}

/// A regex and the capture group that holds the value.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) regex: Regex,
    /// `value` group if named, else group 1 if any, else 0 (whole match).
    pub(crate) group: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Zone {
    /// 1-based, or negative from the end (-1 = last page); never 0.
    pub(crate) page: i64,
    pub(crate) row_from: usize,
    pub(crate) row_to: usize,
    pub(crate) col_from: usize,
    pub(crate) col_to: usize,
}

/// A rectangle of one page's text grid, without a page: rows and columns,
/// 1-based, inclusive, in characters. Zones of bursts are this (they apply
/// to the current page); zones of keys add a page to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    pub(crate) row_from: usize,
    pub(crate) row_to: usize,
    pub(crate) col_from: usize,
    pub(crate) col_to: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Attach {
    pub(crate) target: TargetKind,
    pub(crate) key: String,
}

impl RuleSet {
    /// Parse and check a rules file. Every regex is compiled here.
    pub fn from_toml(text: &str) -> Result<RuleSet, RulesError> {
        let file: RulesFile = toml::from_str(text).map_err(RulesError::Parse)?;
        RuleSet::from_config(file)
    }

    /// Check and compile an already parsed rules file.
    pub fn from_config(file: RulesFile) -> Result<RuleSet, RulesError> {
        let mut seen = BTreeSet::new();
        let mut doctypes = Vec::with_capacity(file.doctype.len());
        for (i, dt) in file.doctype.into_iter().enumerate() {
            let compiled = compile_doctype(i + 1, dt)?;
            if !seen.insert(compiled.name.clone()) {
                return Err(RulesError::DuplicateDoctype {
                    doctype: compiled.name,
                });
            }
            doctypes.push(compiled);
        }
        let mut seen = BTreeSet::new();
        let mut bursts = Vec::with_capacity(file.burst.len());
        for (i, b) in file.burst.into_iter().enumerate() {
            let compiled = compile_burst(i + 1, b)?;
            if !seen.insert(compiled.name().to_string()) {
                return Err(RulesError::DuplicateBurst {
                    burst: compiled.name().to_string(),
                });
            }
            bursts.push(compiled);
        }
        let sender_policies = compile_policies(file.sender_policy)?;
        Ok(RuleSet {
            settings: file.settings,
            doctypes,
            bursts,
            sender_policies,
        })
    }

    /// Doctype names, in file order (the order in which they are tried).
    pub fn doctype_names(&self) -> Vec<&str> {
        self.doctypes.iter().map(|d| d.name.as_str()).collect()
    }

    /// The `[settings]` of the file.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

fn compile_doctype(index: usize, dt: DoctypeConfig) -> Result<Doctype, RulesError> {
    let name = dt.name.trim().to_string();
    if name.is_empty() {
        return Err(RulesError::EmptyDoctypeName { index });
    }

    let list = |l: Option<StringList>, field: &'static str| match l {
        Some(StringList(v)) if v.is_empty() => Err(RulesError::EmptyCondition {
            doctype: name.clone(),
            field,
        }),
        Some(StringList(v)) => Ok(Some(v)),
        None => Ok(None),
    };
    let sources = list(dt.when.source, "source")?;
    let formats = list(dt.when.format, "format")?;
    let text = match dt.when.text {
        Some(re) => Some(
            Regex::new(&re).map_err(|error| RulesError::BadConditionRegex {
                doctype: name.clone(),
                error,
            })?,
        ),
        None => None,
    };
    let metadata_match = compile_metadata_match(dt.when.metadata_match, |key, error| {
        RulesError::BadMetadataMatch {
            doctype: name.clone(),
            key,
            error,
        }
    })?;
    let when = Conditions {
        sources,
        formats,
        text,
        metadata: dt.when.metadata.unwrap_or_default().into_iter().collect(),
        metadata_match,
    };

    let mut keys: Vec<KeyRule> = Vec::with_capacity(dt.key.len());
    for (i, key) in dt.key.into_iter().enumerate() {
        let rule = compile_key(&name, i + 1, key)?;
        if keys.iter().any(|k| k.name == rule.name) {
            return Err(RulesError::DuplicateKey {
                doctype: name,
                key: rule.name,
            });
        }
        keys.push(rule);
    }

    let mut attaches = Vec::with_capacity(dt.attach.len());
    for a in dt.attach {
        let key = a.key.trim().to_string();
        if !keys.iter().any(|k| k.name == key) {
            return Err(RulesError::UnknownAttachKey {
                doctype: name,
                target: a.target.as_str(),
                key: a.key,
            });
        }
        attaches.push(Attach {
            target: a.target,
            key,
        });
    }

    Ok(Doctype {
        name,
        when,
        keys,
        attaches,
    })
}

/// Compile `when.metadata_match` (doctype or burst); `error` names the place.
pub(crate) fn compile_metadata_match(
    map: Option<BTreeMap<String, String>>,
    error: impl Fn(String, regex::Error) -> RulesError,
) -> Result<Vec<(String, Regex)>, RulesError> {
    map.unwrap_or_default()
        .into_iter()
        .map(|(key, re)| match Regex::new(&re) {
            Ok(regex) => Ok((key, regex)),
            Err(e) => Err(error(key, e)),
        })
        .collect()
}

fn compile_key(doctype: &str, index: usize, key: KeyConfig) -> Result<KeyRule, RulesError> {
    let name = key.name.trim().to_string();
    if name.is_empty() {
        return Err(RulesError::EmptyKeyName {
            doctype: doctype.to_string(),
            index,
        });
    }
    let bad_regex = |field: &'static str| {
        let name = name.clone();
        move |error| RulesError::BadKeyRegex {
            doctype: doctype.to_string(),
            key: name,
            field,
            error,
        }
    };

    let pattern = match &key.regex {
        Some(re) => Some(Pattern::new(Regex::new(re).map_err(bad_regex("regex"))?)),
        None => None,
    };
    let validate = match &key.validate {
        Some(re) => Some(Regex::new(re).map_err(bad_regex("validate"))?),
        None => None,
    };
    let shape = match &key.shape {
        Some(re) => {
            // compiled as written first, so that an error quotes the user's regex
            Regex::new(re).map_err(bad_regex("shape"))?;
            Some(Shape {
                written: re.clone(),
                whole: Regex::new(&format!("^(?:{re})$")).map_err(bad_regex("shape"))?,
            })
        }
        None => None,
    };
    if let Some(value) = key.min_confidence {
        if !(0.0..=100.0).contains(&value) {
            return Err(RulesError::BadMinConfidence {
                doctype: doctype.to_string(),
                key: name,
                value,
            });
        }
    }
    let zone_mm = match &key.zone_mm {
        Some(z) => {
            let other = if key.zone.is_some() {
                Some("zone")
            } else if key.field.is_some() {
                Some("field")
            } else {
                None
            };
            if let Some(other) = other {
                return Err(RulesError::ZoneMmExclusive {
                    doctype: doctype.to_string(),
                    key: name,
                    other,
                });
            }
            Some(
                MmZone::check(z.page, &z.x, &z.y).map_err(|reason| RulesError::BadZoneMm {
                    doctype: doctype.to_string(),
                    key: name.clone(),
                    reason,
                })?,
            )
        }
        None => None,
    };

    let zone =
        match &key.zone {
            Some(z) => Some(check_zone(z.page, &z.rows, &z.cols).map_err(|reason| {
                RulesError::BadZone {
                    doctype: doctype.to_string(),
                    key: name.clone(),
                    reason,
                }
            })?),
            None => None,
        };

    let last = if key.occurrence == Occurrence::Last {
        " (last)"
    } else {
        ""
    };
    let field = match &key.field {
        Some(_) if zone.is_some() => {
            return Err(RulesError::FieldWithZone {
                doctype: doctype.to_string(),
                key: name,
            })
        }
        Some(f) if f.trim().is_empty() => {
            return Err(RulesError::EmptyField {
                doctype: doctype.to_string(),
                key: name,
            })
        }
        Some(f) => Some(f.trim().to_string()),
        None => None,
    };

    let (extractor, mut how) = match (field, zone, zone_mm, pattern) {
        (None, None, Some(z), p) => {
            let mut how = format!("zone_mm {}", z.describe());
            if p.is_some() {
                how.push_str(" + regex");
                how.push_str(last);
            }
            (Extractor::ZoneMm { zone: z, regex: p }, how)
        }
        (Some(field), _, _, pattern) => {
            let mut how = format!("metadata {field}");
            if pattern.is_some() {
                how.push_str(" + regex");
                how.push_str(last);
            }
            (
                Extractor::Field {
                    field,
                    regex: pattern,
                },
                how,
            )
        }
        (None, None, None, None) => {
            return Err(RulesError::NoExtractor {
                doctype: doctype.to_string(),
                key: name,
            })
        }
        (None, None, None, Some(p)) => (Extractor::Regex(p), format!("regex{last}")),
        (None, Some(z), _, p) => {
            let mut how = format!("zone p{} {}", z.page, z.rect().describe());
            if p.is_some() {
                how.push_str(" + regex");
                how.push_str(last);
            }
            (Extractor::Zone { zone: z, regex: p }, how)
        }
    };

    if shape.is_some() {
        how.push_str(" + shape");
    }
    Ok(KeyRule {
        description: format!("{doctype}/{name}: {how}"),
        name,
        extractor,
        value_type: key.value_type,
        required: key.required,
        validate,
        occurrence: key.occurrence,
        shape,
        min_confidence: key.min_confidence,
    })
}

fn check_zone(page: i64, rows: &[i64], cols: &[i64]) -> Result<Zone, String> {
    if page == 0 {
        return Err("page 0 does not exist: pages start at 1 (-1 = last page)".into());
    }
    let rect = check_rect(rows, cols)?;
    Ok(Zone {
        page,
        row_from: rect.row_from,
        row_to: rect.row_to,
        col_from: rect.col_from,
        col_to: rect.col_to,
    })
}

/// Check `rows = [from, to]` and `cols = [from, to]` (1-based, inclusive).
pub(crate) fn check_rect(rows: &[i64], cols: &[i64]) -> Result<Rect, String> {
    let range = |what: &str, pair: &[i64]| -> Result<(usize, usize), String> {
        let &[from, to] = pair else {
            return Err(format!(
                "{what} must be [from, to] (2 numbers), got {}",
                pair.len()
            ));
        };
        if from < 1 || to < 1 {
            return Err(format!("{what} start at 1, got [{from}, {to}]"));
        }
        if from > to {
            return Err(format!(
                "{what} [{from}, {to}] go backwards (from must be <= to)"
            ));
        }
        let conv =
            |n: i64| usize::try_from(n).map_err(|_| format!("{what} value {n} is too large"));
        Ok((conv(from)?, conv(to)?))
    };
    let (row_from, row_to) = range("rows", rows)?;
    let (col_from, col_to) = range("cols", cols)?;
    Ok(Rect {
        row_from,
        row_to,
        col_from,
        col_to,
    })
}

impl Pattern {
    pub(crate) fn new(regex: Regex) -> Pattern {
        let group = regex
            .capture_names()
            .position(|n| n == Some("value"))
            .unwrap_or(if regex.captures_len() > 1 { 1 } else { 0 });
        Pattern { regex, group }
    }

    /// The first or last usable match in `text`: (raw value, byte offset of
    /// the value). A match whose value group did not take part, or is only
    /// whitespace, is skipped.
    pub(crate) fn find<'t>(
        &self,
        text: &'t str,
        occurrence: Occurrence,
    ) -> Option<(&'t str, usize)> {
        let usable =
            |m: regex::Match<'t>| (!m.as_str().trim().is_empty()).then(|| (m.as_str(), m.start()));
        if self.group == 0 {
            let mut it = self.regex.find_iter(text).filter_map(usable);
            match occurrence {
                Occurrence::First => it.next(),
                Occurrence::Last => it.last(),
            }
        } else {
            let mut it = self
                .regex
                .captures_iter(text)
                .filter_map(|c| c.get(self.group))
                .filter_map(usable);
            match occurrence {
                Occurrence::First => it.next(),
                Occurrence::Last => it.last(),
            }
        }
    }
}

impl Zone {
    /// 0-based index of the zone's page among `page_count` pages, if it exists.
    pub(crate) fn page_index(&self, page_count: usize) -> Option<usize> {
        crate::scan::page_index(self.page, page_count)
    }

    /// The zone's rectangle, without its page.
    pub(crate) fn rect(&self) -> Rect {
        Rect {
            row_from: self.row_from,
            row_to: self.row_to,
            col_from: self.col_from,
            col_to: self.col_to,
        }
    }

    /// The zone's lines (rows that exist), each clipped to the columns,
    /// counted in characters. A trailing `\r` of a line is ignored.
    pub(crate) fn cut(&self, page: &str) -> Vec<String> {
        self.rect().lines(page).map(str::to_string).collect()
    }
}

impl Rect {
    /// The rectangle's lines in `page` (rows that exist), each clipped to
    /// the columns, counted in characters; slices of `page`, nothing is
    /// allocated. A trailing `\r` of a line is ignored.
    pub(crate) fn lines<'p>(&self, page: &'p str) -> impl Iterator<Item = &'p str> {
        let (col_from, col_to) = (self.col_from, self.col_to);
        page.split('\n')
            .skip(self.row_from - 1)
            .take(self.row_to - self.row_from + 1)
            .map(move |line| clip(line.strip_suffix('\r').unwrap_or(line), col_from, col_to))
    }

    /// `r2-2 c50-80`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "r{}-{} c{}-{}",
            self.row_from, self.row_to, self.col_from, self.col_to
        )
    }
}

/// Characters `col_from..=col_to` (1-based) of `line`, as a slice.
fn clip(line: &str, col_from: usize, col_to: usize) -> &str {
    let bytes = line.as_bytes();
    let probe = bytes.len().min(col_to);
    if bytes[..probe].is_ascii() {
        // up to column `col_to`, one character is one byte (and byte
        // `probe` is a character boundary: it follows an ASCII byte)
        return &line[(col_from - 1).min(probe)..probe];
    }
    let Some((start, _)) = line.char_indices().nth(col_from - 1) else {
        return "";
    };
    let rest = &line[start..];
    let end = rest
        .char_indices()
        .nth(col_to - col_from + 1)
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(toml: &str) -> String {
        match RuleSet::from_toml(toml) {
            Ok(_) => panic!("should fail:\n{toml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_file_is_valid() {
        let rs = RuleSet::from_toml("").unwrap();
        assert!(rs.doctype_names().is_empty());
        assert!(rs.settings().review_when_no_type);
    }

    #[test]
    fn descriptions() {
        let rs = RuleSet::from_toml(
            r#"
            [[doctype]]
            name = "invoice"
            [[doctype.key]]
            name = "a"
            regex = 'x'
            [[doctype.key]]
            name = "b"
            zone = { rows = [2, 2], cols = [50, 80] }
            [[doctype.key]]
            name = "c"
            zone = { page = -1, rows = [1, 3], cols = [1, 10] }
            regex = '(\d+)'
            occurrence = "last"
            "#,
        )
        .unwrap();
        let d: Vec<&str> = rs.doctypes[0]
            .keys
            .iter()
            .map(|k| k.description.as_str())
            .collect();
        assert_eq!(
            d,
            [
                "invoice/a: regex",
                "invoice/b: zone p1 r2-2 c50-80",
                "invoice/c: zone p-1 r1-3 c1-10 + regex (last)"
            ]
        );
    }

    #[test]
    fn value_group_choice() {
        assert_eq!(
            Pattern::new(Regex::new(r"a(b)(?P<value>c)").unwrap()).group,
            2
        );
        assert_eq!(Pattern::new(Regex::new(r"a(b)c").unwrap()).group, 1);
        assert_eq!(Pattern::new(Regex::new(r"abc").unwrap()).group, 0);
        assert_eq!(Pattern::new(Regex::new(r"a(?:b)c").unwrap()).group, 0);
    }

    #[test]
    fn pattern_skips_unusable_matches() {
        let p = Pattern::new(Regex::new(r"N:(?P<value>\d*)").unwrap());
        assert_eq!(p.find("N: N:12 N:34", Occurrence::First), Some(("12", 5)));
        assert_eq!(p.find("N: N:12 N:34", Occurrence::Last), Some(("34", 10)));
        assert_eq!(p.find("N: N:", Occurrence::First), None);
        let p = Pattern::new(Regex::new(r"x(a)?").unwrap());
        assert_eq!(p.find("x xa", Occurrence::First), Some(("a", 3)));
    }

    #[test]
    fn zone_pages() {
        let z = |page| Zone {
            page,
            row_from: 1,
            row_to: 1,
            col_from: 1,
            col_to: 1,
        };
        assert_eq!(z(1).page_index(3), Some(0));
        assert_eq!(z(3).page_index(3), Some(2));
        assert_eq!(z(4).page_index(3), None);
        assert_eq!(z(-1).page_index(3), Some(2));
        assert_eq!(z(-3).page_index(3), Some(0));
        assert_eq!(z(-4).page_index(3), None);
        assert_eq!(z(1).page_index(0), None);
        assert_eq!(z(-1).page_index(0), None);
        assert_eq!(z(i64::MIN).page_index(3), None);
        assert_eq!(z(i64::MAX).page_index(3), None);
    }

    #[test]
    fn zone_cut_counts_chars_and_clips() {
        let z = Zone {
            page: 1,
            row_from: 2,
            row_to: 4,
            col_from: 3,
            col_to: 6,
        };
        let page = "ignored\nàéîõü-xyz\nab\r\n";
        // row 2: chars 3..=6; row 3: too short; row 4: empty; row 5 absent
        assert_eq!(z.cut(page), ["îõü-", "", ""]);
        let huge = Zone {
            page: 1,
            row_from: 1,
            row_to: usize::MAX,
            col_from: 1,
            col_to: usize::MAX,
        };
        assert_eq!(huge.cut("a\nb"), ["a", "b"]);
        let far = Zone {
            page: 1,
            row_from: usize::MAX,
            row_to: usize::MAX,
            col_from: usize::MAX,
            col_to: usize::MAX,
        };
        assert!(far.cut("a\nb").is_empty());
    }

    #[test]
    fn clip_matches_chars_skip_take() {
        let lines = [
            "",
            "a",
            "abc",
            "abcdef",
            "àéîõü-xyz",
            "ab\u{e9}cd",
            "\t€1 234,56",
            "x€",
            "€x",
        ];
        for line in lines {
            for from in 1..9 {
                for to in from..10 {
                    let slow: String = line.chars().skip(from - 1).take(to - from + 1).collect();
                    assert_eq!(clip(line, from, to), slow, "{line:?} {from}..={to}");
                }
                assert_eq!(
                    clip(line, from, usize::MAX),
                    line.chars().skip(from - 1).collect::<String>()
                );
            }
        }
        assert_eq!(clip("abc", usize::MAX, usize::MAX), "");
        assert_eq!(clip("é", usize::MAX, usize::MAX), "");
    }

    #[test]
    fn bad_regex_names_doctype_and_key() {
        let msg = err(r#"
            [[doctype]]
            name = "invoice"
            [[doctype.key]]
            name = "invoice_number"
            regex = 'N° (?P<value>[A-Z'
            "#);
        assert!(
            msg.starts_with("doctype invoice, key invoice_number: regex is not a valid regex: "),
            "{msg}"
        );
        assert!(msg.contains("unclosed character class"), "{msg}");

        let msg = err(r#"
            [[doctype]]
            name = "invoice"
            [[doctype.key]]
            name = "n"
            regex = 'x'
            validate = '^(FA'
            "#);
        assert!(
            msg.starts_with("doctype invoice, key n: validate is not a valid regex: "),
            "{msg}"
        );

        let msg = err(r#"
            [[doctype]]
            name = "invoice"
            when.text = '(?i)fact('
            "#);
        assert!(
            msg.starts_with("doctype invoice: when.text is not a valid regex: "),
            "{msg}"
        );
    }

    #[test]
    fn bad_zones() {
        let zone = |z: &str| {
            err(&format!(
                "[[doctype]]\nname = \"d\"\n[[doctype.key]]\nname = \"k\"\nzone = {z}\n"
            ))
        };
        assert_eq!(
            zone("{ rows = [3, 2], cols = [1, 2] }"),
            "doctype d, key k: bad zone: rows [3, 2] go backwards (from must be <= to)"
        );
        assert_eq!(
            zone("{ rows = [1, 2], cols = [0, 2] }"),
            "doctype d, key k: bad zone: cols start at 1, got [0, 2]"
        );
        assert_eq!(
            zone("{ page = 0, rows = [1, 2], cols = [1, 2] }"),
            "doctype d, key k: bad zone: page 0 does not exist: pages start at 1 (-1 = last page)"
        );
        assert!(zone("{ rows = [1, 2] }").contains("missing field `cols`"));
        assert_eq!(
            zone("{ rows = [1, 2, 3], cols = [1, 2] }"),
            "doctype d, key k: bad zone: rows must be [from, to] (2 numbers), got 3"
        );
        assert_eq!(
            zone("{ rows = [1, 2], cols = [7] }"),
            "doctype d, key k: bad zone: cols must be [from, to] (2 numbers), got 1"
        );
        assert!(
            zone("{ rows = [1, 2], cols = [1, \"x\"] }").starts_with("cannot read rules file: ")
        );
        assert!(
            zone("{ rows = [1, 2], cols = [1, 2], width = 3 }").contains("unknown field `width`")
        );
    }

    #[test]
    fn other_load_errors() {
        assert_eq!(
            err(
                "[[doctype]]\nname = \"a\"\n[[doctype]]\nname = \"b\"\n[[doctype]]\nname = \"a\"\n"
            ),
            "doctype a: name is used by more than one doctype"
        );
        assert_eq!(
            err("[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"k\"\nregex = 'x'\n[[doctype.key]]\nname = \"k\"\nregex = 'y'\n"),
            "doctype a, key k: name is used by more than one key of this doctype"
        );
        assert_eq!(
            err("[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"k\"\n"),
            "doctype a, key k: needs a regex, a zone or a field (a zone or a field may be narrowed by a regex)"
        );
        assert_eq!(
            err("[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"k\"\nregex = 'x'\n[[doctype.attach]]\ntarget = \"client\"\nkey = \"client_number\"\n"),
            "doctype a: attach to client uses key client_number, which is not defined in this doctype"
        );
        assert_eq!(
            err("[[doctype]]\nname = \" \"\n"),
            "doctype #1: name is empty"
        );
        assert_eq!(
            err("[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"\"\nregex = 'x'\n"),
            "doctype a, key #1: name is empty"
        );
        assert_eq!(
            err("[[doctype]]\nname = \"a\"\nwhen.source = []\n"),
            "doctype a: when.source is an empty list, the doctype could never match"
        );
        assert!(err("[[doctype]]\nname = \"a\"\nwhen.source = 3\n")
            .contains("a string or a list of strings"));
        assert!(err("[[doctype]]\nwhen.text = 'x'\n").contains("missing field `name`"));
        assert!(err("[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"k\"\nregex = 'x'\ntype = \"money\"\n")
            .contains("unknown variant `money`"));
        assert!(err("[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"k\"\nregex = 'x'\noccurrence = \"second\"\n")
            .contains("unknown variant `second`"));
        assert!(err("[[doctype]]\nname = \"a\"\n[[doctype.key]]\nname = \"k\"\nregex = 'x'\n[[doctype.attach]]\ntarget = \"supplier\"\nkey = \"k\"\n")
            .contains("unknown variant `supplier`"));
        assert!(err("[settings]\nreview = false\n").contains("unknown field `review`"));
        assert!(err("[[doctype]]\nname = \"a\"\nwhen.txt = 'x'\n").contains("unknown field `txt`"));
        assert!(
            err("[[doctype]]\nname = \"a\"\nwhen.metadata = { copies = 2 }\n")
                .starts_with("cannot read rules file: ")
        );
    }
}
