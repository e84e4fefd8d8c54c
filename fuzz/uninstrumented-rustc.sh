#!/usr/bin/env bash
# A RUSTC_WRAPPER for fuzz builds that compiles the cryptography crates without libFuzzer's
# coverage instrumentation. cargo fuzz instruments every crate through RUSTFLAGS, and stable
# cargo cannot set flags per package, so this drops the SanitizerCoverage flags from those
# crates' rustc command lines and passes every other crate's through unchanged.
#
# Why: each node-target input does X25519, ed25519, HKDF and AEAD work whose branches depend
# only on key material, which the fuzzer cannot steer; instrumenting them costs time on every
# input and fills the coverage map with noise.
set -euo pipefail
rustc="$1"
shift
crate=""
previous=""
for arg in "$@"; do
    if [ "$previous" = "--crate-name" ]; then
        crate="$arg"
    fi
    previous="$arg"
done
case "$crate" in
    curve25519_dalek | ed25519_dalek | x25519_dalek | chacha20 | chacha20poly1305 | poly1305 | \
        sha2 | hkdf | hmac | hpke | snow | argon2 | blake2 | aead | universal_hash | cipher | \
        digest | crypto_common | block_buffer | subtle | ed25519 | signature | \
        curve25519_dalek_derive | zeroize | generic_array | typenum)
        kept=()
        for arg in "$@"; do
            case "$arg" in
                -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
                *) kept+=("$arg") ;;
            esac
        done
        exec "$rustc" "${kept[@]}"
        ;;
    *) exec "$rustc" "$@" ;;
esac
