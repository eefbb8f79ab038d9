//! A validating scan of a record's JSON text: walks the keys of the object
//! at its top and steps over values, checking them as `serde_json` checks
//! them when it reads a record in full, without building anything.
//!
//! The scan is the reader's fast path, so it answers only what it can
//! answer exactly. Text it cannot vouch for, invalid JSON or JSON whose
//! reading takes more than a scan (a number that could reach 10^300, by its
//! digits or its exponent, whose range a full parse checks; nesting deeper
//! than [`MAX_DEPTH`]), makes it stop with
//! [`Unsure`], and the reader parses the record in full instead: that parse
//! decides whether it reads and, when not, gives the error. What the scan
//! accepts, a full parse accepts (`tests` in the parent module and
//! `tests/differential.rs` compare the two).

use std::borrow::Cow;

/// The scan stopped: the text is not JSON, or its reading is left to a
/// full parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unsure;

type Scanned<T> = Result<T, Unsure>;

/// Nesting the scan follows, the top object included; deeper text is left
/// to a full parse (which allows 127 levels).
const MAX_DEPTH: u32 = 100;

/// Digits in one number the scan accepts, and the power of ten it may
/// reach: more could be out of the range of a float (about 1.8 * 10^308),
/// which a full parse rejects.
const MAX_DIGITS: usize = 300;

/// A key read by [`Scan::key_or`].
#[derive(Debug)]
pub(super) enum Key<'a> {
    /// The key expected.
    Expected,
    /// Another key.
    Read(Cow<'a, str>),
}

