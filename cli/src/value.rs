//! Checks on the free-form values typed on the command line: JSON payloads, callsigns, names.

use ejtp_proto::address::MAX_CALLSIGN_LEN;
use ejtp_proto::group::{GroupConfig, valid_name};
use ejtp_proto::identity::MAX_NAME_LEN;
use ejtp_proto::json::{self, JsonError};
use serde_json::Value;

/// The JSON value to send: the argument itself, or with `@FILE` the contents of that file
/// (for values too large for a command line, whose arguments the OS caps at 128 KiB).
pub(crate) fn parse_json_argument(text: &str) -> Result<Value, String> {
    let Some(path) = text.strip_prefix('@') else {
        return parse_json(text);
    };
    let contents = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read the value from {path}: {err}"))?;
    parse_json(contents.trim_end()).map_err(|reason| format!("{path}: {reason}"))
}

/// Parses the JSON value to send, refusing what strict JSON refuses (floats, deep nesting).
pub(crate) fn parse_json(text: &str) -> Result<Value, String> {
    json::parse_json(text.as_bytes()).map_err(|err| match err {
        JsonError::Float => match integer_out_of_range(text) {
            Some(number) => format!(
                "the integer {number} is out of range: the protocol carries integers from \
                 {} to {} (send such a number as a string)",
                i64::MIN,
                u64::MAX
            ),
            None => "floats are not allowed: the protocol carries integers only (send a \
                     number as an integer, or as a string)"
                .to_string(),
        },
        JsonError::TooDeep => format!("JSON nested deeper than {} levels", json::MAX_DEPTH),
        _ => "not valid JSON (a string needs its quotes, such as '\"hi\"'; an object looks \
              like '{\"hello\":1}')"
            .to_string(),
    })
}

/// The first number in the JSON `text` written as an integer (no fraction, no exponent)
/// that fits neither an `i64` nor a `u64`: the core calls such a number a float, since that
/// is how a JSON parser without big integers holds it, but the user wrote an integer.
fn integer_out_of_range(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => {
                // Skip the string, escapes included.
                at += 1;
                while let Some(&inner) = bytes.get(at) {
                    at += if inner == b'\\' { 2 } else { 1 };
                    if inner == b'"' {
                        break;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                at += 1;
                while bytes.get(at).is_some_and(|b| {
                    b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')
                }) {
                    at += 1;
                }
                let number = text.get(start..at)?;
                let integer = !number.contains(['.', 'e', 'E']);
                if integer && number.parse::<i64>().is_err() && number.parse::<u64>().is_err() {
                    return Some(number);
                }
            }
            _ => at += 1,
        }
    }
    None
}

/// Checks a callsign: 1 to 64 bytes.
pub(crate) fn parse_callsign(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > MAX_CALLSIGN_LEN {
        return Err(format!("a callsign is 1 to {MAX_CALLSIGN_LEN} bytes"));
    }
    Ok(text.to_string())
}

/// What a name may be, for error messages: the group's rule, which `ejtp chat` applies.
pub(crate) fn name_rule() -> String {
    format!(
        "a name is 1 to {} printable ASCII characters, no spaces (such as alice or Alice_A.)",
        member_name_len()
    )
}

/// The longest member name a group admits (the core's default, which `ejtp chat` uses).
fn member_name_len() -> usize {
    GroupConfig::default().max_name_len.min(MAX_NAME_LEN)
}

/// Whether `name` is a name `ejtp chat` can use as its member name.
pub(crate) fn is_member_name(name: &str) -> bool {
    valid_name(name, member_name_len())
}

/// Checks an identity name by the rule `ejtp chat` applies to member names (the identity's
/// name is its default member name), so that an identity `keygen` makes can always chat.
pub(crate) fn parse_name(text: &str) -> Result<String, String> {
    if !is_member_name(text) {
        return Err(name_rule());
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_parse_and_floats_are_refused_by_name() {
        assert_eq!(
            parse_json(r#"{"hello": [1, "two"]}"#),
            Ok(json!({"hello": [1, "two"]}))
        );
        assert_eq!(parse_json("-5"), Ok(json!(-5)));
        assert!(
            parse_json("1.5")
                .unwrap_err()
                .contains("floats are not allowed")
        );
        assert!(parse_json("{\"a\": 1e3}").unwrap_err().contains("floats"));
        assert!(parse_json("hello").unwrap_err().contains("not valid JSON"));
        assert!(parse_json("{} {}").unwrap_err().contains("not valid JSON"));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "{\"big\": 1}\n").unwrap();
        let argument = format!("@{}", file.path().display());
        assert_eq!(parse_json_argument(&argument), Ok(json!({"big": 1})));
        assert!(
            parse_json_argument("@/nonexistent/value.json")
                .unwrap_err()
                .contains("cannot read the value from /nonexistent/value.json")
        );
    }

    #[test]
    fn integers_too_large_are_named_and_floats_beside_them_are_not() {
        assert_eq!(
            integer_out_of_range(r#"{"n": 123456789012345678901234567890}"#),
            Some("123456789012345678901234567890")
        );
        assert_eq!(
            integer_out_of_range("[-9223372036854775809]"),
            Some("-9223372036854775809")
        );
        assert_eq!(integer_out_of_range("[18446744073709551615, 1.5]"), None);
        assert_eq!(
            integer_out_of_range(r#"["99999999999999999999", 2e400]"#),
            None
        );
        assert_eq!(integer_out_of_range(r#"{"a\"1": 1e99}"#), None);
    }

    #[test]
    fn callsigns_and_names_are_bounded() {
        assert!(parse_callsign("").is_err());
        assert!(parse_callsign(&"c".repeat(65)).is_err());
        assert_eq!(parse_callsign("bob"), Ok("bob".to_string()));
        assert!(parse_name(&"n".repeat(257)).is_err());
        assert!(parse_name(&"n".repeat(33)).is_err());
        assert!(parse_name("Alice A.").is_err());
        assert!(parse_name("").is_err());
        assert_eq!(parse_name("Alice_A."), Ok("Alice_A.".to_string()));
    }
}
