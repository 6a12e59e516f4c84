//! Why a request could not be decoded. Every malformed input ends here, never in a panic:
//! the bytes come from the network, so "impossible" is just another input.

use std::fmt;

/// A request body (or header) that does not decode. Each variant names the field, as a path
/// like `topics[].partitions[].index`; [`DecodeError::InRequest`] adds which request and
/// version, so a log line says exactly where a client went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended in the middle of a field.
    Truncated { field: &'static str, needed: usize, remaining: usize },
    /// A length or count prefix is negative (other than the null marker) or claims more than
    /// the bytes that remain. Checked before anything is allocated.
    InvalidLength { field: &'static str, length: i64, remaining: usize },
    /// A null where the schema does not allow one at this version.
    UnexpectedNull { field: &'static str },
    /// A string that is not UTF-8.
    InvalidUtf8 { field: &'static str },
    /// A varint longer than its type allows, or whose value overflows it.
    InvalidVarint { field: &'static str },
    /// The api key is unknown, or its version is outside what the broker advertises.
    UnsupportedVersion { api_key: i16, api_version: i16 },
    /// Context: the failure happened while decoding this request at this version.
    InRequest { request: &'static str, version: i16, source: Box<DecodeError> },
}

impl DecodeError {
    /// Wraps the error with the request it happened in.
    pub fn in_request(self, request: &'static str, version: i16) -> Self {
        DecodeError::InRequest { request, version, source: Box::new(self) }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { field, needed, remaining } => {
                write!(f, "{field}: needs {needed} bytes but only {remaining} remain")
            }
            DecodeError::InvalidLength { field, length, remaining } => {
                write!(f, "{field}: invalid length {length} with {remaining} bytes remaining")
            }
            DecodeError::UnexpectedNull { field } => write!(f, "{field}: null is not allowed"),
            DecodeError::InvalidUtf8 { field } => write!(f, "{field}: string is not valid UTF-8"),
            DecodeError::InvalidVarint { field } => write!(f, "{field}: malformed varint"),
            DecodeError::UnsupportedVersion { api_key, api_version } => {
                write!(f, "api key {api_key} version {api_version} is not supported")
            }
            DecodeError::InRequest { request, version, source } => {
                write!(f, "{request} v{version}: {source}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