/// JSON text, walked from its start.
#[derive(Debug)]
pub(super) struct Scan<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Scan<'a> {
    /// A scan of `text`, before its first byte.
    pub(super) fn new(text: &'a str) -> Scan<'a> {
        Scan {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The first byte of the value that comes next (blanks are stepped
    /// over before each value).
    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Steps over blanks, as JSON defines them.
    fn blank(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Steps over `byte`, after blanks.
    fn expect(&mut self, byte: u8) -> Scanned<()> {
        self.blank();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    /// Starts reading the text (blanks before its value).
    pub(super) fn start(&mut self) {
        self.blank();
    }

    /// Enters the object or list that comes next (its `{` or `[`).
    pub(super) fn enter(&mut self) -> Scanned<()> {
        self.pos += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Unsure);
        }
        self.blank();
        Ok(())
    }

    /// The next key of the object entered, up to and past its `:` (and the
    /// blanks after it), or `None` after its closing `}`. `first` is true
    /// until the object's first key has been read.
    pub(super) fn key(&mut self, first: &mut bool) -> Scanned<Option<Cow<'a, str>>> {
        if !self.next(first, b'}')? {
            return Ok(None);
        }
        let key = self.string()?;
        self.expect(b':')?;
        self.blank();
        Ok(Some(key))
    }

    /// [`Scan::key`], when the key is likely `expected`, which must need no
    /// escape in JSON: a key written exactly as `expected` between quotes
    /// is stepped over without being read as a string (it is valid, and
    /// it is `expected`); any other is read.
    #[inline(always)]
    pub(super) fn key_or(&mut self, first: &mut bool, expected: &[u8]) -> Scanned<Option<Key<'a>>> {
        if !self.next(first, b'}')? {
            return Ok(None);
        }
        let end = self.pos + 1 + expected.len();
        let bytes = self.bytes();
        let key = if bytes.get(self.pos) == Some(&b'"')
            && bytes
                .get(self.pos + 1..end)
                .is_some_and(|key| same(key, expected))
            && bytes.get(end) == Some(&b'"')
        {
            self.pos = end + 1;
            Key::Expected
        } else {
            Key::Read(self.string()?)
        };
        self.expect(b':')?;
        self.blank();
        Ok(Some(key))
    }

    /// Whether another element of the list entered comes next (and then
    /// the blanks before it are stepped over), or its `]` came.
    pub(super) fn element(&mut self, first: &mut bool) -> Scanned<bool> {
        self.next(first, b']')
    }

    /// Steps over the `,` before an entry or element, or the `close` that
    /// ends the object or list: whether an entry or element comes.
    fn next(&mut self, first: &mut bool, close: u8) -> Scanned<bool> {
        self.blank();
        match self.peek() {
            Some(b) if b == close => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            Some(b',') if !*first => {
                self.pos += 1;
                self.blank();
                Ok(true)
            }
            Some(_) if *first => {
                *first = false;
                Ok(true)
            }
            _ => Err(Unsure),
        }
    }

    /// Steps over the value that comes next.
    pub(super) fn skip(&mut self) -> Scanned<()> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string_end().map(drop)
            }
            Some(b'{') => {
                self.enter()?;
                let mut first = true;
                while self.key(&mut first)?.is_some() {
                    self.skip()?;
                }
                Ok(())
            }
            Some(b'[') => {
                self.enter()?;
                let mut first = true;
                while self.element(&mut first)? {
                    self.skip()?;
                }
                Ok(())
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Unsure),
        }
    }

    /// Steps over the value that comes next and gives its text.
    pub(super) fn value(&mut self) -> Scanned<&'a str> {
        let start = self.pos;
        self.skip()?;
        self.text.get(start..self.pos).ok_or(Unsure)
    }

    /// Checks that nothing but blanks follows the value read.
    pub(super) fn end(mut self) -> Scanned<()> {
        self.blank();
        if self.depth == 0 && self.pos == self.text.len() {
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    /// A string, from its opening quote: borrowed when it holds no escape.
    pub(super) fn string(&mut self) -> Scanned<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(Unsure);
        }
        let start = self.pos;
        self.pos += 1;
        let escaped = self.string_end()?;
        let quoted = self.text.get(start..self.pos).ok_or(Unsure)?;
        if escaped {
            serde_json::from_str(quoted)
                .map(Cow::Owned)
                .map_err(|_| Unsure)
        } else {
            quoted
                .get(1..quoted.len() - 1)
                .map(Cow::Borrowed)
                .ok_or(Unsure)
        }
    }

    /// Steps past the closing quote of the string this is inside; gives
    /// whether the string holds an escape.
    #[inline(always)]
    fn string_end(&mut self) -> Scanned<bool> {
        let bytes = self.bytes();
        let mut i = self.pos;
        let mut escaped = false;
        loop {
            i = special_from(bytes, i);
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    i = escape(bytes, i + 1)?;
                }
                // A control character (which must be escaped), or the end.
                _ => return Err(Unsure),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Scanned<()> {
        let end = self.pos + word.len();
        if self.bytes().get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, of a size a
    /// float holds: a number that could reach 10^300 (by its digits or its
    /// exponent) is left to a full parse, which checks its range.
    fn number(&mut self) -> Scanned<()> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        // Digits before the point, a leading 0 aside.
        let whole = match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                0
            }
            Some(b'1'..=b'9') => {
                let from = self.pos;
                self.digits();
                self.pos - from
            }
            _ => return Err(Unsure),
        };
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(Unsure);
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            let negative = self.peek() == Some(b'-');
            if let Some(b'-' | b'+') = self.peek() {
                self.pos += 1;
            }
            let from = self.pos;
            self.digits();
            let exponent = self
                .text
                .get(from..self.pos)
                .filter(|e| (1..=4).contains(&e.len()))
                .and_then(|e| e.parse::<usize>().ok())
                .ok_or(Unsure)?;
            if !negative && whole + exponent > MAX_DIGITS {
                return Err(Unsure);
            }
        }
        match self.peek() {
            Some(b'0'..=b'9') => Err(Unsure),
            _ if self.pos - start > MAX_DIGITS => Err(Unsure),
            _ => Ok(()),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }
}

