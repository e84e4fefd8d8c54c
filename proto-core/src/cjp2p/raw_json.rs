//! A JSON text kept exactly as it came ([`RawJson`]), for message bodies this node does not
//! read.

use alloc::string::{String, ToString};
use core::fmt;

use serde_json::Value;
use serde_json::value::RawValue;

/// One JSON value as text, byte for byte as it arrived (or as it was built).
///
/// Bodies of messages this node does not know are passed on in this form rather than as a
/// [`Value`]: a `Value` re-encodes what it read (an integer beyond `u64`, such as
/// `99799999299999999990`, becomes the float `9.979999929999999e19`; key order and spacing
/// change), so an application forwarding or inspecting the message would not see what the
/// peer sent.
///
/// ```
/// use ejtp_proto::cjp2p::RawJson;
///
/// let body = RawJson::new(r#"{"n":99799999299999999990}"#).unwrap();
/// assert_eq!(body.as_str(), r#"{"n":99799999299999999990}"#);
/// assert!(RawJson::new("{not json").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(String);

/// The text given to [`RawJson::new`] is not one JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotJson;

impl fmt::Display for NotJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not one JSON value")
    }
}

impl core::error::Error for NotJson {}

impl RawJson {
    /// `text` if it is exactly one JSON value (surrounding whitespace is trimmed).
    ///
    /// # Errors
    /// [`NotJson`] otherwise.
    pub fn new(text: &str) -> Result<Self, NotJson> {
        let raw: &RawValue = serde_json::from_str(text).map_err(|_| NotJson)?;
        Ok(Self::from_raw(raw))
    }

    /// The text of an already validated raw value.
    pub(crate) fn from_raw(raw: &RawValue) -> Self {
        Self(raw.get().to_string())
    }

    /// The JSON text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text read as a [`Value`] (lossy where a `Value` is: see the type's docs).
    ///
    /// # Errors
    /// Never for a `RawJson` built by this crate; the error is serde_json's.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl From<&Value> for RawJson {
    /// The compact encoding of `value`.
    fn from(value: &Value) -> Self {
        // A `Value` always serialises; "null" is only a fallback that cannot be reached.
        Self(serde_json::to_string(value).unwrap_or_else(|_| "null".into()))
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_kept_byte_for_byte_and_validated() {
        for text in [
            "99799999299999999990",
            r#"{"b":1,"a":[1.50,2e3]}"#,
            r#""\u00e9""#,
            "null",
        ] {
            assert_eq!(RawJson::new(text).unwrap().as_str(), text);
        }
        assert_eq!(RawJson::new("  [1] ").unwrap().as_str(), "[1]");
        for bad in ["", "[1", "1 2", "{\"a\":}"] {
            assert_eq!(RawJson::new(bad), Err(NotJson), "{bad}");
        }
    }
}
