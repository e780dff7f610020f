//! Load-time errors of a rules file.
//!
//! Every message is lowercase, has no trailing period, and says where
//! (doctype and key, or burst and trigger) and why. Underlying errors (TOML, regex) are part of the
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

    /// A key has neither `regex` nor `zone`.
    #[error("doctype {doctype}, key {key}: needs a regex, a zone, or both")]
    NoExtractor {
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
        /// `regex` or `validate`.
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
}
