#!/usr/bin/env bash
# `make fuzz`: build test/fuzz/fuzz_envelope.c with libFuzzer, ASan and
# UBSan, and fuzz the envelope parser and AES-256-GCM open path for
# FUZZ_SECONDS (default 600), starting from a copy of the committed seed
# corpus test/fuzz/corpus/ (regenerate it with test/fuzz/make_seeds.py).
#
# Exits non-zero on a crash, a sanitizer report, a leak or a violated
# property (the harness abort()s); libFuzzer then leaves the input as
# test/fuzz/build/crash-* (or leak-*, timeout-*), which
#   test/fuzz/build/fuzz_envelope <that file>
# replays.  New inputs found go to test/fuzz/build/corpus, not into the
# committed seeds.
#
# Knobs: FUZZ_SECONDS (600), FUZZ_JOBS (1: parallel fuzzing processes),
# CC (clang), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/../.."

SECONDS_TO_RUN=${FUZZ_SECONDS:-600}
JOBS=${FUZZ_JOBS:-1}
CC=${CC:-$(command -v clang-14 || command -v clang || echo clang)}
BUILD=test/fuzz/build
BIN=$BUILD/fuzz_envelope

command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang)" >&2; exit 1; }
ls test/fuzz/corpus/* >/dev/null 2>&1 || { echo "fuzz: no seeds in test/fuzz/corpus" >&2; exit 1; }

mkdir -p "$BUILD"
echo "fuzz: building $BIN"
# -fno-sanitize-recover: make any UBSan finding a crash, not a log line.
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I src src/envelope.c test/fuzz/fuzz_envelope.c -lcrypto -o "$BIN"

# Work on a copy: the committed seeds stay as they are.
rm -rf "$BUILD/corpus"
mkdir -p "$BUILD/corpus"
cp test/fuzz/corpus/* "$BUILD/corpus/"

# Replay the seeds first: each must pass on its own.
echo "fuzz: replaying $(ls test/fuzz/corpus | wc -l) seeds"
"$BIN" -runs=0 test/fuzz/corpus/* >"$BUILD/replay.log" 2>&1 || {
    cat "$BUILD/replay.log" >&2; echo "fuzz: a seed fails" >&2; exit 1; }

echo "fuzz: running for ${SECONDS_TO_RUN}s"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
args=(-max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/")
if [ "$JOBS" -gt 1 ]; then
    args+=(-jobs="$JOBS" -workers="$JOBS")
fi
set +e
"$BIN" "${args[@]}" ${FUZZ_ARGS:-} "$BUILD/corpus" 2>&1 | tee "$BUILD/fuzz.log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
    echo "fuzz: FAILED (exit $rc); artifacts: $(ls "$BUILD"/crash-* "$BUILD"/leak-* "$BUILD"/timeout-* "$BUILD"/oom-* 2>/dev/null | tr '\n' ' ')" >&2
    exit "$rc"
fi
echo "fuzz: clean after ${SECONDS_TO_RUN}s; corpus now $(ls "$BUILD/corpus" | wc -l) inputs (log: $BUILD/fuzz.log)"
