//! Reading a TOML file of the host's formats with serde, every error a [`ManifestError`]
//! naming the file, the dotted key, what was expected and what was found.
//!
//! A format is a tree of `#[derive(Deserialize)]` structs with `#[serde(deny_unknown_fields)]`;
//! [`from_toml`] parses it with `toml` and `serde_path_to_error` (the dotted key of the value
//! being read when serde fails). Sizes and counts read through [`size`], [`optional_size`] and
//! [`count`] with `#[serde(deserialize_with = "size::<_, MAX>")]`.
//!
//! Hand-written here, each for a contract message (section 2) the libraries cannot give:
//! - [`from_toml`]'s mapping of serde's one-line messages to [`ManifestError`]'s fields:
//!   serde's error is a string naming only the field, the contract wants the file, the full
//!   dotted key, the expected keys as dotted keys, and the TOML words ("a table", "the
//!   string \"x\"", `"read-only" or "read-write"`) where serde says "a map", `string "x"`,
//!   `` `read-only` or `read-write` ``.
//! - [`KeyDoc`]: what a key holds in the format's words, for a missing key (with an example
//!   to copy; serde's "missing field" names the field only) and for a wrong type where serde
//!   says only "a string", "a sequence" or "a map".
//! - The size and count visitors: units through [`parse_size`], and the range (at least 1,
//!   at most the format's bound) checked where the expected text that states it is written.

use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeOwned, Deserializer, Unexpected, Visitor};
use serde_path_to_error::Segment;

use super::{ManifestError, parse_size};

/// What a key holds, in the words of a format's messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyDoc {
    /// What the key holds, e.g. `a size such as "128MB"`.
    pub(crate) expected: &'static str,
    /// A section to copy into the file when the key is missing (may be empty), starting with
    /// a blank line.
    pub(crate) example: &'static str,
}

/// What serde's own types (`String`, `Vec`, maps) expect: words that a [`KeyDoc`] replaces.
const SERDE_WORDS: [&str; 3] = ["a string", "a sequence", "a map"];

/// Deserializes `text`, read from `file`, into `T`.
///
/// `docs` describes a key (see [`KeyDoc`]); it is asked with the dotted key, array indices
/// written `[]` (e.g. `capabilities.filesystem[].host`), for a missing key, a wrong type
/// where serde has only its own words, and a message of toml's that names no type.
///
/// # Errors
///
/// [`ManifestError::Syntax`] for text that is not TOML, else the error for the first key that
/// does not fit `T`: [`ManifestError::UnknownKey`], [`ManifestError::Missing`] or
/// [`ManifestError::Invalid`].
pub(crate) fn from_toml<T: DeserializeOwned>(
    file: &Path,
    text: &str,
    docs: fn(&str) -> Option<KeyDoc>,
) -> Result<T, ManifestError> {
    let document = toml::Deserializer::parse(text).map_err(|e| ManifestError::Syntax {
        file: file.to_path_buf(),
        message: e.to_string().trim_end().replace('\n', " "),
    })?;
    serde_path_to_error::deserialize(document).map_err(|e| {
        let segments: Vec<Segment> = e.path().iter().cloned().collect();
        let error = e.into_inner();
        let source = error.span().and_then(|span| text.get(span));
        manifest_error(file, &segments, error.message(), source, docs)
    })
}

/// Turns serde's message about the value at `segments` into the contract's fields.
fn manifest_error(
    file: &Path,
    segments: &[Segment],
    message: &str,
    source: Option<&str>,
    docs: fn(&str) -> Option<KeyDoc>,
) -> ManifestError {
    let file = file.to_path_buf();
    let key = dotted(segments);
    // The unknown key is the path's last segment; the allowed ones stand beside it.
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let parent = dotted(&segments[..segments.len().saturating_sub(1)]);
        let allowed: Vec<String> = rest
            .rsplit_once("`, expected ")
            .map(|(_, names)| backticked(names))
            .unwrap_or_default()
            .into_iter()
            .map(|name| format!("`{}`", join(&parent, name)))
            .collect();
        return ManifestError::UnknownKey {
            file,
            key,
            allowed: if allowed.is_empty() {
                "no keys".into()
            } else {
                allowed.join(", ")
            },
        };
    }
    // Serde reports a missing field at the table that lacks it.
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let key = join(&key, field);
        let doc = docs(&without_indices(&key));
        return ManifestError::Missing {
            file,
            expected: doc.map_or("a value", |d| d.expected).to_string(),
            example: doc.map_or("", |d| d.example).to_string(),
            key,
        };
    }
    // An enum is a TOML string: the allowed values are quoted as strings.
    if let Some((found, names)) = message
        .strip_prefix("unknown variant `")
        .and_then(|rest| rest.rsplit_once("`, expected "))
    {
        let names: Vec<String> = backticked(names)
            .into_iter()
            .map(|n| format!("{n:?}"))
            .collect();
        let expected = match names.as_slice() {
            [one] => one.clone(),
            [a, b] => format!("{a} or {b}"),
            more => format!("one of {}", more.join(", ")),
        };
        return ManifestError::Invalid {
            file,
            key,
            expected,
            found: format!("{found:?}"),
        };
    }
    // `expected` is a visitor's text (ours or serde's), never holding ", expected "; `found`
    // may, inside a string the file wrote, so the split is at the last one.
    let doc = docs(&without_indices(&key));
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((found, expected)) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.rsplit_once(", expected "))
        {
            let expected = match doc {
                Some(doc) if SERDE_WORDS.contains(&expected) => doc.expected.to_string(),
                _ => toml_words(expected),
            };
            return ManifestError::Invalid {
                file,
                key,
                expected,
                found: found_words(found, source),
            };
        }
    }
    // toml's own messages (e.g. "wanted string or table" for an enum) name no type.
    ManifestError::Invalid {
        file,
        key,
        expected: doc.map_or("a valid value", |d| d.expected).to_string(),
        found: source
            .and_then(describe_source)
            .unwrap_or_else(|| message.to_string()),
    }
}

