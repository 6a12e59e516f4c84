//! Escaping text for the report's markup: index.html (HTML5) and junit.xml (XML 1.0).
//!
//! Everything the report prints comes from the run (checker messages, panic messages, node
//! names, a command line), so all of it is escaped, in text and in attribute values alike.
//! XML 1.0 cannot carry most control characters even escaped (a panic message may hold
//! one): they become U+FFFD, so a JUnit reader never refuses the file.

/// `text` escaped for an XML or HTML text node or a double- or single-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// The characters XML 1.0 allows (its production `Char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn control_characters_are_replaced_and_whitespace_kept() {
        assert_eq!(escape("a\u{0}b\u{1b}[31m\tc\nd"), "a\u{FFFD}b\u{FFFD}[31m\tc\nd");
        assert_eq!(escape("héllo ✓"), "héllo ✓");
    }
}
