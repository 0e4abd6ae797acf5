//! Any bytes given to the pickle decoder: an error or a record, never a
//! panic, a hang or an allocation the input did not pay for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary_core::pickle::{decode_record, decode_value};

fuzz_target!(|data: &[u8]| {
    let strict = decode_record(data, false);
    let lenient = decode_record(data, true);
    // Lenient mode only ever accepts more, and the same. (A record without
    // `created` is stamped when decoded: ignore the stamp.)
    if let Ok(mut strict) = strict {
        let lenient = lenient.expect("lenient refused what strict accepted");
        strict.ts = lenient.ts;
        // Compared as text: a NaN field is not equal to itself.
        assert_eq!(format!("{strict:?}"), format!("{lenient:?}"));
    }
    let _ = decode_value(data, false);
    let _ = decode_value(data, true);
});
