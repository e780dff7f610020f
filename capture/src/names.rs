/// Names a writer uses while a file is incomplete, or that are not documents at all.
pub fn is_ignored_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with('~')
        || name.ends_with('~')
        || [
            ".tmp",
            ".temp",
            ".part",
            ".partial",
            ".crdownload",
            ".swp",
            ".lock",
            ".filepart",
        ]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
        || lower == "thumbs.db"
        || lower == "desktop.ini"
}

#[cfg(test)]
mod tests {
    use super::is_ignored_name;

    #[test]
    fn temporary_and_hidden_names_are_ignored() {
        for name in [
            ".hidden",
            "~$doc.txt",
            "spool.txt~",
            "x.TMP",
            "a.part",
            "f.crdownload",
            "Thumbs.db",
        ] {
            assert!(is_ignored_name(name), "{name}");
        }
        for name in ["QPRINT_000123.txt", "facture.pdf", "scan 2024.tif"] {
            assert!(!is_ignored_name(name), "{name}");
        }
    }
}
