//! Lists inside event fields. An event field is an integer, a boolean or a string (what
//! `tracing` records natively), so a list of ids or of `(id, offset)` pairs travels as text
//! in one fixed format, written and read only by the functions here:
//!
//! - ids: broker or voter ids joined by `,` (`"1,2,3"`; `""` is the empty list);
//! - id offsets: `id:offset` pairs joined by `,` (`"1:10,2:-1"`; `-1` is an unknown offset).

use std::fmt;

/// A list field that does not follow its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError {
    pub text: String,
    pub problem: &'static str,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "list {:?} {}", self.text, self.problem)
    }
}

impl std::error::Error for ListError {}

/// `[1, 2, 3]` → `"1,2,3"`.
pub fn format_ids(ids: &[i32]) -> String {
    ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

/// `"1,2,3"` → `[1, 2, 3]`; `""` → `[]`.
pub fn parse_ids(text: &str) -> Result<Vec<i32>, ListError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|id| id.parse().map_err(|_| ListError { text: text.to_string(), problem: "has an id that is not an i32" }))
        .collect()
}

/// `[(1, 10), (2, -1)]` → `"1:10,2:-1"`.
pub fn format_id_offsets(pairs: &[(i32, i64)]) -> String {
    pairs.iter().map(|(id, offset)| format!("{id}:{offset}")).collect::<Vec<_>>().join(",")
}

/// `"1:10,2:-1"` → `[(1, 10), (2, -1)]`; `""` → `[]`.
pub fn parse_id_offsets(text: &str) -> Result<Vec<(i32, i64)>, ListError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let error = |problem| ListError { text: text.to_string(), problem };
    text.split(',')
        .map(|pair| {
            let (id, offset) = pair.split_once(':').ok_or_else(|| error("has a pair without `:`"))?;
            let id = id.parse().map_err(|_| error("has an id that is not an i32"))?;
            let offset = offset.parse().map_err(|_| error("has an offset that is not an i64"))?;
            Ok((id, offset))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for ids in [vec![], vec![1], vec![3, 1, -1]] {
            assert_eq!(parse_ids(&format_ids(&ids)), Ok(ids));
        }
    }

    #[test]
    fn id_offsets_round_trip() {
        for pairs in [vec![], vec![(1, 0)], vec![(2, -1), (1, i64::MAX)]] {
            assert_eq!(parse_id_offsets(&format_id_offsets(&pairs)), Ok(pairs));
        }
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert!(parse_ids("1,,2").is_err());
        assert!(parse_ids("1;2").is_err());
        assert_eq!(parse_id_offsets("1:2,3").unwrap_err().problem, "has a pair without `:`");
        assert!(parse_id_offsets("1:x").is_err());
    }
}
