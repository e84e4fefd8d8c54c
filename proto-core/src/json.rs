//! Strict JSON: the canonical text EJTP uses for addresses and `j` frame bodies.
//!
//! Keys sorted by code point, no whitespace, every non-ASCII character escaped as `\uXXXX`
//! (surrogate pairs above U+FFFF), and no floats: the reference implementation refuses them, and
//! without them the encoding of a value is unique, so signatures over it are reproducible.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use serde_json::Value;

/// Deepest nesting accepted when parsing (serde_json's own recursion limit is 128).
pub const MAX_DEPTH: usize = 64;

/// Why a value or text is not strict JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonError {
    /// The text is not one well-formed UTF-8 JSON value.
    Syntax,
    /// A number with a fraction or exponent, or an integer outside the 64-bit range.
    Float,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "not a single well-formed JSON value",
            Self::Float => "floats are not allowed in strict JSON",
            Self::TooDeep => "JSON nested too deeply",
        })
    }
}

impl core::error::Error for JsonError {}

/// The strict JSON text of `value`.
///
/// # Errors
/// [`JsonError::Float`] if the value holds a float; [`JsonError::TooDeep`] past [`MAX_DEPTH`].
pub fn to_strict_json(value: &Value) -> Result<String, JsonError> {
    let mut out = String::new();
    write_value(value, &mut out, 0)?;
    Ok(out)
}

/// Appends the strict JSON text of `value` to `out` (as UTF-8 bytes, which are all ASCII).
///
/// # Errors
/// As [`to_strict_json`]; on error `out` may hold a partial encoding.
pub fn write_strict_json(value: &Value, out: &mut Vec<u8>) -> Result<(), JsonError> {
    out.extend_from_slice(to_strict_json(value)?.as_bytes());
    Ok(())
}

/// Parses exactly one JSON value from `bytes`, refusing floats and deep nesting.
///
/// Whitespace and key order are accepted in any form: strictness applies to what we write.
///
/// # Errors
/// [`JsonError::Syntax`], [`JsonError::Float`] or [`JsonError::TooDeep`].
pub fn parse_json(bytes: &[u8]) -> Result<Value, JsonError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|_| JsonError::Syntax)?;
    check_no_floats(&value)?;
    Ok(value)
}

/// Checks that `value` holds no float and is no deeper than [`MAX_DEPTH`].
///
/// # Errors
/// [`JsonError::Float`] or [`JsonError::TooDeep`].
pub fn check_no_floats(value: &Value) -> Result<(), JsonError> {
    check_depth(value, 0)
}

fn check_depth(value: &Value, depth: usize) -> Result<(), JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    match value {
        Value::Number(n) if n.is_f64() => Err(JsonError::Float),
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_depth(item, depth + 1)),
        Value::Object(map) => map
            .values()
            .try_for_each(|item| check_depth(item, depth + 1)),
        _ => Ok(()),
    }
}

fn write_value(value: &Value, out: &mut String, depth: usize) -> Result<(), JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                push_display(out, i);
            } else if let Some(u) = n.as_u64() {
                push_display(out, u);
            } else {
                return Err(JsonError::Float);
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's default map is a BTreeMap, but sort explicitly so the encoding does
            // not depend on that feature choice.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn push_display(out: &mut String, n: impl fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{n}");
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='\u{7e}' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_whitespace_dropped() {
        let value = json!({"b": 1, "a": [1, 2, {"d": null, "c": true}]});
        assert_eq!(
            to_strict_json(&value).unwrap(),
            r#"{"a":[1,2,{"c":true,"d":null}],"b":1}"#
        );
    }

    #[test]
    fn non_ascii_is_escaped_with_surrogate_pairs() {
        assert_eq!(
            to_strict_json(&json!("h\u{e9}llo \u{2603}")).unwrap(),
            r#""h\u00e9llo \u2603""#
        );
        assert_eq!(
            to_strict_json(&json!("\u{1f600}")).unwrap(),
            r#""\ud83d\ude00""#
        );
        assert_eq!(
            to_strict_json(&json!("\u{7f}\u{1}")).unwrap(),
            r#""\u007f\u0001""#
        );
    }

    #[test]
    fn floats_are_refused_both_ways() {
        assert_eq!(to_strict_json(&json!(1.5)), Err(JsonError::Float));
        assert_eq!(parse_json(b"[1.0]"), Err(JsonError::Float));
        assert_eq!(parse_json(b"18446744073709551616"), Err(JsonError::Float));
        assert_eq!(
            parse_json(b"-9223372036854775808").unwrap(),
            json!(i64::MIN)
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse_json(deep.as_bytes()).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse_json(ok.as_bytes()).is_ok());
    }

    #[test]
    fn trailing_garbage_is_a_syntax_error() {
        assert_eq!(parse_json(b"{} {}"), Err(JsonError::Syntax));
        assert_eq!(parse_json(b"\xff"), Err(JsonError::Syntax));
    }
}
