//! Load-time errors of a rules file.
//!
//! Every message is lowercase, has no trailing period, and says where
//! (doctype and key, burst and trigger, or sender policy) and why. Underlying errors (TOML, regex) are part of the
//! message itself rather than exposed through `source()`, so that a single
//! `to_string()` is enough for a clerk to fix the file.

/// Why a rules file could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The text is not valid TOML, or does not fit the format (unknown
    /// field, wrong type, unknown `type`/`target`/`occurrence` value...).
    #[error("cannot read rules file: {0}")]
    Parse(toml::de::Error),

    /// A doctype has an empty name (or only whitespace).
    #[error("doctype #{index}: name is empty")]
    EmptyDoctypeName {
        /// 1-based position of the doctype in the file.
        index: usize,
    },

    /// Two doctypes have the same name.
    #[error("doctype {doctype}: name is used by more than one doctype")]
    DuplicateDoctype {
        /// The duplicated name.
        doctype: String,
    },

    /// A `when.source` / `when.format` list is empty, so the doctype could never match.
    #[error("doctype {doctype}: when.{field} is an empty list, the doctype could never match")]
    EmptyCondition {
        /// Doctype name.
        doctype: String,
        /// `source` or `format`.
        field: &'static str,
    },

    /// `when.text` does not compile.
    #[error("doctype {doctype}: when.text is not a valid regex: {error}")]
    BadConditionRegex {
        /// Doctype name.
        doctype: String,
        /// The regex compile error.
        error: regex::Error,
    },

    /// A key has an empty name.
    #[error("doctype {doctype}, key #{index}: name is empty")]
    EmptyKeyName {
        /// Doctype name.
        doctype: String,
        /// 1-based position of the key in the doctype.
        index: usize,
    },

    /// Two keys of one doctype have the same name.
    #[error("doctype {doctype}, key {key}: name is used by more than one key of this doctype")]
    DuplicateKey {
        /// Doctype name.
        doctype: String,
        /// The duplicated key name.
        key: String,
    },

    /// `when.metadata_match` has a regex that does not compile.
    #[error("doctype {doctype}: when.metadata_match for {key} is not a valid regex: {error}")]
    BadMetadataMatch {
        /// Doctype name.
        doctype: String,
        /// The metadata key (e.g. `mail.subject`).
        key: String,
        /// The regex compile error.
        error: regex::Error,
    },

    /// A key has neither `regex`, `zone` nor `field`.
    #[error("doctype {doctype}, key {key}: needs a regex, a zone or a field (a zone or a field may be narrowed by a regex)")]
    NoExtractor {
        /// Doctype name.
        doctype: String,
        /// Key name.
        key: String,
    },

    /// A key has both `field` and `zone`.
    #[error("doctype {doctype}, key {key}: field and zone are exclusive (a key reads a metadata value or the page text, not both)")]
    FieldWithZone {
        /// Doctype name.
        doctype: String,
        /// Key name.
        key: String,
    },

    /// A key has an empty `field` (or only whitespace).
    #[error(
        "doctype {doctype}, key {key}: field is empty (name a metadata key, e.g. mail.subject)"
    )]
    EmptyField {
        /// Doctype name.
        doctype: String,
        /// Key name.
        key: String,
    },

    /// The key's `regex` or `validate` does not compile.
    #[error("doctype {doctype}, key {key}: {field} is not a valid regex: {error}")]
    BadKeyRegex {
        /// Doctype name.
        doctype: String,
        /// Key name.
        key: String,
        /// `regex`, `validate` or `shape`.
        field: &'static str,
        /// The regex compile error.
        error: regex::Error,
    },

    /// The key's zone is not a valid rectangle.
    #[error("doctype {doctype}, key {key}: bad zone: {reason}")]
    BadZone {
        /// Doctype name.
        doctype: String,
        /// Key name.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The key's `zone_mm` is not a valid rectangle.
    #[error("doctype {doctype}, key {key}: bad zone_mm: {reason}")]
    BadZoneMm {
        /// Doctype name.
        doctype: String,
        /// Key name.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A key has `zone_mm` and `zone` or `field`.
    #[error(
        "doctype {doctype}, key {key}: zone_mm and {other} are exclusive (a key reads one place)"
    )]
    ZoneMmExclusive {
        /// Doctype name.
        doctype: String,
        /// Key name.
        key: String,
        /// `zone` or `field`.
        other: &'static str,
    },

    /// The key's `min_confidence` is not between 0 and 100.
    #[error("doctype {doctype}, key {key}: min_confidence must be between 0 and 100, got {value}")]
    BadMinConfidence {
        /// Doctype name.
        doctype: String,
        /// Key name.
        key: String,
        /// The value as written.
        value: f32,
    },

    /// An attach names a key that the doctype does not define.
    #[error("doctype {doctype}: attach to {target} uses key {key}, which is not defined in this doctype")]
    UnknownAttachKey {
        /// Doctype name.
        doctype: String,
        /// `client`, `invoice` or `form`.
        target: &'static str,
        /// The unknown key name.
        key: String,
    },

    /// A burst has an empty name (or only whitespace).
    #[error("burst #{index}: name is empty")]
    EmptyBurstName {
        /// 1-based position of the burst in the file.
        index: usize,
    },

    /// Two bursts have the same name.
    #[error("burst {burst}: name is used by more than one burst")]
    DuplicateBurst {
        /// The duplicated name.
        burst: String,
    },

    /// A burst's `when.source` / `when.format` list is empty, so it could never apply.
    #[error("burst {burst}: when.{field} is an empty list, the burst could never apply")]
    EmptyBurstCondition {
        /// Burst name.
        burst: String,
        /// `source` or `format`.
        field: &'static str,
    },

    /// A burst has a `when.text` condition: a run is cut page by page as it
    /// streams, before its whole text is known.
    #[error("burst {burst}: when.text is not allowed in a burst (a run is cut page by page, before its whole text is known): use start or change")]
    BurstTextCondition {
        /// Burst name.
        burst: String,
    },

    /// A burst's `when.metadata_match` has a regex that does not compile.
    #[error("burst {burst}: when.metadata_match for {key} is not a valid regex: {error}")]
    BadBurstMetadataMatch {
        /// Burst name.
        burst: String,
        /// The metadata key (e.g. `mail.subject`).
        key: String,
        /// The regex compile error.
        error: regex::Error,
    },

    /// A burst has neither `start` nor `change`.
    #[error("burst {burst}: needs start, change, or both")]
    NoBurstTrigger {
        /// Burst name.
        burst: String,
    },

    /// A burst's `start` has no regex, or its `change` has neither regex nor zone.
    #[error("burst {burst}, {trigger}: needs {needs}")]
    EmptyTrigger {
        /// Burst name.
        burst: String,
        /// `start` or `change`.
        trigger: &'static str,
        /// What it needs, e.g. `a regex (optionally with a zone)`.
        needs: &'static str,
    },

    /// A burst's `start.regex` or `change.regex` does not compile.
    #[error("burst {burst}, {trigger}: regex is not a valid regex: {error}")]
    BadBurstRegex {
        /// Burst name.
        burst: String,
        /// `start` or `change`.
        trigger: &'static str,
        /// The regex compile error.
        error: regex::Error,
    },

    /// A burst's `start.zone` or `change.zone` is not a valid rectangle.
    #[error("burst {burst}, {trigger}: bad zone: {reason}")]
    BadBurstZone {
        /// Burst name.
        burst: String,
        /// `start` or `change`.
        trigger: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A sender policy has an empty `capture` list, so it could never apply.
    #[error("sender_policy #{index}: capture is an empty list, the policy could never apply")]
    EmptyPolicyCapture {
        /// 1-based position of the policy among the `[[sender_policy]]` tables.
        index: usize,
    },

    /// A `capture` or `allow` entry of a sender policy is not a valid address.
    #[error("sender_policy #{index} ({policy}): {field} entry {} {reason}", crate::values::quoted(.entry))]
    BadPolicyAddress {
        /// 1-based position of the policy.
        index: usize,
        /// The policy's label (its first capture address).
        policy: String,
        /// `capture` or `allow`.
        field: &'static str,
        /// The entry as written.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A capture address (or `"*"`) is in more than one sender policy: only
    /// the first could ever apply.
    #[error("sender_policy #{index} ({policy}): capture {capture} is already in sender_policy #{first}, which always wins")]
    DuplicatePolicyCapture {
        /// 1-based position of the policy.
        index: usize,
        /// The policy's label (its first capture address).
        policy: String,
        /// The repeated capture address, lowercased, or `*`.
        capture: String,
        /// 1-based position of the policy that already has it.
        first: usize,
    },
}
