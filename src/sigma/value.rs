//! Sigma string values: wildcards and escapes, and the modifiers that
//! rewrite a value before it is compared (`base64`, `base64offset`,
//! `windash`, `contains`, `startswith`, `endswith`).

/// One piece of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: one character.
    One,
    /// A dash that `windash` lets be any of `-`, `/`, `–`, `—`, `―`.
    Dash,
}

/// The characters `windash` accepts for a dash.
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// A Sigma string as pieces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pattern(pub Vec<Part>);

impl Pattern {
    /// Reads a Sigma string: `*` and `?` are wildcards; `\*`, `\?` and `\\`
    /// are the characters themselves; any other backslash is literal.
    pub fn parse(s: &str) -> Pattern {
        let mut out = Pattern::default();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => out.0.push(Part::Star),
                '?' => out.0.push(Part::One),
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        out.push_char(n);
                    }
                    _ => out.push_char('\\'),
                },
                c => out.push_char(c),
            }
        }
        out
    }

    /// A pattern of literal text.
    pub fn text(s: &str) -> Pattern {
        let mut out = Pattern::default();
        for c in s.chars() {
            out.push_char(c);
        }
        out
    }

    fn push_char(&mut self, c: char) {
        match self.0.last_mut() {
            Some(Part::Text(t)) => t.push(c),
            _ => self.0.push(Part::Text(c.to_string())),
        }
    }

    /// The text, when it is only text.
    pub fn plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                _ => return None,
            }
        }
        Some(out)
    }

    /// `*` before and after (`contains`).
    pub fn contains(mut self) -> Pattern {
        self.0.insert(0, Part::Star);
        self.0.push(Part::Star);
        self
    }

    /// `*` after (`startswith`).
    pub fn starts(mut self) -> Pattern {
        self.0.push(Part::Star);
        self
    }

    /// `*` before (`endswith`).
    pub fn ends(mut self) -> Pattern {
        self.0.insert(0, Part::Star);
        self
    }

    /// `windash`: every `-` or `/` that starts a word (after a non-word
    /// character or the start, before a word character) may be any dash.
    pub fn windash(self) -> Pattern {
        let mut out = Pattern::default();
        let parts = self.0;
        for part in &parts {
            let Part::Text(text) = part else {
                out.0.push(part.clone());
                continue;
            };
            let chars: Vec<char> = text.chars().collect();
            for (j, &c) in chars.iter().enumerate() {
                let before_is_word = match j.checked_sub(1).and_then(|k| chars.get(k)) {
                    Some(b) => is_word(*b),
                    // A wildcard before is not a word character.
                    None => false,
                };
                let after_is_word = match chars.get(j + 1) {
                    Some(a) => is_word(*a),
                    None => false,
                };
                if matches!(c, '-' | '/') && !before_is_word && after_is_word {
                    out.0.push(Part::Dash);
                } else {
                    out.push_char(c);
                }
            }
        }
        out
    }

    /// The pattern as a regex matching the whole value.
    pub fn to_regex(&self) -> String {
        // `(?s)`: a wildcard matches line breaks too.
        let mut out = String::from(r"(?s)\A");
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(&regex::escape(t)),
                Part::Star => out.push_str(".*"),
                Part::One => out.push('.'),
                Part::Dash => {
                    out.push('[');
                    for d in DASHES {
                        if d == '-' {
                            out.push_str(r"\-");
                        } else {
                            out.push(d);
                        }
                    }
                    out.push(']');
                }
            }
        }
        out.push_str(r"\z");
        out
    }

    /// The pattern as Sigma writes it (escaping what must be).
    #[cfg(test)]
    pub fn to_sigma(&self) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(&escape(t)),
                Part::Star => out.push('*'),
                Part::One => out.push('?'),
                Part::Dash => out.push('-'),
            }
        }
        out
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Escapes text for a Sigma string: `*`, `?` and a backslash that would
/// otherwise escape one of them.
pub fn escape(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '*' | '?' => {
                out.push('\\');
                out.push(c);
            }
            '\\' => {
                // A backslash before a special character, or at the end
                // before one that follows in another piece, is doubled.
                let next = chars.get(i + 1).copied();
                if matches!(next, Some('*' | '?' | '\\') | None) {
                    out.push_str(r"\\");
                } else {
                    out.push('\\');
                }
            }
            c => out.push(c),
        }
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, s) in sextets.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(B64.get(*s as usize).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64offset`: the three forms the text takes inside a longer base64
/// text, by its offset modulo 3 (as Sigma's own tools compute them).
pub fn base64_offsets(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let start = [0usize, 2, 3];
    let end = [0usize, 3, 2];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(bytes);
            let encoded = base64(&padded);
            let from = start.get(i).copied().unwrap_or(0);
            let cut = end.get((bytes.len() + i) % 3).copied().unwrap_or(0);
            let to = encoded.len().saturating_sub(cut);
            encoded
                .get(from..to.max(from))
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_escapes() {
        let p = Pattern::parse(r"a*b?c\*d\?e\\f\g");
        assert_eq!(
            p.0,
            vec![
                Part::Text("a".into()),
                Part::Star,
                Part::Text("b".into()),
                Part::One,
                Part::Text(r"c*d?e\f\g".into()),
            ]
        );
        assert_eq!(Pattern::parse(r"x\*").plain().as_deref(), Some("x*"));
        let re = regex::Regex::new(&Pattern::parse("ab*c?").to_regex()).ok();
        assert!(re.as_ref().is_some_and(|r| r.is_match("abXYZcd")));
        assert!(re.as_ref().is_some_and(|r| !r.is_match("abXYZc")));
    }

    #[test]
    fn sigma_text_round_trips() {
        for s in [r"a\*b", r"c:\windows\*", r"x\\", "plain", r"\\?"] {
            let p = Pattern::parse(s);
            assert_eq!(Pattern::parse(&p.to_sigma()), p, "{s}");
        }
        assert_eq!(
            Pattern::parse(&escape(r"a*b\")).plain().as_deref(),
            Some(r"a*b\")
        );
    }

    #[test]
    fn base64_as_sigma_tools_give_it() {
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"f"), "Zg==");
        // pySigma: `base64offset` of "/bin/bash".
        assert_eq!(
            base64_offsets("/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }

    #[test]
    fn windash_marks_dashes_that_start_words() {
        let p = Pattern::text("cmd -f /x a-b").windash();
        let dashes = p.0.iter().filter(|x| **x == Part::Dash).count();
        assert_eq!(dashes, 2);
        let re = regex::Regex::new(&p.to_regex()).ok();
        assert!(re.is_some_and(|r| r.is_match("cmd /f \u{2013}x a-b")));
    }
}
