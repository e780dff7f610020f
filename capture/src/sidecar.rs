//! Spool attributes in a side-car file: `INV0042.scs.json` beside `INV0042.scs`.
//!
//! An IBM i job that copies spooled files to a folder (`CPYSPLF`, `CPYTOSTMF`) can write the
//! spool's attributes next to it, read from `QSYS2.OUTPUT_QUEUE_ENTRIES`, `QUSRSPLA` or
//! JTOpen's `PrintObject` (notes §6.4). Their names vary with the tool that wrote them, so
//! each known spelling maps to one metadata key under `splf.`: `splf.name`, `splf.number`,
//! `splf.job`, `splf.user`, `splf.job_number`, `splf.user_data`, `splf.user_defined_data`,
//! `splf.form_type`, `splf.page_length`, `splf.page_width`, `splf.lpi`, `splf.cpi`,
//! `splf.overflow`, `splf.rotation`, `splf.device_type`, `splf.ccsid`, `splf.created`,
//! `splf.pages`, `splf.font_id`, `splf.control_char`. Other attributes are kept as
//! `splf.<name in lower case>`.
//!
//! Write the side-car before the spool (or both under temporary names, then rename): a
//! spool is taken as soon as it is stable, with the side-car that is there at that moment.
//! A `.json` file is never a document of a folder source. A side-car that cannot be read or
//! parsed does not stop the spool: the document gets `splf.error` with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Side-cars larger than this are not attributes.
pub const MAX_SIDECAR_BYTES: u64 = 64 * 1024;

/// Every spelling we know, lower case, to its metadata key.
const ALIASES: &[(&str, &str)] = &[
    ("splf", "splf.name"),
    ("spooled_file_name", "splf.name"),
    ("spooledfilename", "splf.name"),
    ("spoolfile", "splf.name"),
    ("file", "splf.name"),
    ("attr_spoolfile", "splf.name"),
    ("splfnbr", "splf.number"),
    ("spooled_file_number", "splf.number"),
    ("file_number", "splf.number"),
    ("splfnum", "splf.number"),
    ("attr_splfnum", "splf.number"),
    ("job", "splf.job"),
    ("job_name", "splf.job"),
    ("jobname", "splf.job"),
    ("attr_jobname", "splf.job"),
    ("user", "splf.user"),
    ("job_user", "splf.user"),
    ("jobuser", "splf.user"),
    ("user_name", "splf.user"),
    ("attr_jobuser", "splf.user"),
    ("number", "splf.job_number"),
    ("job_number", "splf.job_number"),
    ("jobnumber", "splf.job_number"),
    ("attr_jobnumber", "splf.job_number"),
    ("usrdta", "splf.user_data"),
    ("user_data", "splf.user_data"),
    ("userdata", "splf.user_data"),
    ("attr_userdata", "splf.user_data"),
    ("usrdfndta", "splf.user_defined_data"),
    ("user_defined_data", "splf.user_defined_data"),
    ("attr_usrdefdata", "splf.user_defined_data"),
    ("formtype", "splf.form_type"),
    ("form_type", "splf.form_type"),
    ("attr_formtype", "splf.form_type"),
    ("pagelen", "splf.page_length"),
    ("page_length", "splf.page_length"),
    ("attr_pagelen", "splf.page_length"),
    ("pagewidth", "splf.page_width"),
    ("page_width", "splf.page_width"),
    ("attr_pagewidth", "splf.page_width"),
    ("lpi", "splf.lpi"),
    ("lines_per_inch", "splf.lpi"),
    ("attr_lpi", "splf.lpi"),
    ("cpi", "splf.cpi"),
    ("characters_per_inch", "splf.cpi"),
    ("attr_cpi", "splf.cpi"),
    ("ovrflw", "splf.overflow"),
    ("overflow", "splf.overflow"),
    ("overflow_line_number", "splf.overflow"),
    ("attr_overflow", "splf.overflow"),
    ("pagrtt", "splf.rotation"),
    ("page_rotation", "splf.rotation"),
    ("rotation", "splf.rotation"),
    ("attr_pagrtt", "splf.rotation"),
    ("devtype", "splf.device_type"),
    ("device_type", "splf.device_type"),
    ("printer_device_type", "splf.device_type"),
    ("attr_prtdevtype", "splf.device_type"),
    ("ccsid", "splf.ccsid"),
    ("chrid", "splf.ccsid"),
    ("codepage", "splf.ccsid"),
    ("code_page", "splf.ccsid"),
    ("attr_codepage", "splf.ccsid"),
    ("created", "splf.created"),
    ("create_timestamp", "splf.created"),
    ("creation_timestamp", "splf.created"),
    ("pages", "splf.pages"),
    ("total_pages", "splf.pages"),
    ("attr_pages", "splf.pages"),
    ("fgid", "splf.font_id"),
    ("font_id", "splf.font_id"),
    ("attr_fontid", "splf.font_id"),
    ("ctlchar", "splf.control_char"),
    ("control_char", "splf.control_char"),
    ("attr_controlchar", "splf.control_char"),
];

/// The metadata key of an attribute name as a side-car spells it.
pub fn metadata_key(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or_else(|| format!("splf.{lower}"), |(_, key)| (*key).to_string())
}

/// `X.json` for a spool `X`.
pub fn sidecar_path(spool: &Path) -> PathBuf {
    let mut name = spool.as_os_str().to_os_string();
    name.push(".json");
    PathBuf::from(name)
}

