//! Load-time errors of a rules file.
//!
//! Every message is lowercase, has no trailing period, and says where
//! (doctype, key) and why. Underlying errors (TOML, regex) are part of the
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
}
