//! The acknowledgement between `ejtp run` and `ejtp send`, carried by a protocol query.
//!
//! `ejtp send` sends its value as a query; `ejtp run` answers every plain message (a reply is
//! never delivered as one) with a protocol reply whose value is `{"ack": "<message id>"}`. The
//! reply is bound to the exact message it answers by its hash and must be signed by the key
//! the query went to (`docs/PROTOCOL.md` §12), so the reply itself is the proof of receipt;
//! the value only says so in plain words.

use ejtp_proto::MessageId;
use serde_json::{Map, Value};

/// The key an acknowledgement's single field has.
const ACK: &str = "ack";

/// The acknowledgement of message `id`: `{"ack": "<id>"}`.
pub(crate) fn ack_for(id: MessageId) -> Value {
    let mut map = Map::new();
    map.insert(ACK.to_string(), Value::String(id.to_string()));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_ack_names_the_message_id() {
        let id = MessageId([0xab; 16]);
        assert_eq!(ack_for(id), json!({"ack": "ab".repeat(16)}));
    }
}
