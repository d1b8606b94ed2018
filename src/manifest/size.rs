//! Sizes with units, as written in `Component.toml`: `4096`, `"64KiB"`, `"128MB"`, `"1gb"`.
//!
//! All units are 1024-based and case-insensitive: `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`.

/// Why a size string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeError {
    /// Nothing but white space.
    Empty,
    /// No digits before the unit, or digits that do not form a number.
    BadNumber(String),
    /// A unit that is not one of B, KB, KiB, MB, MiB, GB, GiB.
    BadUnit(String),
    /// The value does not fit in 64 bits.
    Overflow,
}

impl std::fmt::Display for SizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SizeError::Empty => f.write_str("an empty size"),
            SizeError::BadNumber(n) => write!(f, "`{n}` is not a whole number"),
            SizeError::BadUnit(u) => write!(
                f,
                "unknown unit `{u}` (use B, KB/KiB, MB/MiB or GB/GiB, all 1024-based)"
            ),
            SizeError::Overflow => f.write_str("a size too large to represent"),
        }
    }
}

/// Parses a size string such as `"128MB"` or `"512 KiB"` into bytes.
///
/// A bare number is bytes. White space between number and unit is allowed.
///
/// # Examples
///
/// ```
/// use airssys_wasm::manifest::parse_size;
/// assert_eq!(parse_size("128MB"), Ok(128 * 1024 * 1024));
/// assert_eq!(parse_size("2 mib"), Ok(2 * 1024 * 1024));
/// assert_eq!(parse_size("4096"), Ok(4096));
/// assert!(parse_size("12 parsecs").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SizeError::Empty);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(SizeError::BadNumber(text.to_string()));
    }
    let number: u64 = digits.parse().map_err(|_| SizeError::Overflow)?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "kib" => 1 << 10,
        "mb" | "mib" => 1 << 20,
        "gb" | "gib" => 1 << 30,
        _ => return Err(SizeError::BadUnit(unit.trim().to_string())),
    };
    number.checked_mul(multiplier).ok_or(SizeError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_unit_is_1024_based_and_case_insensitive() {
        for (text, bytes) in [
            ("1B", 1),
            ("1kb", 1024),
            ("1KiB", 1024),
            ("3MB", 3 << 20),
            ("3mib", 3 << 20),
            ("2GB", 2 << 30),
            ("2 GiB", 2 << 30),
            (" 17 ", 17),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        assert_eq!(parse_size("  "), Err(SizeError::Empty));
        assert_eq!(parse_size("MB"), Err(SizeError::BadNumber("MB".into())));
        assert_eq!(parse_size("1.5MB"), Err(SizeError::BadUnit(".5MB".into())));
        assert_eq!(parse_size("12TB"), Err(SizeError::BadUnit("TB".into())));
        assert_eq!(parse_size("-1"), Err(SizeError::BadNumber("-1".into())));
        assert_eq!(parse_size("99999999999999999999"), Err(SizeError::Overflow));
        assert_eq!(parse_size("17179869184GB"), Err(SizeError::Overflow));
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse_size(&s);
        }

        #[test]
        fn round_trips_numbers_with_units(n in 0u64..1_000_000, unit in prop::sample::select(vec![("KB", 1024u64), ("mib", 1 << 20), ("B", 1)])) {
            prop_assert_eq!(parse_size(&format!("{n}{}", unit.0)), Ok(n * unit.1));
        }
    }
}
