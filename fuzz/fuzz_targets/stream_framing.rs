//! TCP stream framing (EJTP hex-length prefixes): arbitrary bytes pushed in arbitrary chunks.
//! Every frame returned is within the bound, and the decoder never holds more than its
//! capacity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ejtp_proto::stream::StreamDecoder;

const MAX_FRAME: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, mut rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = StreamDecoder::new(MAX_FRAME);
    while !rest.is_empty() {
        let (now, later) = rest.split_at(chunk.min(rest.len()));
        rest = later;
        let mut pending = now;
        while !pending.is_empty() {
            let taken = decoder.push(pending);
            assert!(decoder.buffered_len() <= decoder.capacity());
            loop {
                match decoder.next_frame() {
                    Ok(Some(frame)) => assert!(!frame.is_empty() && frame.len() <= MAX_FRAME),
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
            if taken == 0 {
                break;
            }
            pending = &pending[taken..];
        }
    }
});
