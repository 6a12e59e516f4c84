//! The `.properties` syntax Kafka config files use, read and written.

/// One `key=value` of a properties text, with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parses the subset of Java's `.properties` syntax that Kafka config files use: `key=value`,
/// `key:value` and `key value`; `#`/`!` comment lines and blank lines; a line ending in an odd
/// number of backslashes continues on the next (whose leading whitespace is dropped); escapes
/// `\t \n \r \f \uXXXX`, and `\x` for any other `x` (so `\=`, `\:`, `\\`). Keys and values
/// are trimmed. Java accepts a bare `key` as an empty value; here it is an error (`key=` is
/// the explicit form), since a bare word is far more often a broken line than an intent.
pub(crate) fn parse_properties(text: &str) -> Result<Vec<Property>, (usize, String)> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let mut properties = Vec::new();
    while let Some((number, raw)) = lines.next() {
        let first = raw.trim_start();
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = first.to_string();
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, separated, rest) = split_key(&logical);
        let key = unescape(key).map_err(|m| (number, m))?;
        if key.is_empty() {
            return Err((number, "missing key before the separator".to_string()));
        }
        if !separated {
            return Err((number, format!("`{key}` has no value; expected key=value")));
        }
        let mut value_raw = rest.trim_end();
        if let Some(space) = rest[value_raw.len()..].chars().next().filter(|_| ends_with_odd_backslashes(value_raw)) {
            value_raw = &rest[..value_raw.len() + space.len_utf8()]; // keep an escaped trailing space
        }
        let value = unescape(value_raw).map_err(|m| (number, m))?;
        properties.push(Property { key, value, line: number });
    }
    Ok(properties)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Splits a logical line at the first unescaped `=`, `:` or whitespace: (raw key, whether a
/// separator was found, raw value with leading whitespace and one `=`/`:` removed).
fn split_key(line: &str) -> (&str, bool, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || c.is_whitespace() {
            let mut rest = line[i..].trim_start();
            if c.is_whitespace() && (rest.starts_with('=') || rest.starts_with(':')) {
                rest = rest[1..].trim_start();
            } else if !c.is_whitespace() {
                rest = line[i + 1..].trim_start();
            }
            return (&line[..i], true, rest);
        }
    }
    (line, false, "")
}

fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == 4);
                match code.and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    None => return Err(format!("malformed \\uXXXX escape `\\u{hex}`")),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Escapes a key or value so that [`parse_properties`] reads it back unchanged.
pub(crate) fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '=' | ':' | '#' | '!' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out
}
