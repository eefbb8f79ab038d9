//! Rule patterns in another engine's regex dialect, meaning what they mean
//! natively.
//!
//! A rule's pattern is Rust `regex` syntax, and engines read even the
//! syntax they share differently: RE2 (KQL's `matches regex`) has ASCII
//! `\d`, `\w`, `\s` and `\b`; Java (Spark's `RLIKE`) ends a line at `\r`
//! and `\u2028` for `.`, matches `$` before a final newline, and folds case
//! its own way. So the pattern is not passed on as written: it is parsed as
//! the native engine parses it (with its case rule), and what it matches is
//! written out in the target's syntax with nothing left to the engine's own
//! reading. Every class is written as its ranges of code points (`\d` is
//! the ranges of Unicode digits, `(?i)k` is `[Kk\x{212A}]`), every literal
//! as itself, every group as a group that captures nothing; anchors are
//! `\A` and `\z`, which both dialects read alike. What a dialect cannot say
//! exactly (RE2 has no look-around, so no Unicode word boundary; neither
//! has Rust's multi-line anchors) is an error naming the construct, never
//! an approximation.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// A regex dialect a target writes patterns in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// RE2, as KQL's `matches regex` reads it.
    Re2,
    /// `java.util.regex`, as Spark's `RLIKE` reads it.
    Java,
    /// A Sigma `|re` value: what RE2 (which pySigma checks Sigma patterns
    /// with) and Rust's `regex` (which tollgate's Sigma reader builds them
    /// with) both read alike. They read `\b` differently (ASCII, Unicode),
    /// so it has no word boundary.
    Sigma,
}

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            Dialect::Re2 => "RE2",
            Dialect::Java => "Java",
            Dialect::Sigma => {
                "a Sigma pattern (read as RE2 by pySigma, as Rust `regex` by tollgate)"
            }
        }
    }
}

/// RE2's largest counted repetition.
const RE2_MAX_REPEAT: u32 = 1000;

/// ASCII word characters, as a class both dialects read alike.
const ASCII_WORD: &str = "[0-9A-Za-z_]";

/// `pattern` (Rust syntax, matched ignoring case unless `case_sensitive`)
/// in `dialect`, matching exactly the texts it matches natively, searched
/// for anywhere in the text as the native engine does. The error names
/// what the dialect cannot say, to follow "it uses".
pub(crate) fn translate(
    pattern: &str,
    case_sensitive: bool,
    dialect: Dialect,
) -> Result<String, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(!case_sensitive)
        .build()
        .parse(pattern)
        .map_err(|e| format!("the pattern `{pattern}`, which does not parse ({e})"))?;
    let mut out = String::with_capacity(pattern.len() * 2);
    write(&hir, dialect, RE2_MAX_REPEAT, &mut out).map_err(|what| {
        format!(
            "{what} in the pattern `{pattern}`, which {} cannot say exactly",
            dialect.name()
        )
    })?;
    Ok(out)
}

