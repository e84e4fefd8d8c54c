//! The acknowledgement convention between `ejtp run` and `ejtp send`.
//!
//! A running node answers every message that is not itself an acknowledgement with
//! `{"ack": "<message id>"}`, sent back to the sender's address and key. The reply is an
//! ordinary authenticated message, so `ejtp send` knows the recipient's key really got it.
//! Acknowledgements are never acknowledged, so two nodes cannot answer each other forever.

use proto_core::MessageId;
use serde_json::{Map, Value};

/// The key an acknowledgement's single field has.
const ACK: &str = "ack";

/// The acknowledgement of message `id`.
pub(crate) fn ack_for(id: MessageId) -> Value {
    let mut map = Map::new();
    map.insert(ACK.to_string(), Value::String(id.to_string()));
    Value::Object(map)
}

/// The message id `value` acknowledges, if it is an acknowledgement (an object whose only
/// field is `"ack"` with a string).
pub(crate) fn acknowledged_id(value: &Value) -> Option<&str> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.get(ACK)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_ack_names_the_message_id_and_is_recognised() {
        let id = MessageId([0xab; 16]);
        let ack = ack_for(id);
        assert_eq!(ack, json!({"ack": "ab".repeat(16)}));
        assert_eq!(acknowledged_id(&ack), Some("ab".repeat(16).as_str()));
    }

    #[test]
    fn other_values_are_not_acks() {
        for value in [
            json!({"ack": 1}),
            json!({"ack": "x", "more": 1}),
            json!(["ack", "x"]),
            json!("ack"),
        ] {
            assert_eq!(acknowledged_id(&value), None, "{value}");
        }
    }
}
