//! Fuzzes separator-sheet detection: arbitrary bytes through the PNM reader (small images
//! only, so an input is quick) and, when they parse, barcode decoding and blank-page measuring.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipelines::separator::{page_separator, parse_pnm_limited, SeparatorConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = parse_pnm_limited(data, 512 * 512) {
        let config = SeparatorConfig {
            key_prefixes: vec![("CLIENT:".to_owned(), "client_number".to_owned())],
            blank_pages: true,
            ..SeparatorConfig::default()
        };
        let _ = page_separator(&page, &config);
    }
});
