//! Messages this node does not know are passed on byte for byte: to the application, through
//! re-encoding, and through a recorded trace.

use ejtp_proto::cjp2p::{Cjp2pMessage, encode_datagram, parse_datagram};
use proptest::prelude::*;

/// A body no `serde_json::Value` can hold exactly: an integer beyond `u64`, a float written
/// with trailing zeros, keys out of order, spaces.
const ODD_BODY: &str =
    r#"{"z": 99799999299999999990, "a": [1.50, -0, 2E+3], "n": 123456789012345678901234567890}"#;

fn body_of(message: &Cjp2pMessage) -> &str {
    match message {
        Cjp2pMessage::Unknown { body, .. } => body.as_str(),
        other => panic!("not unknown: {other:?}"),
    }
}

#[test]
fn an_unknown_body_with_large_numbers_is_kept_exactly() {
    let datagram = format!(
        r#"[{{"PleaseSendPeers":{{}}}},{{"ChatMessage":{ODD_BODY}}},{{"Bad":1,"x":2}},{{"Other":[ 99799999299999999990 ]}}]"#
    );
    let parsed = parse_datagram(datagram.as_bytes(), 64).unwrap();
    assert_eq!(parsed.skipped, 1);
    assert_eq!(parsed.messages.len(), 3);
    assert_eq!(parsed.messages[1].name(), "ChatMessage");
    assert_eq!(body_of(&parsed.messages[1]), ODD_BODY);
    assert_eq!(body_of(&parsed.messages[2]), "[ 99799999299999999990 ]");
    // Written again as it came.
    let encoded = String::from_utf8(encode_datagram(&parsed.messages[1..])).unwrap();
    assert_eq!(
        encoded,
        format!(r#"[{{"ChatMessage":{ODD_BODY}}},{{"Other":[ 99799999299999999990 ]}}]"#)
    );
}

#[test]
fn an_unknown_body_survives_a_trace_round_trip() {
    let datagram = format!(r#"[{{"ChatMessage":{ODD_BODY}}}]"#);
    let message = parse_datagram(datagram.as_bytes(), 64)
        .unwrap()
        .messages
        .remove(0);
    // In a trace, the element's text is kept in a string.
    let json = serde_json::to_string(&message).unwrap();
    let text: String = serde_json::from_str(&json).unwrap();
    assert_eq!(text, format!(r#"{{"ChatMessage":{ODD_BODY}}}"#));
    let back: Cjp2pMessage = serde_json::from_str(&json).unwrap();
    assert_eq!(back, message);
    // Inside a pretty-printed document too (as scenario files are written).
    let pretty = serde_json::to_string_pretty(&vec![message.clone()]).unwrap();
    let back: Vec<Cjp2pMessage> = serde_json::from_str(&pretty).unwrap();
    assert_eq!(back, std::slice::from_ref(&message));
    // And inside an event, whose tagged encoding buffers its fields.
    let event = ejtp_proto::Event::Cjp2p {
        from: ejtp_proto::TransportAddr::udp("127.0.0.1:1".parse().unwrap()),
        verified: true,
        message,
    };
    let json = serde_json::to_string(&event).unwrap();
    assert_eq!(
        serde_json::from_str::<ejtp_proto::Event>(&json).unwrap(),
        event
    );
}

proptest! {
    /// Any integer, however long, in an unknown body comes back as the same digits.
    #[test]
    fn integers_of_any_length_pass_through(digits in "-?[1-9][0-9]{0,60}", name in "[A-Z][a-z]{1,10}") {
        prop_assume!(!["Peers", "Content"].contains(&name.as_str()));
        let body = format!(r#"{{"n":{digits}}}"#);
        let datagram = format!(r#"[{{"{name}":{body}}}]"#);
        let parsed = parse_datagram(datagram.as_bytes(), 64).unwrap();
        prop_assert_eq!(body_of(&parsed.messages[0]), body.as_str());
        prop_assert_eq!(encode_datagram(&parsed.messages), datagram.into_bytes());
    }
}
