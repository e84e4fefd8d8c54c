//! Fragment reassembly: arbitrary bytes read as a sequence of fragments (raw plaintexts, and
//! fragments built from small headers so that messages do complete) inserted into a
//! `Reassembler` with small limits as time passes. The memory and in-flight bounds always
//! hold, timeouts are never in the past, a message comes back only at its declared length,
//! and a built message comes back only whole (its bytes are never zero, so a piece never
//! given would show).
#![no_main]

use core::time::Duration;

use ejtp_proto::Instant;
use ejtp_proto::fragment::{Fragment, Reassembler, ReassemblyLimits, piece_range};
use libfuzzer_sys::fuzz_target;

const MAX_MEMORY: usize = 256;
const MAX_MESSAGE: usize = 200;
const MAX_IN_FLIGHT: usize = 3;
const TIMEOUT: Duration = Duration::from_secs(1);

/// Byte `p` of the built message `total` bytes long under `key`: never zero.
fn byte_at(key: u8, total: u32, p: u32) -> u8 {
    1 + ((u32::from(key) * 31 + total * 7 + p) % 255) as u8
}

fuzz_target!(|data: &[u8]| {
    let limits = ReassemblyLimits::default()
        .with_max_memory(MAX_MEMORY)
        .with_max_message_len(MAX_MESSAGE)
        .with_max_in_flight(MAX_IN_FLIGHT)
        .with_max_remembered(4)
        .with_timeout(TIMEOUT);
    // Keys: (false, k) for raw plaintexts, (true, k) for built fragments, so that raw bytes
    // never complete a built message.
    let mut reassembler: Reassembler<(bool, u8)> = Reassembler::new(limits);
    let mut now = Instant::ZERO;
    let mut rest = data;
    // Record: op byte (bit 0: built, bits 1-2: key, bits 3-7: time step of 50 ms), then
    // built: index u8, count u8, total u16 BE; raw: length u8, then the plaintext.
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        now = now + Duration::from_millis(u64::from(op >> 3) * 50);
        let built = op & 1 == 1;
        let key = (op >> 1) & 3;
        let data_buf: Vec<u8>;
        let raw_buf: &[u8];
        let fragment = if built {
            let Some((header, tail)) = rest.split_first_chunk::<4>() else {
                break;
            };
            rest = tail;
            let [index, count, total_hi, total_lo] = *header;
            let (index, count) = (u16::from(index), u16::from(count));
            let total = u32::from(u16::from_be_bytes([total_hi, total_lo]));
            let Some((start, len)) = piece_range(total, count, index) else {
                assert!(Fragment::new(0, index, count, total, &[]).is_err());
                continue;
            };
            data_buf = (start..start + len)
                .map(|p| byte_at(key, total, p))
                .collect();
            Fragment::new(0, index, count, total, &data_buf).expect("a consistent fragment")
        } else {
            let Some((&len, tail)) = rest.split_first() else {
                break;
            };
            let len = usize::from(len).min(tail.len());
            (raw_buf, rest) = tail.split_at(len);
            match Fragment::decode(raw_buf) {
                Ok(fragment) => {
                    assert_eq!(fragment.encode(), raw_buf);
                    fragment
                }
                Err(_) => continue,
            }
        };
        let result = reassembler.insert(now, (built, key), &fragment);
        if let Ok(Some(whole)) = result {
            assert_eq!(whole.len() as u64, u64::from(fragment.total_len()));
            assert!(whole.len() <= MAX_MESSAGE);
            if built {
                let total = fragment.total_len();
                assert!((0..total).map(|p| byte_at(key, total, p)).eq(whole));
            }
        }
        assert!(reassembler.memory_in_use() <= MAX_MEMORY);
        assert!(reassembler.in_flight() <= MAX_IN_FLIGHT);
        if let Some(deadline) = reassembler.next_timeout() {
            assert!(deadline > now);
        }
    }
    reassembler.expire(now + TIMEOUT);
    assert_eq!(reassembler.memory_in_use(), 0);
    assert_eq!(reassembler.in_flight(), 0);
    assert_eq!(reassembler.next_timeout(), None);
});
