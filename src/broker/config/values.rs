//! How the values of config keys are read: integers in a range, retention times, booleans,
//! cleanup policies and timestamp types, each refusal saying what was expected.

/// Parses an integer in `min..=max`; the error text says what was expected and what came.
pub(crate) fn parse_int(raw: &str, min: i64, max: i64) -> Result<i64, String> {
    let parsed = raw.trim().parse::<i128>().ok();
    if let Some(v) = parsed.filter(|v| (min as i128..=max as i128).contains(v)) {
        return Ok(v as i64);
    }
    let expected = match min {
        i64::MIN => "an integer".to_string(),
        0 => "a non-negative integer".to_string(),
        1 => "a positive integer".to_string(),
        m => format!("a positive integer >= {m}"),
    };
    let bound = if parsed.is_some_and(|v| v > max as i128) { format!(" <= {max}") } else { String::new() };
    Err(format!("expected {expected}{bound}, got \"{raw}\""))
}

/// A retention time as Kafka reads it: any negative value means forever (-1); 0 is refused.
pub(crate) fn parse_retention_ms(raw: &str, scale: i64) -> Result<i64, String> {
    let v = parse_int(raw, i64::MIN, i64::MAX)?;
    match v.checked_mul(scale) {
        Some(ms) if ms < 0 => Ok(-1),
        Some(ms) if ms > 0 => Ok(ms),
        _ => Err(format!("expected -1 (keep forever) or a positive duration, got \"{raw}\"")),
    }
}

/// `cleanup.policy` values: only `delete` (seedlog has no log cleaner yet).
pub(crate) fn parse_cleanup_policy(raw: &str) -> Result<String, String> {
    let policies: Vec<&str> = raw.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if policies.is_empty() {
        return Err(format!("expected delete, got \"{raw}\""));
    }
    for policy in &policies {
        match *policy {
            "delete" => {}
            "compact" => return Err("compact is not supported yet (seedlog has no log cleaner); use delete".into()),
            other => return Err(format!("expected delete, got \"{other}\"")),
        }
    }
    Ok("delete".to_string())
}

pub(super) fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("expected true or false, got \"{raw}\"")),
    }
}

/// Which timestamp a record batch carries: the producer's, or the broker's at append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimestampType {
    #[default]
    CreateTime,
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's spelling, as in `log.message.timestamp.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }

    /// Parses Kafka's spelling (case-sensitive, as Kafka's validator is).
    pub fn parse(raw: &str) -> Result<TimestampType, String> {
        match raw.trim() {
            "CreateTime" => Ok(TimestampType::CreateTime),
            "LogAppendTime" => Ok(TimestampType::LogAppendTime),
            _ => Err(format!("expected CreateTime or LogAppendTime, got \"{raw}\"")),
        }
    }
}