/// Whether a file name is a side-car (or any JSON file): never a document of its own.
pub fn is_sidecar_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".json")
}

/// The attributes of a side-car's JSON text, as metadata. A CCSID given as `*JOB` or `65535`
/// says nothing and is left out; `CHRID 697 297` keeps its code page (the last number).
pub fn parse_sidecar(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|error| format!("side-car is not json: {error}"))?;
    let serde_json::Value::Object(object) = value else {
        return Err("side-car is not a json object".into());
    };
    let mut metadata = BTreeMap::new();
    for (name, value) in object {
        let text = match value {
            serde_json::Value::String(text) => text.trim().to_string(),
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(flag) => flag.to_string(),
            _ => continue,
        };
        if text.is_empty() || text.chars().count() > 512 {
            continue;
        }
        let key = metadata_key(&name);
        if key == "splf.ccsid" {
            let Some(ccsid) = text
                .split(|c: char| !c.is_ascii_digit())
                .rfind(|part| !part.is_empty())
                .filter(|part| *part != "65535")
            else {
                continue;
            };
            metadata.insert(key, ccsid.to_string());
            continue;
        }
        metadata.insert(key, text);
    }
    Ok(metadata)
}

/// Reads the side-car of `spool`, if there is one. `None` when there is none; a side-car
/// that cannot be used gives `splf.error` instead of its attributes.
pub async fn read_sidecar(spool: &Path) -> Option<BTreeMap<String, String>> {
    let path = sidecar_path(spool);
    let metadata = tokio::fs::metadata(&path).await.ok()?;
    let error = |reason: String| Some(BTreeMap::from([("splf.error".to_string(), reason)]));
    if !metadata.is_file() {
        return None;
    }
    if metadata.len() > MAX_SIDECAR_BYTES {
        return error(format!(
            "side-car is {} bytes, over {MAX_SIDECAR_BYTES}",
            metadata.len()
        ));
    }
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(error_) => return error(format!("cannot read side-car: {error_}")),
    };
    let text = String::from_utf8_lossy(&bytes);
    match parse_sidecar(&text) {
        Ok(attributes) => Some(attributes),
        Err(reason) => error(reason),
    }
}

/// The metadata of an arrival: the source's, then the side-car's over it.
pub async fn with_sidecar(
    spool: &Path,
    base: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut metadata = base.clone();
    if let Some(attributes) = read_sidecar(spool).await {
        metadata.extend(attributes);
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qsys2_and_jtopen_spellings_map_to_one_key() {
        let attributes = parse_sidecar(
            r#"{"SPOOLED_FILE_NAME": "QPRINT", "JOB_NAME": "FACTURES", "JOB_USER": "COMPTA",
                "JOB_NUMBER": "123456", "SPOOLED_FILE_NUMBER": 3, "FORM_TYPE": "*FACT",
                "USER_DATA": "FA0315", "PAGE_LENGTH": 66, "PAGE_WIDTH": 132, "LPI": 6, "CPI": 10,
                "OVERFLOW_LINE_NUMBER": 60, "PAGE_ROTATION": 0, "DEVICE_TYPE": "*SCS",
                "CHRID": "697 297", "CREATE_TIMESTAMP": "2026-12-04-10.15.00", "DUPLEX": "*NO",
                "nested": {"ignored": true}}"#,
        )
        .unwrap();
        assert_eq!(attributes["splf.name"], "QPRINT");
        assert_eq!(attributes["splf.job"], "FACTURES");
        assert_eq!(attributes["splf.user"], "COMPTA");
        assert_eq!(attributes["splf.job_number"], "123456");
        assert_eq!(attributes["splf.number"], "3");
        assert_eq!(attributes["splf.form_type"], "*FACT");
        assert_eq!(attributes["splf.user_data"], "FA0315");
        assert_eq!(attributes["splf.page_length"], "66");
        assert_eq!(attributes["splf.ccsid"], "297");
        assert_eq!(attributes["splf.device_type"], "*SCS");
        assert_eq!(attributes["splf.duplex"], "*NO");
        assert!(!attributes.contains_key("splf.nested"));
    }

    #[test]
    fn notes_short_names_map_too() {
        let attributes = parse_sidecar(
            r#"{"splf": "QPRINT", "splfnbr": 1, "formtype": "*FACT", "pagelen": 70,
                "pagewidth": 198, "ovrflw": 68, "pagrtt": 90, "ccsid": 1147, "usrdfndta": "X"}"#,
        )
        .unwrap();
        assert_eq!(attributes["splf.page_width"], "198");
        assert_eq!(attributes["splf.rotation"], "90");
        assert_eq!(attributes["splf.ccsid"], "1147");
        assert_eq!(attributes["splf.user_defined_data"], "X");
    }

    #[test]
    fn a_ccsid_that_says_nothing_is_left_out() {
        let attributes = parse_sidecar(r#"{"ccsid": 65535}"#).unwrap();
        assert!(attributes.is_empty());
        let attributes = parse_sidecar(r#"{"ccsid": "*JOB"}"#).unwrap();
        assert!(attributes.is_empty());
    }

    #[test]
    fn bad_side_cars_are_errors_not_panics() {
        assert!(parse_sidecar("").is_err());
        assert!(parse_sidecar("[1, 2]").is_err());
        assert!(parse_sidecar("{\"a\": ").is_err());
    }
}