/// Steps over an escape whose backslash is just before `i`; gives where
/// the string goes on. A surrogate must be half of a pair (a leading one
/// escaped right before a trailing one), as a full parse requires; a lone
/// one is left to the full parse, which gives its error.
fn escape(bytes: &[u8], i: usize) -> Scanned<usize> {
    match bytes.get(i) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 1),
        Some(b'u') => match hex(bytes, i + 1)? {
            0xD800..=0xDBFF => match (bytes.get(i + 5..i + 7), hex(bytes, i + 7)) {
                (Some(b"\\u"), Ok(0xDC00..=0xDFFF)) => Ok(i + 11),
                _ => Err(Unsure),
            },
            0xDC00..=0xDFFF => Err(Unsure),
            _ => Ok(i + 5),
        },
        _ => Err(Unsure),
    }
}

/// The four hex digits at `i`.
fn hex(bytes: &[u8], i: usize) -> Scanned<u32> {
    let digits = bytes.get(i..i + 4).ok_or(Unsure)?;
    let mut code = 0;
    for &b in digits {
        code = code * 16 + char::from(b).to_digit(16).ok_or(Unsure)?;
    }
    Ok(code)
}

/// Whether `key` holds a quote, a backslash or a control character: in
/// JSON, such a key is written with an escape.
pub(super) fn needs_escape(key: &str) -> bool {
    special_from(key.as_bytes(), 0) < key.len()
}