/// `section.key[0].key`, as the contract names keys.
fn dotted(segments: &[Segment]) -> String {
    let mut key = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                key = join(&key, name);
            }
            _ => key = join(&key, "?"),
        }
    }
    key
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `capabilities.filesystem[0].host` as `capabilities.filesystem[].host`.
fn without_indices(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut in_index = false;
    for c in key.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' if in_index => in_index = false,
            _ if in_index => {}
            c => out.push(c),
        }
    }
    out
}

/// The names serde lists as `` `a` ``, `` `a` or `b` `` or `` one of `a`, `b`, `c` ``.
fn backticked(list: &str) -> Vec<&str> {
    list.split('`').skip(1).step_by(2).collect()
}

/// Serde's words for what a visitor expects, in TOML's.
fn toml_words(expected: &str) -> String {
    match expected {
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        other => other.to_string(),
    }
}

/// Serde's words for what was found (`boolean `true``), as the contract writes them
/// (`the boolean true`). `source` is the value's text in the file, when toml knows it.
fn found_words(found: &str, source: Option<&str>) -> String {
    let plain = |v: &str| v.trim_matches('`').to_string();
    if let Some(v) = found.strip_prefix("boolean ") {
        format!("the boolean {}", plain(v))
    } else if let Some(v) = found.strip_prefix("integer ") {
        format!("the integer {}", plain(v))
    } else if let Some(v) = found.strip_prefix("floating point ") {
        format!("the float {}", plain(v))
    } else if found.starts_with("string ") {
        format!("the {found}")
    } else if found == "sequence" {
        "an array".into()
    } else if found == "map" {
        // toml hands a datetime to serde as a table of one private key.
        source
            .and_then(describe_source)
            .unwrap_or_else(|| "a table".into())
    } else {
        found.to_string()
    }
}

/// A value as written in the file, described as the contract does (`the datetime ...`).
fn describe_source(source: &str) -> Option<String> {
    Some(match source.parse::<toml::Value>().ok()? {
        toml::Value::String(s) => format!("the string {s:?}"),
        toml::Value::Integer(i) => format!("the integer {i}"),
        toml::Value::Float(f) => format!("the float {f}"),
        toml::Value::Boolean(b) => format!("the boolean {b}"),
        toml::Value::Datetime(d) => format!("the datetime {d}"),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Table(_) => "a table".into(),
    })
}

/// Reads a size: an integer in bytes, or a string with a unit (see [`parse_size`]), from 1
/// byte to `MAX`. For `#[serde(deserialize_with = "size::<_, MAX>")]`.
pub(crate) fn size<'de, D: Deserializer<'de>, const MAX: u64>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(SizeVisitor::<MAX>)
}

/// [`size`] for an optional key, with `#[serde(default, deserialize_with = "optional_size::<_, MAX>")]`.
pub(crate) fn optional_size<'de, D: Deserializer<'de>, const MAX: u64>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    size::<D, MAX>(d).map(Some)
}

/// [`count`] of an optional key (with `#[serde(default)]`).
pub(crate) fn optional_count<'de, D: Deserializer<'de>, const MAX: u64>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    count::<D, MAX>(d).map(Some)
}

/// Reads a whole number from 1 to `MAX`. For `#[serde(deserialize_with = "count::<_, MAX>")]`.
pub(crate) fn count<'de, D: Deserializer<'de>, const MAX: u64>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(CountVisitor::<MAX>)
}

struct SizeVisitor<const MAX: u64>;

