//! Untrusted bytes → `pipelines::mail::explode` with the default policy, as e-mail capture
//! calls it, plus the content sniffer and name cleaning on what comes out. Never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipelines::mail::{explode, looks_like_mail, safe_file_name, MailPolicy};

fuzz_target!(|data: &[u8]| {
    let _ = looks_like_mail(data);
    match explode(data, &MailPolicy::default()) {
        Ok(exploded) => {
            for attachment in &exploded.attachments {
                assert!(!attachment.safe_name.is_empty());
                if let Some(original) = &attachment.original_name {
                    let _ = safe_file_name(original, 120);
                }
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