/// Writes `hir`; `room` is what RE2 still allows a counted repetition
/// inside it: RE2 divides 1,000 by the count of each counted repetition
/// around (`x{40}` inside `(...){30}` is refused, as 1000 / 30 / 40 is 0).
fn write(hir: &Hir, dialect: Dialect, room: u32, out: &mut String) -> Result<(), String> {
    match hir.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0)
                .map_err(|_| "bytes that are not UTF-8 text (`(?-u)`)".to_string())?;
            for c in text.chars() {
                literal_char(c, out);
            }
        }
        HirKind::Class(Class::Unicode(class)) => write_class(
            class
                .ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end()))),
            out,
        ),
        HirKind::Class(Class::Bytes(class)) => {
            if class.ranges().iter().any(|r| !r.end().is_ascii()) {
                return Err("a class of bytes beyond ASCII (`(?-u)`)".into());
            }
            write_class(
                class
                    .ranges()
                    .iter()
                    .map(|r| (u32::from(r.start()), u32::from(r.end()))),
                out,
            );
        }
        HirKind::Look(look) => write_look(*look, dialect, out)?,
        HirKind::Repetition(rep) => {
            // `*`, `+` and `?` are no counted repetition to RE2.
            let counted = !matches!((rep.min, rep.max), (0 | 1, None) | (0, Some(1)));
            let count = rep.max.unwrap_or(rep.min);
            let room = if counted && count > 0 {
                room / count
            } else {
                room
            };
            if dialect != Dialect::Java && room == 0 {
                return Err(format!(
                    "repetitions counting past {RE2_MAX_REPEAT} (RE2's limit, for nested \
                     counts their product)"
                ));
            }
            if is_atom(&rep.sub) {
                write(&rep.sub, dialect, room, out)?;
            } else {
                out.push_str("(?:");
                write(&rep.sub, dialect, room, out)?;
                out.push(')');
            }
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (n, None) => out.push_str(&format!("{{{n},}}")),
                (n, Some(m)) if n == m => out.push_str(&format!("{{{n}}}")),
                (n, Some(m)) => out.push_str(&format!("{{{n},{m}}}")),
            }
            if !rep.greedy {
                out.push('?');
            }
        }
        // Matching needs no capture; a repetition groups what it repeats.
        HirKind::Capture(capture) => write(&capture.sub, dialect, room, out)?,
        HirKind::Concat(items) => {
            for item in items {
                write(item, dialect, room, out)?;
            }
        }
        HirKind::Alternation(items) => {
            out.push_str("(?:");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write(item, dialect, room, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

/// Whether `hir` is written as one unit a repetition can follow.
fn is_atom(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Class(_) | HirKind::Alternation(_) => true,
        HirKind::Literal(literal) => {
            std::str::from_utf8(&literal.0).is_ok_and(|text| text.chars().count() == 1)
        }
        HirKind::Capture(capture) => is_atom(&capture.sub),
        HirKind::Look(_) | HirKind::Repetition(_) | HirKind::Concat(_) => false,
    }
}

/// A character outside a class: as itself when both dialects read it as
/// itself, escaped when it is syntax, by code point otherwise.
fn literal_char(c: char, out: &mut String) {
    match c {
        '\\' | '.' | '^' | '$' | '|' | '?' | '*' | '+' | '(' | ')' | '[' | ']' | '{' | '}' => {
            out.push('\\');
            out.push(c);
        }
        ' '..='~' => out.push(c),
        _ => code_point(u32::from(c), out),
    }
}

/// A class as its ranges; inside, only letters and digits are written as
/// themselves (Java reads `&&`, `[` and more there).
fn write_class(ranges: impl Iterator<Item = (u32, u32)>, out: &mut String) {
    let start = out.len();
    out.push('[');
    for (lo, hi) in ranges {
        class_char(lo, out);
        if hi != lo {
            out.push('-');
            class_char(hi, out);
        }
    }
    if out.len() == start + 1 {
        // A class of nothing: no character matches it.
        out.push_str("^\\x{0}-\\x{10FFFF}");
    }
    out.push(']');
}

fn class_char(c: u32, out: &mut String) {
    match char::from_u32(c) {
        Some(ch) if ch.is_ascii_alphanumeric() => out.push(ch),
        _ => code_point(c, out),
    }
}

fn code_point(c: u32, out: &mut String) {
    out.push_str(&format!("\\x{{{c:X}}}"));
}

fn write_look(look: Look, dialect: Dialect, out: &mut String) -> Result<(), String> {
    let before = |inside: bool| {
        let not = if inside { "=" } else { "!" };
        format!("(?<{not}{ASCII_WORD})")
    };
    let after = |inside: bool| {
        let not = if inside { "=" } else { "!" };
        format!("(?{not}{ASCII_WORD})")
    };
    match (look, dialect) {
        (Look::Start, _) => out.push_str("\\A"),
        (Look::End, _) => out.push_str("\\z"),
        // RE2's `\b` and `\B` are ASCII.
        (Look::WordAscii, Dialect::Re2) => out.push_str("\\b"),
        (Look::WordAsciiNegate, Dialect::Re2) => out.push_str("\\B"),
        // Java's `\b` is neither ASCII nor quite Unicode: look around.
        (Look::WordAscii, Dialect::Java) => out.push_str(&format!(
            "(?:{}{}|{}{})",
            before(true),
            after(false),
            before(false),
            after(true)
        )),
        (Look::WordAsciiNegate, Dialect::Java) => out.push_str(&format!(
            "(?:{}{}|{}{})",
            before(true),
            after(true),
            before(false),
            after(false)
        )),
        (Look::WordStartAscii, Dialect::Java) => {
            out.push_str(&format!("{}{}", before(false), after(true)));
        }
        (Look::WordEndAscii, Dialect::Java) => {
            out.push_str(&format!("{}{}", before(true), after(false)));
        }
        (Look::WordStartHalfAscii, Dialect::Java) => out.push_str(&before(false)),
        (Look::WordEndHalfAscii, Dialect::Java) => out.push_str(&after(false)),
        (_, Dialect::Sigma) if look != Look::Start && look != Look::End => {
            return Err(
                "a word boundary (RE2 reads `\\b` as ASCII, tollgate's Sigma reader as \
                 Unicode; write the characters around it as classes)"
                    .into(),
            );
        }
        (Look::WordUnicode | Look::WordUnicodeNegate, _) => {
            return Err(
                "a Unicode word boundary (`\\b` or `\\B`; `(?-u:\\b)` is the ASCII one, \
                 which compiles)"
                    .into(),
            );
        }
        (Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF, _) => {
            return Err("a line anchor of the `m` flag (`(?m)^`, `(?m)$`)".into());
        }
        (_, Dialect::Re2 | Dialect::Sigma) => {
            return Err(
                "a word boundary that looks one way (`\\<`, `\\>`, `\\b{start}`, ...)".into(),
            );
        }
        (_, Dialect::Java) => {
            return Err(
                "a Unicode word boundary that looks one way (`\\<`, `\\>`, `\\b{start}`, ...; \
                 `(?-u:\\b{start})` is the ASCII one, which compiles)"
                    .into(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re2(p: &str, cs: bool) -> Result<String, String> {
        translate(p, cs, Dialect::Re2)
    }

    fn java(p: &str, cs: bool) -> Result<String, String> {
        translate(p, cs, Dialect::Java)
    }

    #[test]
    fn what_an_engine_would_read_its_own_way_is_written_out() {
        // Literals as they are, syntax escaped.
        assert_eq!(
            re2("a.b", true).as_deref(),
            Ok("a[\\x{0}-\\x{9}\\x{B}-\\x{10FFFF}]b")
        );
        assert_eq!(re2(r"a\.b/c d", true).as_deref(), Ok(r"a\.b/c d"));
        // Case folding as Rust does it, in the pattern.
        assert_eq!(re2("k", false).as_deref(), Ok("[Kk\\x{212A}]"));
        // Unicode digits, not ASCII ones; ASCII ones when asked.
        let digits = re2(r"^\d$", true).unwrap_or_default();
        assert!(digits.starts_with("\\A[0-9\\x{660}-\\x{669}"), "{digits}");
        assert!(digits.ends_with("]\\z"), "{digits}");
        assert_eq!(re2(r"(?-u:\d)", true).as_deref(), Ok("[0-9]"));
        // Groups capture nothing; repetitions keep their count and greed.
        assert_eq!(
            re2("(ab|c){2,3}?x*(ab)+", true).as_deref(),
            Ok("(?:ab|c){2,3}?x*(?:ab)+")
        );
        // Comments and spacing of the `x` flag are gone.
        assert_eq!(re2("(?x) py thon # tool", true).as_deref(), Ok("python"));
        // Java's class syntax is kept out of classes; Rust's is worked out.
        assert_eq!(java("[a&b-]", true).as_deref(), Ok("[\\x{26}\\x{2D}a-b]"));
        assert_eq!(java("[a-c&&b-d]", true).as_deref(), Ok("[b-c]"));
        // A class of nothing stays one.
        assert_eq!(
            java("[^\\x00-\\x{10FFFF}]", true).as_deref(),
            Ok("[^\\x{0}-\\x{10FFFF}]")
        );
    }

    #[test]
    fn word_boundaries_and_anchors() {
        assert_eq!(re2(r"(?-u:\b)ab\z", true).as_deref(), Ok(r"\bab\z"));
        assert_eq!(
            java(r"(?-u:\b)", true).as_deref(),
            Ok("(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))")
        );
        for refused in [r"\bx", r"x\B", "(?m)^x", "x(?m)$", r"\<x", r"x\b{end}"] {
            let e = re2(refused, true).err().unwrap_or_default();
            assert!(e.contains(refused) && e.contains("RE2"), "{refused}: {e}");
        }
        for refused in [r"\bx", "(?m)^x", r"\<x"] {
            assert!(java(refused, true).is_err(), "{refused}");
        }
        assert!(java(r"(?-u:\<)x(?-u:\b{end-half})", true).is_ok());
        assert!(re2("a{1001}", true).is_err());
        assert!(java("a{1001}", true).is_ok());
        // RE2 divides 1,000 by nested counts.
        assert!(re2("(?:x{40}){30}", true).is_err());
        assert!(re2("(ab{40}){30}", true).is_err());
        assert!(re2("(?:x{40}){25}", true).is_ok());
        assert!(re2("(?:x*){1000}", true).is_ok());
        assert!(translate("(?:x{40}){30}", true, Dialect::Sigma).is_err());
        assert!(java("(?:x{40}){30}", true).is_ok());
    }
}
