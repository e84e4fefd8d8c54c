#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) on the stable toolchain and prints how
# many inputs each executed. CI runs it briefly so that a change that breaks fuzzing fails;
# run it for hours for a real campaign:
#
#     fuzz/run.sh 3600
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Builds without a sanitizer (`-s none`: the
# AddressSanitizer build needs nightly, and proto-core forbids `unsafe`, so coverage is what
# matters) and with optimisations (`-O`). The cryptography crates are left out of the coverage
# instrumentation (uninstrumented-rustc.sh, see README.md). Inputs that once crashed a target are kept in
# regressions/<target>/ and replayed first; a new crash stops the run with its input saved in
# artifacts/<target>/: add it to regressions/ with the fix.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"

export RUSTC_WRAPPER="$PWD/uninstrumented-rustc.sh"
python3 seed_corpora.py
cargo fuzz build -s none -O
targets=$(cargo fuzz list)

summary=()
for target in $targets; do
    if [ -d "regressions/$target" ]; then
        cargo fuzz run -s none -O "$target" "regressions/$target" -- -runs=0 >/dev/null 2>&1 ||
            { echo "fuzz: $target fails on a regression input"; exit 1; }
    fi
    # The log stays out of artifacts/: cargo-fuzz reports the newest file there as the
    # failing input, and a log taken for it floods the output with its bytes.
    mkdir -p "corpus/$target" "artifacts/$target" logs
    log="logs/$target.log"
    if ! cargo fuzz run -s none -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/"
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    summary+=("$(printf '%-20s %12s executions in %s s' "$target" "${runs:-?}" "$seconds")")
done
printf '%s\n' "${summary[@]}"
