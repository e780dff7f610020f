//! Bursting: cutting one print run (a spool of many invoices) into
//! documents, page by page as it streams.
//!
//! A [`Burst`] is one checked `[[burst]]` of the rules file;
//! [`RuleSet::burst_for`] picks the one that applies to a run, and its
//! [`Splitter`] is fed the run's pages one at a time and says which pages
//! begin a document. Nothing is kept of the pages but the current
//! document's change value. See the crate documentation for the rules.

use std::collections::BTreeMap;

use regex::{CaptureLocations, Regex};

use crate::compile::{check_rect, compile_metadata_match, Conditions, Pattern, Rect, RuleSet};
use crate::config::{BurstConfig, Occurrence, StringList, TriggerConfig};
use crate::error::RulesError;

/// A checked, compiled `[[burst]]`: which runs it applies to and how it
/// cuts them. Get one with [`RuleSet::burst_for`], then cut a run with
/// [`Burst::splitter`].
#[derive(Debug, Clone)]
pub struct Burst {
    name: String,
    when: Conditions,
    start: Option<Start>,
    change: Option<Change>,
}

/// `start`: a page where the regex matches (in the zone, if any) begins a
/// document.
#[derive(Debug, Clone)]
struct Start {
    regex: Regex,
    zone: Option<Rect>,
}

/// `change`: the value on a page.
#[derive(Debug, Clone)]
enum Change {
    /// Zone alone: its lines trimmed, the non-empty ones joined by a space.
    Zone(Rect),
    /// Regex (in the zone text if any, else in the page): its value group, trimmed.
    Regex {
        pattern: Pattern,
        zone: Option<Rect>,
    },
}

/// Cuts one run into documents: feed it the run's pages in order with
/// [`Splitter::page`]. Only the current document's change value is kept;
/// its buffers are reused from page to page.
#[derive(Debug, Clone)]
pub struct Splitter<'b> {
    burst: &'b Burst,
    /// Pages fed so far.
    pages: usize,
    /// The current document's change value, valid if `has_value`.
    value: String,
    has_value: bool,
    /// Zone text of multi-line zones.
    scratch: String,
    /// Capture positions of the change regex.
    locs: Option<CaptureLocations>,
}

impl Burst {
    /// The burst's name, as in the rules file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh splitter for one run: the first page fed begins a document.
    pub fn splitter(&self) -> Splitter<'_> {
        let locs = match &self.change {
            Some(Change::Regex { pattern, .. }) => Some(pattern.regex.capture_locations()),
            _ => None,
        };
        Splitter {
            burst: self,
            pages: 0,
            value: String::new(),
            has_value: false,
            scratch: String::new(),
            locs,
        }
    }
}

impl Splitter<'_> {
    /// Feed the next page's text (rows separated by `'\n'`); true when this
    /// page begins a new document (always true for the first page fed).
    pub fn page(&mut self, page_text: &str) -> bool {
        let Splitter {
            burst,
            pages,
            value,
            has_value,
            scratch,
            locs,
        } = self;
        *pages += 1;
        let mut starts = *pages == 1
            || burst
                .start
                .as_ref()
                .is_some_and(|s| s.matches(page_text, scratch));
        if let Some(change) = &burst.change {
            match change.value(page_text, scratch, locs) {
                Some(v) => {
                    if *has_value && v != value.as_str() {
                        starts = true;
                    }
                    if starts || !*has_value {
                        value.clear();
                        value.push_str(v);
                        *has_value = true;
                    }
                }
                // a new document whose value is not on its first page
                None if starts => *has_value = false,
                None => {}
            }
        }
        starts
    }

    /// The change-key value of the current document, if seen (the first
    /// value found in it); always `None` for a burst without `change`.
    pub fn current_value(&self) -> Option<&str> {
        self.has_value.then_some(self.value.as_str())
    }
}

impl Start {
    fn matches(&self, page: &str, buf: &mut String) -> bool {
        match &self.zone {
            Some(zone) => self.regex.is_match(zone_text(zone, page, buf)),
            None => self.regex.is_match(page),
        }
    }
}

impl Change {
    fn value<'a>(
        &self,
        page: &'a str,
        buf: &'a mut String,
        locs: &mut Option<CaptureLocations>,
    ) -> Option<&'a str> {
        match self {
            Change::Zone(zone) => zone_value(zone, page, buf),
            Change::Regex { pattern, zone } => {
                let text = match zone {
                    Some(zone) => zone_text(zone, page, buf),
                    None => page,
                };
                let locs = locs.get_or_insert_with(|| pattern.regex.capture_locations());
                first_value(pattern, text, locs).map(str::trim)
            }
        }
    }
}