impl<'de, const MAX: u64> Visitor<'de> for SizeVisitor<MAX> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a size of 1 byte to {} (an integer in bytes, or a string with unit B, KB/KiB, MB/MiB, GB/GiB)",
            human(MAX)
        )
    }

    fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<u64, E> {
        if bytes == 0 || bytes > MAX {
            return Err(E::invalid_value(
                Unexpected::Other(&format!("{bytes} bytes")),
                &self,
            ));
        }
        Ok(bytes)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        match u64::try_from(v) {
            Ok(bytes) => self.visit_u64(bytes),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<u64, E> {
        Err(beyond_64_bits(v, &self))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u64, E> {
        Err(beyond_64_bits(v, &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
        match parse_size(text) {
            Ok(bytes) => self.visit_u64(bytes),
            Err(e) => Err(E::invalid_value(
                Unexpected::Other(&format!("{text:?} ({e})")),
                &self,
            )),
        }
    }
}

struct CountVisitor<const MAX: u64>;

impl<'de, const MAX: u64> Visitor<'de> for CountVisitor<MAX> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number from 1 to {MAX}")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
        if n == 0 || n > MAX {
            return Err(E::invalid_value(Unexpected::Unsigned(n), &self));
        }
        Ok(n)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        match u64::try_from(v) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<u64, E> {
        Err(beyond_64_bits(v, &self))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u64, E> {
        Err(beyond_64_bits(v, &self))
    }
}

/// An integer that toml read but that fits no `u64` (serde has no `Unexpected` for it).
fn beyond_64_bits<E: de::Error>(v: impl fmt::Display, expected: &dyn de::Expected) -> E {
    E::invalid_value(Unexpected::Other(&format!("the integer {v}")), expected)
}

/// `4GiB`, `512MiB` or `1000 bytes`, for the bound in a size's expected text.
fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{}GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}MiB", b >> 20),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Host {
        #[serde(deserialize_with = "size::<_, 1024>")]
        cache: u64,
        #[serde(default)]
        peers: Vec<Peer>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Peer {
        name: String,
        mode: Mode,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum Mode {
        Fast,
        Safe,
    }

    fn docs(key: &str) -> Option<KeyDoc> {
        (key == "peers[].name").then_some(KeyDoc {
            expected: "a peer's name",
            example: "\n\nfor example: name = \"a\"",
        })
    }

    fn read(text: &str) -> Result<Host, ManifestError> {
        from_toml(Path::new("host.toml"), text, docs)
    }

    fn invalid(text: &str) -> (String, String, String) {
        match read(text) {
            Err(ManifestError::Invalid {
                key,
                expected,
                found,
                ..
            }) => (key, expected, found),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_file_that_fits_is_read() {
        let host = read("cache = \"1KiB\"\n[[peers]]\nname = \"a\"\nmode = \"safe\"\n").unwrap();
        assert_eq!(host.cache, 1024);
        assert_eq!(host.peers[0].name, "a");
        assert!(matches!(host.peers[0].mode, Mode::Safe));
    }

    #[test]
    fn unknown_keys_list_the_allowed_ones_as_dotted_keys() {
        let err =
            read("cache = 1\n[[peers]]\nname = \"a\"\nmode = \"fast\"\nnmae = 1\n").unwrap_err();
        assert_eq!(
            err,
            ManifestError::UnknownKey {
                file: "host.toml".into(),
                key: "peers[0].nmae".into(),
                allowed: "`peers[0].name`, `peers[0].mode`".into(),
            }
        );
    }

    #[test]
    fn a_missing_key_takes_its_words_from_the_docs() {
        let err = read("cache = 1\n[[peers]]\nmode = \"fast\"\n").unwrap_err();
        assert_eq!(err.key(), Some("peers[0].name"));
        let text = err.to_string();
        assert!(text.contains("expected a peer's name"), "{text}");
        assert!(text.contains("for example: name = \"a\""), "{text}");
    }

    #[test]
    fn wrong_types_and_values_say_expected_and_found_in_toml_words() {
        let (key, expected, found) = invalid("cache = \"2KiB\"\n");
        assert_eq!(key, "cache");
        assert!(
            expected.starts_with("a size of 1 byte to 1024 bytes"),
            "{expected}"
        );
        assert_eq!(found, "2048 bytes");
        let (_, _, found) = invalid("cache = 1979-05-27\n");
        assert_eq!(found, "the datetime 1979-05-27");
        let (_, expected, found) = invalid("cache = 1\npeers = 3\n");
        assert_eq!(
            (expected.as_str(), found.as_str()),
            ("an array", "the integer 3")
        );
        let (key, expected, found) =
            invalid("cache = 1\n[[peers]]\nname = \"a, expected b\"\nmode = \"slow\"\n");
        assert_eq!(key, "peers[0].mode");
        assert_eq!(expected, "\"fast\" or \"safe\"");
        assert_eq!(found, "\"slow\"");
        let (key, expected, found) =
            invalid("cache = 1\n[[peers]]\nname = true\nmode = \"fast\"\n");
        assert_eq!(key, "peers[0].name");
        assert_eq!(
            (expected.as_str(), found.as_str()),
            ("a peer's name", "the boolean true")
        );
    }

    #[test]
    fn keys_lose_their_indices_for_the_docs() {
        assert_eq!(without_indices("a[0].b[12].c"), "a[].b[].c");
        assert_eq!(without_indices("a.b"), "a.b");
    }
}
