//! Rule patterns and IP ranges: text from a rule → a size-limited
//! [`Regex`] or an [`IpNet`], or why not.
//!
//! Check uses these to refuse bad values where they are written and to
//! build each condition's matcher once ([`super::Prepared`]); compile takes
//! what was built and parses nothing itself.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::{Regex, RegexBuilder};

/// Largest compiled regex, in bytes (the `regex` crate's own measure).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a rule pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexError {
    /// The pattern compiles to more than [`REGEX_SIZE_LIMIT`].
    pub too_large: bool,
    /// What is wrong, for a label under the pattern.
    pub message: String,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RegexError {}

/// Builds a rule pattern with the size limit.
pub fn build_regex(pattern: &str, case_sensitive: bool) -> Result<Regex, RegexError> {
    RegexBuilder::new(pattern)
        .case_insensitive(!case_sensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => RegexError {
                too_large: true,
                message: format!("the pattern compiles to more than {limit} bytes"),
            },
            // The crate's message repeats the pattern and draws a caret;
            // its last line says what is wrong, which is the label.
            other => RegexError {
                too_large: false,
                message: other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("invalid pattern")
                    .trim()
                    .to_string(),
            },
        })
}

/// Why a text is not an IP range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// It has a `/` but is not an address and prefix length.
    BadRange,
    /// It is not an address.
    BadAddress,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetError::BadRange => "not a valid address and prefix length",
            NetError::BadAddress => "not a valid IP address",
        })
    }
}

impl std::error::Error for NetError {}

/// Reads an IP range (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
pub fn parse_net(text: &str) -> Result<IpNet, NetError> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    match text.parse::<IpAddr>() {
        Ok(ip) => Ok(IpNet::from(ip)),
        Err(_) if text.contains('/') => Err(NetError::BadRange),
        Err(_) => Err(NetError::BadAddress),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_over_the_limit_are_refused() {
        let err = build_regex("(?:a{1000}){1000}", false).err();
        assert!(err.is_some_and(|e| e.too_large && e.message.contains("more than")));
        assert!(build_regex("(", false).is_err());
    }

    #[test]
    fn ranges_and_single_addresses_parse() {
        assert!(parse_net("10.0.0.0/8").is_ok());
        assert!(parse_net("2001:db8::/32").is_ok());
        assert!(parse_net("192.0.2.1").is_ok());
        assert_eq!(parse_net("10.0.0.0/33"), Err(NetError::BadRange));
        assert_eq!(parse_net("nope"), Err(NetError::BadAddress));
    }
}