/// The zone's lines joined with `'\n'`: a slice of the page when the zone
/// has one line (the usual case), else built in `buf`.
fn zone_text<'a>(zone: &Rect, page: &'a str, buf: &'a mut String) -> &'a str {
    let mut lines = zone.lines(page);
    let Some(first) = lines.next() else {
        return "";
    };
    let Some(second) = lines.next() else {
        return first;
    };
    buf.clear();
    buf.push_str(first);
    for line in std::iter::once(second).chain(lines) {
        buf.push('\n');
        buf.push_str(line);
    }
    buf
}

/// The zone's lines trimmed, the non-empty ones joined by a space (as a key
/// zone without regex); `None` if the zone is blank.
fn zone_value<'a>(zone: &Rect, page: &'a str, buf: &'a mut String) -> Option<&'a str> {
    let mut parts = zone.lines(page).map(str::trim).filter(|l| !l.is_empty());
    let first = parts.next()?;
    let Some(second) = parts.next() else {
        return Some(first);
    };
    buf.clear();
    buf.push_str(first);
    for part in std::iter::once(second).chain(parts) {
        buf.push(' ');
        buf.push_str(part);
    }
    Some(buf)
}

/// The value of the first usable match (as [`Pattern::find`]), without
/// allocating when the first match is usable or there is none.
fn first_value<'t>(
    pattern: &Pattern,
    text: &'t str,
    locs: &mut CaptureLocations,
) -> Option<&'t str> {
    pattern.regex.captures_read(locs, text)?;
    if let Some((from, to)) = locs.get(pattern.group) {
        let v = &text[from..to];
        if !v.trim().is_empty() {
            return Some(v);
        }
    }
    // the first match's value group did not take part or is blank: look further
    pattern.find(text, Occurrence::First).map(|(v, _)| v)
}

pub(crate) fn compile_burst(index: usize, b: BurstConfig) -> Result<Burst, RulesError> {
    let name = b.name.trim().to_string();
    if name.is_empty() {
        return Err(RulesError::EmptyBurstName { index });
    }

    let list = |l: Option<StringList>, field: &'static str| match l {
        Some(StringList(v)) if v.is_empty() => Err(RulesError::EmptyBurstCondition {
            burst: name.clone(),
            field,
        }),
        Some(StringList(v)) => Ok(Some(v)),
        None => Ok(None),
    };
    let sources = list(b.when.source, "source")?;
    let formats = list(b.when.format, "format")?;
    if b.when.text.is_some() {
        return Err(RulesError::BurstTextCondition { burst: name });
    }
    let metadata_match = compile_metadata_match(b.when.metadata_match, |key, error| {
        RulesError::BadBurstMetadataMatch {
            burst: name.clone(),
            key,
            error,
        }
    })?;
    let when = Conditions {
        sources,
        formats,
        text: None,
        metadata: b.when.metadata.unwrap_or_default().into_iter().collect(),
        metadata_match,
    };

    if b.start.is_none() && b.change.is_none() {
        return Err(RulesError::NoBurstTrigger { burst: name });
    }
    let start = match b.start {
        Some(t) => {
            let (regex, zone) = compile_trigger(&name, "start", t)?;
            let Some(regex) = regex else {
                return Err(RulesError::EmptyTrigger {
                    burst: name,
                    trigger: "start",
                    needs: "a regex (optionally with a zone)",
                });
            };
            Some(Start { regex, zone })
        }
        None => None,
    };
    let change = match b.change {
        Some(t) => match compile_trigger(&name, "change", t)? {
            (Some(regex), zone) => Some(Change::Regex {
                pattern: Pattern::new(regex),
                zone,
            }),
            (None, Some(zone)) => Some(Change::Zone(zone)),
            (None, None) => {
                return Err(RulesError::EmptyTrigger {
                    burst: name,
                    trigger: "change",
                    needs: "a regex, a zone, or both",
                })
            }
        },
        None => None,
    };

    Ok(Burst {
        name,
        when,
        start,
        change,
    })
}

fn compile_trigger(
    burst: &str,
    trigger: &'static str,
    t: TriggerConfig,
) -> Result<(Option<Regex>, Option<Rect>), RulesError> {
    let regex = match t.regex {
        Some(re) => Some(Regex::new(&re).map_err(|error| RulesError::BadBurstRegex {
            burst: burst.to_string(),
            trigger,
            error,
        })?),
        None => None,
    };
    let zone = match t.zone {
        Some(z) => {
            Some(
                check_rect(&z.rows, &z.cols).map_err(|reason| RulesError::BadBurstZone {
                    burst: burst.to_string(),
                    trigger,
                    reason,
                })?,
            )
        }
        None => None,
    };
    Ok((regex, zone))
}

