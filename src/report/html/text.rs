//! Text as the page shows it: escaped for HTML, numbers with
//! separators, values and times shortened.

use std::fmt::{self, Write as _};

use serde_json::Value;

/// Longest rendering of an expected or actual value, in characters.
const MAX_VALUE_CHARS: usize = 1_000;

/// A string from a log or a rule, escaped for HTML text and attribute
/// values; control and bidirectional formatting characters (which could
/// fake lines or reorder what is shown) are made visible.
pub(super) struct Esc<'a>(pub(super) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() || is_invisible_control(c) => {
                    write!(f, "\\u{{{:x}}}", c as u32)?
                }
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

fn is_invisible_control(c: char) -> bool {
    matches!(
        c,
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}' | '\u{feff}'
    )
}

/// A number with thousands separators.
pub(super) struct Num(pub(super) u64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                f.write_char(',')?;
            }
            f.write_char(c)?;
        }
        Ok(())
    }
}

/// A value as the evidence table shows it: JSON, cut when long.
pub(super) fn value_text(v: &Value) -> String {
    let mut s = match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    if let Some((cut, _)) = s.char_indices().nth(MAX_VALUE_CHARS) {
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// A time stamp as the page shows it: `2025-03-02 08:11:00`.
pub(super) fn short_time(t: &str) -> String {
    let cut = t.get(..19).unwrap_or(t);
    cut.replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_separators() {
        assert_eq!(Num(0).to_string(), "0");
        assert_eq!(Num(999).to_string(), "999");
        assert_eq!(Num(1000).to_string(), "1,000");
        assert_eq!(Num(1234567).to_string(), "1,234,567");
    }
}
