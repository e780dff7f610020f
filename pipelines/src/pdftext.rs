//! The text layer of a PDF, page by page, through lopdf.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PdfTextError {
    #[error("cannot read pdf: {0}")]
    Unreadable(String),
    #[error("pdf is encrypted and cannot be opened without a password")]
    Encrypted,
}

/// Page texts in page order. A page without a text layer (a scan) gives an empty string.
pub fn pdf_pages_text(bytes: &[u8]) -> Result<Vec<String>, PdfTextError> {
    let document = lopdf::Document::load_mem(bytes)
        .map_err(|error| PdfTextError::Unreadable(error.to_string()))?;
    if document.is_encrypted() {
        return Err(PdfTextError::Encrypted);
    }
    let mut pages = Vec::new();
    for number in document.get_pages().keys() {
        // A page whose content lopdf cannot decode still counts; its text is empty.
        let text = document.extract_text(&[*number]).unwrap_or_default();
        pages.push(text.trim_end().to_string());
    }
    if pages.is_empty() {
        return Err(PdfTextError::Unreadable("no pages".into()));
    }
    Ok(pages)
}
