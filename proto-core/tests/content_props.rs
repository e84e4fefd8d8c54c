//! Hostile input to the content code: manifests of arbitrary bytes, and downloads fed arbitrary
//! answers, never panic and never break their bounds.

use ejtp_proto::content::{
    BlockLayout, ContentId, Download, DownloadConfig, Manifest, MemoryPartialStore,
};
use ejtp_proto::{Instant, TransportAddr};
use proptest::prelude::*;

fn source(n: u8) -> TransportAddr {
    format!("udp:192.0.2.{n}:24254").parse().unwrap()
}

#[derive(Debug, Clone)]
enum Input {
    Block {
        from: u8,
        offset: u64,
        len: usize,
        eof: u64,
    },
    NoContent {
        from: u8,
        peers: Vec<u8>,
    },
    Timeout {
        after_ms: u64,
    },
    Poll,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (
            0u8..6,
            prop_oneof![3 => (0u64..30).prop_map(|block| block * 4096), 1 => any::<u64>()],
            prop_oneof![3 => Just(4096usize), 1 => 0usize..50_000],
            prop_oneof![3 => Just(100_000u64), 1 => any::<u64>()],
        )
            .prop_map(|(from, offset, len, eof)| Input::Block { from, offset, len, eof }),
        1 => (0u8..6, proptest::collection::vec(0u8..20, 0..5)).prop_map(|(from, peers)| Input::NoContent { from, peers }),
        2 => (0u64..5_000).prop_map(|after_ms| Input::Timeout { after_ms }),
        3 => Just(Input::Poll),
    ]
}

proptest! {
    #[test]
    fn manifests_of_arbitrary_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Manifest::parse(&bytes);
    }

    #[test]
    fn manifests_round_trip(total in 0u64..1 << 40, size in 1u32..1 << 20, blocks in proptest::collection::btree_map(any::<u64>(), any::<u64>(), 0..20)) {
        let layout = BlockLayout::new(total, size).unwrap();
        let mut manifest = Manifest::new(ContentId([7; 32]), layout);
        for (index, hash) in blocks {
            manifest.record(index % layout.block_count(), hash);
        }
        prop_assert_eq!(Manifest::parse(manifest.encode().as_bytes()), Ok(manifest));
    }

    #[test]
    fn a_download_fed_arbitrary_answers_never_panics_and_stays_bounded(inputs in proptest::collection::vec(input(), 1..80)) {
        let config = DownloadConfig { max_in_flight: 32, max_events: 16, max_sources: 8, max_content_len: 1 << 20, ..DownloadConfig::default() };
        let mut download = Download::new(ContentId([3; 32]), config, Instant::ZERO);
        let mut store = MemoryPartialStore::new();
        for n in 0..3 {
            download.add_source(source(n));
        }
        let mut now = 0u64;
        for input in inputs {
            now += 1;
            let at = Instant::from_millis(now);
            match input {
                Input::Block { from, offset, len, eof } => {
                    let bytes = vec![0xa5; len];
                    download.handle_block(at, &mut store, source(from), offset, &bytes, eof);
                }
                Input::NoContent { from, peers } => {
                    download.handle_no_content(source(from), peers.into_iter().map(source));
                }
                Input::Timeout { after_ms } => {
                    now += after_ms;
                    let at = Instant::from_millis(now);
                    download.handle_timeout(at);
                    // Once woken, the next wake-up is never in the past.
                    prop_assert!(download.poll_timeout().is_none_or(|next| next > at));
                }
                Input::Poll => {
                    while download.poll_request(at).is_some() {}
                }
            }
            prop_assert!(download.in_flight_len() <= 32);
            prop_assert!(download.lost_len() <= 64);
            prop_assert!(download.pending_events() <= 16);
            prop_assert!(download.active_sources() <= 8);
            // The content is a made-up id: nothing can ever complete it.
            prop_assert!(!download.is_completed());
        }
    }
}
