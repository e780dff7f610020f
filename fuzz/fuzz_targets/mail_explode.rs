//! Untrusted bytes → `pipelines::mail::explode` with the default policy, as e-mail capture
//! calls it, plus the content sniffer and name cleaning on what comes out. Never panics.
//!
//! One exception: mail-parser 0.11.9 (the last line that builds on Rust 1.95) has
//! `debug_assert!`s on its multipart bookkeeping that malformed input trips; this build turns
//! debug assertions on. `explode` catches them (`MailError::ParserFailed`), so the panic hook
//! lets panics raised inside mail-parser's own files unwind to it; any other panic aborts the
//! run as before.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use pipelines::mail::{explode, looks_like_mail, safe_file_name, MailPolicy};

static LET_MAIL_PARSER_ASSERTS_UNWIND: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    LET_MAIL_PARSER_ASSERTS_UNWIND.call_once(|| {
        let abort_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_mail_parser = info
                .location()
                .is_some_and(|location| location.file().contains("/mail-parser-0.11."));
            if !in_mail_parser {
                abort_hook(info);
            }
        }));
    });
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
