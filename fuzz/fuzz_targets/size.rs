//! `parse_size` on any text: never a panic; an accepted size is what its digits times its
//! unit say, and the plain byte count parses back to itself.
#![no_main]

use airssys_wasm::manifest::parse_size;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_size(text) {
        Ok(bytes) => {
            assert_eq!(parse_size(&bytes.to_string()), Ok(bytes));
            let digits: String = text.trim().chars().take_while(char::is_ascii_digit).collect();
            let number: u64 = digits.parse().unwrap();
            assert_eq!(bytes % number.max(1), 0, "{text:?} gave {bytes}");
            assert!(bytes >= number);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