impl RuleSet {
    /// The first `[[burst]]` (file order) whose conditions hold, if any.
    pub fn burst_for(
        &self,
        source: &str,
        format: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Option<&Burst> {
        self.bursts
            .iter()
            .find(|b| b.when.hold_without_text(source, format, metadata))
    }

    /// Burst names, in file order (the order in which they are tried).
    pub fn burst_names(&self) -> Vec<&str> {
        self.bursts.iter().map(|b| b.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(toml: &str) -> RuleSet {
        RuleSet::from_toml(&format!("[[burst]]\nname = \"b\"\n{toml}")).unwrap()
    }

    /// 1-based numbers of the pages that begin a document, and each
    /// document's value at its end.
    fn cuts(rs: &RuleSet, pages: &[&str]) -> (Vec<usize>, Vec<Option<String>>) {
        let mut s = rs.bursts[0].splitter();
        let (mut starts, mut values) = (Vec::new(), Vec::new());
        for (i, p) in pages.iter().enumerate() {
            if s.page(p) {
                starts.push(i + 1);
                values.push(None);
            }
            *values.last_mut().expect("page 1 starts") = s.current_value().map(str::to_string);
        }
        (starts, values)
    }

    #[test]
    fn zone_text_and_value_reuse_the_page() {
        let rect = |r1, r2, c1, c2| Rect {
            row_from: r1,
            row_to: r2,
            col_from: c1,
            col_to: c2,
        };
        let page = "  FACTURE  \r\nN° 12   \n\n   suite  ";
        let mut buf = String::new();
        assert_eq!(zone_text(&rect(1, 1, 3, 9), page, &mut buf), "FACTURE");
        assert!(buf.is_empty());
        assert_eq!(
            zone_text(&rect(1, 4, 1, 6), page, &mut buf),
            "  FACT\nN° 12 \n\n   sui"
        );
        assert_eq!(zone_text(&rect(9, 9, 1, 6), page, &mut buf), "");
        assert_eq!(
            zone_value(&rect(1, 1, 1, 40), page, &mut buf),
            Some("FACTURE")
        );
        assert_eq!(
            zone_value(&rect(1, 4, 1, 40), page, &mut buf),
            Some("FACTURE N° 12 suite")
        );
        assert_eq!(zone_value(&rect(3, 3, 1, 40), page, &mut buf), None);
        assert_eq!(zone_value(&rect(1, 1, 30, 40), page, &mut buf), None);
    }

    #[test]
    fn first_value_skips_unusable_matches() {
        let p = Pattern::new(Regex::new(r"N:(?P<value>\d*)").unwrap());
        let mut locs = p.regex.capture_locations();
        assert_eq!(first_value(&p, "N:7 N:8", &mut locs), Some("7"));
        assert_eq!(first_value(&p, "N: N:8", &mut locs), Some("8"));
        assert_eq!(first_value(&p, "N: N:", &mut locs), None);
        assert_eq!(first_value(&p, "nothing", &mut locs), None);
        let whole = Pattern::new(Regex::new(r"FA-\d+").unwrap());
        let mut locs = whole.regex.capture_locations();
        assert_eq!(
            first_value(&whole, "x FA-12 FA-13", &mut locs),
            Some("FA-12")
        );
    }

    #[test]
    fn start_and_change_together() {
        let rs = burst(
            "start = { regex = '^FACTURE' }\nchange = { zone = { rows = [2, 2], cols = [1, 10] } }\n",
        );
        let (starts, values) = cuts(
            &rs,
            &[
                "FACTURE\nA", // 1: first page
                "suite\nA",   // continuation, same value
                "FACTURE\nA", // start cuts even with the same value
                "suite\nB",   // change cuts
                "suite\n",    // no value: continuation
                "FACTURE\n",  // start without value: value unknown
                "suite\nC",   // first value seen in the document: no cut
                "suite\nC",
                "suite\nD",
            ],
        );
        assert_eq!(starts, [1, 3, 4, 6, 9]);
        assert_eq!(
            values,
            [Some("A"), Some("A"), Some("B"), Some("C"), Some("D")].map(|v| v.map(String::from))
        );
    }

    #[test]
    fn splitter_without_change_has_no_value() {
        let rs = burst("start = { regex = 'X' }\n");
        let mut s = rs.bursts[0].splitter();
        assert!(s.page("nothing"));
        assert!(!s.page("nothing"));
        assert!(s.page("X"));
        assert_eq!(s.current_value(), None);
        // a second splitter starts over
        let mut s = rs.bursts[0].splitter();
        assert!(s.page("nothing"));
    }
}
