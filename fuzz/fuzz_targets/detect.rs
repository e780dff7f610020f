//! Untrusted bytes → `pipelines::detect::detect`, as the detect stage calls it (the first
//! `SNIFF_BYTES` and the total size); when it finds a text spool, the detected layout is
//! paginated as the convert stage would. Never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipelines::detect::{detect, Format, SpoolHints, SNIFF_BYTES};
use pipelines::spool::paginate;

fuzz_target!(|data: &[u8]| {
    let sample = &data[..data.len().min(SNIFF_BYTES)];
    let detected = detect(sample, data.len() as u64, &SpoolHints::default());
    if let Ok(format) = &detected {
        let _ = (format.name(), format.has_converter());
    }
    if let Err(error) = &detected {
        let _ = error.to_string();
    }
    if let Ok(Format::TextSpool(layout)) = detected {
        let mut sink = std::io::sink();
        let _ = paginate(data, &layout, |page| page.write_text(&mut sink));
    }
});
