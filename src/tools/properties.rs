//! `KEY=VALUE` arguments (`--config`, `--property`, `--producer-property`) and the
//! Kafka-style values they carry.

use std::collections::BTreeMap;

/// Parses `KEY=VALUE` (split at the first `=`; the value may be empty or contain `=`).
pub fn parse_key_value(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {arg:?}")),
    }
}

/// Parses Kafka's boolean spelling (`true`/`false`, any case).
pub fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{key} must be true or false, not {value:?}")),
    }
}

/// Parses a number for `key`.
pub fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value.trim().parse().map_err(|_| format!("{key} must be a number, not {value:?}"))
}

/// Kafka's `acks` spelling: `all`, `-1`, `0` or `1`.
pub fn parse_acks(value: &str) -> Result<i16, String> {
    match value.trim() {
        "all" | "-1" => Ok(-1),
        "0" => Ok(0),
        "1" => Ok(1),
        other => Err(format!("acks must be all, -1, 0 or 1, not {other:?}")),
    }
}

/// The last value given per key (later arguments win, as with Kafka's tools).
pub fn to_map(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_split_at_the_first_equals() {
        assert_eq!(parse_key_value("a=b").unwrap(), ("a".into(), "b".into()));
        assert_eq!(parse_key_value("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(parse_key_value("a=").unwrap(), ("a".into(), "".into()));
        assert!(parse_key_value("a").is_err());
        assert!(parse_key_value("=b").is_err());
    }

    #[test]
    fn kafka_values_parse() {
        assert_eq!(parse_acks("all"), Ok(-1));
        assert_eq!(parse_acks("1"), Ok(1));
        assert!(parse_acks("2").is_err());
        assert_eq!(parse_bool("x", "TRUE"), Ok(true));
        assert!(parse_bool("x", "yes").is_err());
        assert_eq!(parse_number::<u64>("linger.ms", "5"), Ok(5));
        let map = to_map(&[("a".into(), "1".into()), ("a".into(), "2".into())]);
        assert_eq!(map["a"], "2");
    }
}
