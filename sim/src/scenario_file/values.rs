//! The value syntax of scenario files: durations (`500ms`, `5s`, `2.5s`, `2m`, `1h`, negative
//! for a clock stepping back), inclusive ranges of durations (`1s..3s`) and of counts (`4..12`).
//! A single value is a range of one.

/// Milliseconds of a duration like `500ms`, `5s`, `2m`, `1h`, or with a fraction that comes
/// to whole milliseconds (`9.9s`, `1.5m`; as a trace prints times); `-5s` when `signed`.
pub fn duration_ms(text: &str, signed: bool) -> Result<i64, String> {
    let t = text.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        Some(_) => return Err(format!("`{text}`: a negative duration is not allowed here")),
        None => (false, t),
    };
    let split = body.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(body.len());
    let (number, unit) = body.split_at(split);
    let not_a_duration = || format!("`{text}` is not a duration (a number and a unit: 500ms, 5s, 2.5s, 2m, 1h)");
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || (number.contains('.') && fraction.is_empty()) || fraction.contains('.') {
        return Err(not_a_duration());
    }
    let per_unit: i64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (use ms, s, m or h)")),
    };
    let too_long = || format!("`{text}` is too long");
    let whole: i64 = whole.parse().map_err(|_| not_a_duration())?;
    let mut ms = whole.checked_mul(per_unit).ok_or_else(too_long)?;
    if !fraction.is_empty() {
        let digits = u32::try_from(fraction.len()).map_err(|_| too_long())?;
        let scale = 10i64.checked_pow(digits).ok_or_else(too_long)?;
        let parts: i64 = fraction.parse().map_err(|_| not_a_duration())?;
        let scaled = parts.checked_mul(per_unit).ok_or_else(too_long)?;
        if scaled % scale != 0 {
            return Err(format!("`{text}` is not a whole number of milliseconds"));
        }
        ms = ms.checked_add(scaled / scale).ok_or_else(too_long)?;
    }
    Ok(if negative { -ms } else { ms })
}

/// An inclusive range of durations `A..B` (or one duration), in ms.
pub fn duration_range_ms(text: &str, signed: bool) -> Result<(i64, i64), String> {
    range(text, |part| duration_ms(part, signed))
}

/// An inclusive range of non-negative durations, in ms.
pub fn unsigned_duration_range_ms(text: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = duration_range_ms(text, false)?;
    Ok((lo as u64, hi as u64))
}

/// An inclusive range of counts `A..B` (or one count).
pub fn count_range(text: &str) -> Result<(u64, u64), String> {
    range(text, |part| part.trim().parse::<u64>().map(|n| n as i64).map_err(|_| format!("`{part}` is not a count")))
        .map(|(lo, hi)| (lo as u64, hi as u64))
}

fn range(text: &str, parse: impl Fn(&str) -> Result<i64, String>) -> Result<(i64, i64), String> {
    let (lo, hi) = match text.split_once("..") {
        Some((a, b)) => (parse(a)?, parse(b.strip_prefix('=').unwrap_or(b))?),
        None => {
            let v = parse(text)?;
            (v, v)
        }
    };
    if lo > hi {
        return Err(format!("`{text}` is an empty range: its start is after its end"));
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(duration_ms("500ms", false), Ok(500));
        assert_eq!(duration_ms("5s", false), Ok(5_000));
        assert_eq!(duration_ms("2m", false), Ok(120_000));
        assert_eq!(duration_ms("-5s", true), Ok(-5_000));
        assert!(duration_ms("-5s", false).unwrap_err().contains("negative"));
        assert!(duration_ms("5", false).unwrap_err().contains("unknown unit"));
        assert!(duration_ms("5 days", false).is_err());
        assert!(duration_ms("s", false).is_err());
    }

    #[test]
    fn durations_may_have_a_fraction_of_whole_milliseconds() {
        assert_eq!(duration_ms("9.9s", false), Ok(9_900));
        assert_eq!(duration_ms("1.5m", false), Ok(90_000));
        assert_eq!(duration_ms("0.250s", false), Ok(250));
        assert_eq!(duration_ms("-1.5s", true), Ok(-1_500));
        assert_eq!(duration_range_ms("9.9s..10.1s", false), Ok((9_900, 10_100)));
        assert!(duration_ms("1.0005s", false).unwrap_err().contains("whole number of milliseconds"));
        assert!(duration_ms("1.5ms", false).unwrap_err().contains("whole number of milliseconds"));
        for bad in [".5s", "5.s", "1.2.3s", "."] {
            assert!(duration_ms(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_are_inclusive_and_ordered() {
        assert_eq!(duration_range_ms("1s..3s", false), Ok((1_000, 3_000)));
        assert_eq!(duration_range_ms("-5s..30s", true), Ok((-5_000, 30_000)));
        assert_eq!(count_range("4..=12"), Ok((4, 12)));
        assert_eq!(count_range("7"), Ok((7, 7)));
        assert!(count_range("9..3").unwrap_err().contains("empty range"));
    }
}
