//! TOML model of a rules file, exactly as written by a clerk (before any
//! checking beyond the TOML types). Unknown fields are rejected everywhere.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::eval::TargetKind;
use crate::values::ValueType;

/// The whole rules file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// `[settings]`, optional.
    #[serde(default)]
    pub settings: Settings,
    /// `[[doctype]]` tables, in file order (the order matters: first match wins).
    #[serde(default)]
    pub doctype: Vec<DoctypeConfig>,
    /// `[[burst]]` tables, in file order (the order matters: first match wins).
    #[serde(default)]
    pub burst: Vec<BurstConfig>,
    /// `[[sender_policy]]` tables, in file order (the order matters: the
    /// first policy naming the document's capture address wins).
    #[serde(default)]
    pub sender_policy: Vec<SenderPolicyConfig>,
}

/// `[settings]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Informative only: a document with no type always goes to review.
    pub review_when_no_type: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            review_when_no_type: true,
        }
    }
}

/// One `[[doctype]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctypeConfig {
    /// Required, unique.
    pub name: String,
    /// Conditions (`when.source`, `when.format`, `when.text`, `when.metadata`).
    #[serde(default)]
    pub when: WhenConfig,
    /// `[[doctype.key]]` tables.
    #[serde(default)]
    pub key: Vec<KeyConfig>,
    /// `[[doctype.attach]]` tables.
    #[serde(default)]
    pub attach: Vec<AttachConfig>,
}

/// The `when` table of a doctype (or of a burst, where `text` is refused at
/// load time); every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenConfig {
    /// Source name must be one of these.
    pub source: Option<StringList>,
    /// Format name must be one of these.
    pub format: Option<StringList>,
    /// Regex that must match somewhere in the text.
    pub text: Option<String>,
    /// Each entry must equal the document's metadata value.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Each entry is a regex that must match the document's metadata value
    /// (a missing value never matches).
    pub metadata_match: Option<BTreeMap<String, String>>,
}

/// A string or a list of strings (`"cli"` or `["cli", "spool-in"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(StringList(out))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// One `[[doctype.key]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Required, unique within the doctype.
    pub name: String,
    /// Regex searched in the whole text, or in the zone text if `zone` is
    /// given, or in the metadata value if `field` is given.
    pub regex: Option<String>,
    /// Rectangle of the page text grid.
    pub zone: Option<ZoneConfig>,
    /// Metadata key (e.g. `mail.subject`) whose value is read instead of the
    /// text; exclusive with `zone`.
    pub field: Option<String>,
    /// Rectangle of a page in millimetres, read from the OCR words;
    /// exclusive with `zone` and `field`.
    pub zone_mm: Option<ZoneMmConfig>,
    /// Regex the whole raw value must match before typing; OCR confusions
    /// (O/0, I/1, S/5...) and spaces inside the value are corrected to fit it.
    pub shape: Option<String>,
    /// A key read with a lower confidence (0 to 100) is a problem.
    pub min_confidence: Option<f32>,
    /// Value type, `text` by default.
    #[serde(rename = "type", default)]
    pub value_type: ValueType,
    /// A required key that is not found is a problem.
    #[serde(default)]
    pub required: bool,
    /// Regex the typed value must match.
    pub validate: Option<String>,
    /// Which regex match to take.
    #[serde(default)]
    pub occurrence: Occurrence,
}

/// `zone = { page = 1, rows = [2, 2], cols = [50, 80] }`, 1-based, inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// Page number, 1-based; negative counts from the end (-1 = last page). Default 1.
    #[serde(default = "first_page")]
    pub page: i64,
    /// `[from, to]` rows, 1-based, inclusive (a list, so that a wrong
    /// length is reported by the load-time checks rather than ignored).
    pub rows: Vec<i64>,
    /// `[from, to]` columns (characters), 1-based, inclusive.
    pub cols: Vec<i64>,
}

/// `zone_mm = { page = 1, x = [120, 200], y = [30, 45] }`: millimetres
/// from the page's left (`x`) and top (`y`) edges, inclusive.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneMmConfig {
    /// Page number, 1-based; negative counts from the end (-1 = last page). Default 1.
    #[serde(default = "first_page")]
    pub page: i64,
    /// `[from, to]` millimetres from the left edge.
    pub x: Vec<f64>,
    /// `[from, to]` millimetres from the top edge.
    pub y: Vec<f64>,
}

fn first_page() -> i64 {
    1
}

/// Which regex match a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Occurrence {
    /// The first match (default).
    #[default]
    First,
    /// The last match.
    Last,
}

/// One `[[doctype.attach]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachConfig {
    /// `client`, `invoice` or `form`.
    pub target: TargetKind,
    /// The key whose typed value identifies the record.
    pub key: String,
}

/// One `[[burst]]`: how to cut a print run (one spool of many documents)
/// into documents, page by page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstConfig {
    /// Required, unique among bursts.
    pub name: String,
    /// Which runs it applies to: `when.source`, `when.format`,
    /// `when.metadata` (`when.text` is refused at load time).
    #[serde(default)]
    pub when: WhenConfig,
    /// A page where this matches begins a new document.
    pub start: Option<TriggerConfig>,
    /// A page where this yields a value different from the current
    /// document's value begins a new document.
    pub change: Option<TriggerConfig>,
}

/// `start = { regex = '...', zone = { rows = [1, 1], cols = [40, 60] } }`
/// (and the same for `change`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    /// Regex searched in the page text, or in the zone text if `zone` is given.
    pub regex: Option<String>,
    /// Rectangle of the current page's text grid.
    pub zone: Option<PageZoneConfig>,
}

/// `zone = { rows = [1, 1], cols = [40, 60] }`: a zone of the current page
/// (no `page` field), 1-based, inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageZoneConfig {
    /// `[from, to]` rows, 1-based, inclusive.
    pub rows: Vec<i64>,
    /// `[from, to]` columns (characters), 1-based, inclusive.
    pub cols: Vec<i64>,
}

/// One `[[sender_policy]]`: who may file documents e-mailed to some capture
/// addresses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderPolicyConfig {
    /// Capture addresses it applies to (without plus tag); `"*"` = any mail
    /// without a more specific policy.
    pub capture: StringList,
    /// Allowed senders: `user@domain`, `@domain` (that domain only) or
    /// `@.domain` (that domain and its subdomains).
    #[serde(default)]
    pub allow: StringList,
    /// Also allow the contacts of the client the document would be filed under.
    #[serde(default)]
    pub client_contacts: bool,
}
