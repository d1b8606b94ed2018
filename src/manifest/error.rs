//! Errors of the manifest layer: each names the file, the key and what was expected.

use std::path::PathBuf;

/// An invalid `Component.toml`. Every variant names the manifest file; all but
/// [`ManifestError::Read`] and [`ManifestError::Syntax`] name the key (as `section.key`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("{file}: cannot read the manifest: {reason}", file = file.display())]
    Read {
        /// The manifest file.
        file: PathBuf,
        /// The operating system's explanation.
        reason: String,
    },

    /// The file is not valid TOML.
    #[error("{file}: not valid TOML: {message}", file = file.display())]
    Syntax {
        /// The manifest file.
        file: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },

    /// A required key is absent.
    #[error("{file}: missing required key `{key}`: expected {expected}{example}", file = file.display())]
    Missing {
        /// The manifest file.
        file: PathBuf,
        /// The missing key, e.g. `resources.max_memory`.
        key: String,
        /// What the key must hold.
        expected: String,
        /// An example section to copy (may be empty).
        example: String,
    },

    /// A key holds a value of the wrong type or out of range.
    #[error("{file}: `{key}`: expected {expected}, found {found}", file = file.display())]
    Invalid {
        /// The manifest file.
        file: PathBuf,
        /// The offending key.
        key: String,
        /// What the key must hold.
        expected: String,
        /// What it held.
        found: String,
    },

    /// A key that the manifest format does not have (often a typo).
    #[error("{file}: unknown key `{key}`: expected one of {allowed}", file = file.display())]
    UnknownKey {
        /// The manifest file.
        file: PathBuf,
        /// The unknown key.
        key: String,
        /// The keys allowed at that place.
        allowed: String,
    },

    /// A path the manifest names does not exist.
    #[error("{file}: `{key}`: {what} `{path}` does not exist", file = file.display(), path = path.display())]
    MissingPath {
        /// The manifest file.
        file: PathBuf,
        /// The key naming the path.
        key: String,
        /// What kind of thing was expected, e.g. `the wasm file`.
        what: String,
        /// The resolved path.
        path: PathBuf,
    },
}

impl ManifestError {
    /// The manifest file this error is about.
    pub fn file(&self) -> &std::path::Path {
        match self {
            ManifestError::Read { file, .. }
            | ManifestError::Syntax { file, .. }
            | ManifestError::Missing { file, .. }
            | ManifestError::Invalid { file, .. }
            | ManifestError::UnknownKey { file, .. }
            | ManifestError::MissingPath { file, .. } => file,
        }
    }

    /// The key this error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ManifestError::Read { .. } | ManifestError::Syntax { .. } => None,
            ManifestError::Missing { key, .. }
            | ManifestError::Invalid { key, .. }
            | ManifestError::UnknownKey { key, .. }
            | ManifestError::MissingPath { key, .. } => Some(key),
        }
    }
}
