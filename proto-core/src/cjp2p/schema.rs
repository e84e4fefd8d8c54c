//! The JSON Schema this node sends in `SupportedMessages`: the messages it handles.

use alloc::string::ToString;
use alloc::vec::Vec;

use serde_json::{Map, Value, json};

/// Field types used in the schema.
#[derive(Clone, Copy)]
enum Field {
    Text,
    Count,
    Addresses,
    Key,
    Any,
    ContentList,
}

impl Field {
    fn schema(self) -> Value {
        match self {
            Self::Text => json!({"type": "string"}),
            Self::Count => json!({"type": "integer", "minimum": 0}),
            Self::Addresses => {
                json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true})
            }
            Self::Key => json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}),
            Self::Any => json!(true),
            Self::ContentList => json!({
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "integer", "minimum": 0}],
                    "minItems": 2,
                    "maxItems": 2
                }
            }),
        }
    }
}

/// Every message this node handles or sends, with its required fields.
const MESSAGES: &[(&str, &[(&str, Field)])] = &[
    ("PleaseSendPeers", &[]),
    ("Peers", &[("peers", Field::Addresses)]),
    ("PleaseReturnThisMessage", &[("cookie", Field::Text)]),
    ("ReturnedMessage", &[("cookie", Field::Text)]),
    ("PleaseAlwaysReturnThisMessage", &[("cookie", Field::Text)]),
    ("AlwaysReturned", &[("cookie", Field::Text)]),
    (
        "PleaseSendContent",
        &[
            ("id", Field::Text),
            ("length", Field::Count),
            ("offset", Field::Count),
        ],
    ),
    (
        "Content",
        &[
            ("id", Field::Text),
            ("offset", Field::Count),
            ("base64", Field::Text),
            ("eof", Field::Count),
        ],
    ),
    (
        "MaybeTheyHaveSome",
        &[("id", Field::Text), ("peers", Field::Addresses)],
    ),
    ("MyPublicKey", &[("ed25519h", Field::Key)]),
    (
        "SignedMessage",
        &[
            ("ed25519", Field::Key),
            ("signature", Field::Text),
            ("payload_json", Field::Text),
        ],
    ),
    ("PleaseListContent", &[]),
    ("ContentList", &[("results", Field::ContentList)]),
    ("PleaseListSupportedMessages", &[]),
    ("SupportedMessages", &[("schema", Field::Any)]),
    ("EjtpSessions", &[("max_request", Field::Count)]),
];

/// The schema: one definition per message, and the message as `oneOf` single-key objects, in
/// the shape the public node uses.
#[must_use]
pub fn supported_messages_schema() -> Value {
    let mut definitions = Map::new();
    let mut one_of = Vec::new();
    for (name, fields) in MESSAGES {
        let mut properties = Map::new();
        for (field, kind) in *fields {
            properties.insert((*field).to_string(), kind.schema());
        }
        let required: Vec<Value> = fields
            .iter()
            .map(|(field, _)| Value::from(*field))
            .collect();
        definitions.insert(
            (*name).to_string(),
            json!({"type": "object", "properties": properties, "required": required}),
        );
        one_of.push(json!({
            "type": "object",
            "additionalProperties": false,
            "required": [name],
            "properties": {*name: {"$ref": alloc::format!("#/definitions/{name}")}}
        }));
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Message",
        "definitions": definitions,
        "oneOf": one_of
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_every_message_with_its_required_fields() {
        let schema = supported_messages_schema();
        assert_eq!(schema["oneOf"].as_array().unwrap().len(), MESSAGES.len());
        assert_eq!(
            schema["definitions"]["PleaseSendContent"]["required"],
            json!(["id", "length", "offset"])
        );
    }
}