/// Whether `a` and `b` are the same bytes, for keys: eight bytes at a
/// time, the last eight overlapping the word before, with no call (most
/// keys are shorter than a call to `memcmp` is worth).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], i: usize| {
        s.get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_ne_bytes)
    };
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Where the first quote, backslash or control character (below 0x20)
/// is in `bytes` from `i`, or their length.
#[inline]
fn special_from(bytes: &[u8], mut i: usize) -> usize {
    // Eight bytes at a time.
    while let Some(word) = bytes
        .get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let found = special(u64::from_le_bytes(word));
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// The high bit of each byte of `word` that is a quote, a backslash or a
/// control character, and maybe of bytes after the first such byte: a
/// borrow only carries towards later bytes, so the lowest bit set is
/// exactly the first such byte, and none is set when there is none (bytes
/// of 0x80 and above never pass as one).
#[inline]
fn special(word: u64) -> u64 {
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (quote | backslash | control) & HIGH
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans `text` as a record: its keys, each value skipped.
    fn scan(text: &str) -> Scanned<Vec<String>> {
        let mut scan = Scan::new(text);
        scan.start();
        if scan.peek() != Some(b'{') {
            return Err(Unsure);
        }
        scan.enter()?;
        let mut keys = Vec::new();
        let mut first = true;
        while let Some(key) = scan.key(&mut first)? {
            keys.push(key.into_owned());
            scan.skip()?;
        }
        scan.end()?;
        Ok(keys)
    }

    #[test]
    fn same_is_byte_equality() {
        // Every length around the word size, a difference at every place.
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same(&a, &a.clone()));
            assert!(!same(&a, &a[..n.saturating_sub(1)]) || n == 0);
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same(&a, &b), "{n} {at}");
            }
        }
    }

    #[test]
    fn the_first_special_byte_is_found_in_any_place() {
        for special_byte in [b'"', b'\\', 0, 0x1f, b'\n'] {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = special_byte;
                let found = special(u64::from_le_bytes(word));
                assert_eq!(
                    found.trailing_zeros() / 8,
                    at as u32,
                    "{special_byte} at {at}"
                );
                assert_eq!(special_from(&word, 0), at, "{special_byte} at {at}");
            }
        }
        for ordinary in [
            *b"abcdefgh",
            *b"        ",
            [0x20; 8],
            [0x7f; 8],
            [0x80; 8],
            [0xff; 8],
        ] {
            assert_eq!(special(u64::from_le_bytes(ordinary)), 0, "{ordinary:?}");
            assert_eq!(special_from(&ordinary, 0), 8);
        }
        // UTF-8 multi-byte text is ordinary.
        let word: [u8; 8] = "é—ü-".as_bytes().try_into().unwrap();
        assert_eq!(special(u64::from_le_bytes(word)), 0);
    }

    #[test]
    fn reads_keys_of_valid_records() {
        let text = r#" { "a" : 1 , "b\u00e9\n": [true, false, null, {"x": [ ]}, {}], "c": "long string with \"escapes\" \\ and ünïcödé, past eight bytes", "d": -0.5 } "#;
        assert_eq!(
            scan(text),
            Ok(vec!["a".into(), "bé\n".into(), "c".into(), "d".into()])
        );
        assert_eq!(
            scan(r#"{"\ud83d\ude00 \uD83D\uDE00": 1}"#),
            Ok(vec!["😀 😀".into()])
        );
        let numbers = r#"{"a": [1e5, 1E-5, -0.5e+299, 0e0, 1e298, 123e-9999, 0.25E+0001]}"#;
        assert_eq!(scan(numbers), Ok(vec!["a".into()]));
        assert!(serde_json::from_str::<serde_json::Value>(numbers).is_ok());
        assert_eq!(scan("{}"), Ok(vec![]));
        assert_eq!(scan("{\"a\":0}\n"), Ok(vec!["a".into()]));
    }

    #[test]
    fn values_come_with_their_text() {
        let mut scan = Scan::new(r#"{"a": {"b": [1, "x"]} , "c":"d"}"#);
        scan.start();
        assert_eq!(scan.enter(), Ok(()));
        let mut first = true;
        assert_eq!(scan.key(&mut first).unwrap().as_deref(), Some("a"));
        assert_eq!(scan.value(), Ok(r#"{"b": [1, "x"]}"#));
        assert_eq!(scan.key(&mut first).unwrap().as_deref(), Some("c"));
        assert_eq!(scan.value(), Ok(r#""d""#));
        assert_eq!(scan.key(&mut first), Ok(None));
        assert_eq!(scan.end(), Ok(()));
    }

    #[test]
    fn whatever_it_accepts_a_full_parse_accepts() {
        // Each of these a full parse rejects, or reads only after checks
        // the scan leaves to it.
        let unsure = [
            "",
            "[]",
            "{",
            "{\"a\":1",
            "{\"a\":1,}",
            "{,\"a\":1}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{\"a\":1}x",
            "{\"a\":1}}",
            "{a:1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":-}",
            "{\"a\":+1}",
            "{\"a\":1e}",
            "{\"a\":1e+}",
            "{\"a\":1e-}",
            "{\"a\":1.e5}",
            "{\"a\":1e5.5}",
            "{\"a\":1e300}",
            "{\"a\":12e299}",
            "{\"a\":1e00001}",
            "{\"a\":1e400}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":True}",
            "{\"a\":\"\t\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\u12g4\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\ud83d\"}",
            "{\"a\":\"\\ud83dx\"}",
            "{\"a\":\"\\ud83d\\u0041\"}",
            "{\"a\":\"\\ud83d\\ud83d\"}",
            "{\"a\":\"\\ud83d\\n\"}",
            "{\"a\":\"\\ud83d\\ude0\"}",
            "{\"a\":\"unterminated}",
            "{\"a\":[1 2]}",
            "{\"a\":[1,]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":{\"b\":1,}}",
            "{\"a\":\u{a0}1}",
        ];
        for text in unsure {
            assert_eq!(scan(text), Err(Unsure), "{text:?}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(99), "]".repeat(99));
        assert!(scan(&deep).is_ok());
        let deeper = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(scan(&deeper), Err(Unsure));
        let long = format!("{{\"a\":{}}}", "9".repeat(MAX_DIGITS + 1));
        assert_eq!(scan(&long), Err(Unsure));
        // Near the largest float: what the scan accepts reads.
        for exponent in 280..=320 {
            for mantissa in ["1", "9.99", "99999", "-9", "0.5", "0"] {
                let text = format!("{{\"a\":{mantissa}e{exponent}}}");
                if scan(&text).is_ok() {
                    assert!(
                        serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                        "{text}"
                    );
                }
            }
        }
    }
}
