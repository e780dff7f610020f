//! Untrusted bytes → `pipelines::mail::tnef::attachments` (winmail.dat), with and without the
//! TNEF signature in front so the fuzzer reaches the attribute parser at once. Never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipelines::mail::tnef::{attachments, TNEF_SIGNATURE};

fuzz_target!(|data: &[u8]| {
    if let Err(error) = attachments(data) {
        let _ = error.to_string();
    }
    let mut signed = TNEF_SIGNATURE.to_le_bytes().to_vec();
    signed.extend_from_slice(data);
    let _ = attachments(&signed);
});
