#!/usr/bin/env bash
# Build the libFuzzer targets of the engine and run one of them.
#
# Usage: fuzz/run.sh [TARGET] [RUNS] [SECONDS]
#   TARGET   decode_meter (default), capture_file or savefile (the block reader of pcap
#            files checked against libpcap); "replay" builds the plain replay
#            binaries and runs every file in fuzz/regressions/ through them
#   RUNS     executions before stopping, libFuzzer's -runs (default 10000000)
#   SECONDS  wall-clock limit, libFuzzer's -max_total_time (default 0, no limit)
#
# Needs clang with libFuzzer, pkg-config, libpcap-dev and libndpi-dev. Binaries, the seed
# corpus and the growing corpus live in build/fuzz/ (ignored by git). Inputs that crash are
# written to build/fuzz/findings/TARGET/; copy each one to fuzz/regressions/TARGET/ once
# fixed, so the test suite replays it. Extra libFuzzer flags can be passed in FUZZ_FLAGS.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo_root/build/fuzz"
target=${1:-decode_meter}
runs=${2:-10000000}
seconds=${3:-0}
CC=${CC:-clang}

engine_sources=("$repo_root"/csrc/engine/*.c)
# The package's pkg-config flags for libndpi and libpcap, as setup.py uses them.
read -r -a library_flags <<<"$(pkg-config --cflags --libs libpcap libndpi)"
common_flags=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -I"$repo_root/csrc/engine")

build_target() {
    local name=$1 mode=$2 binary
    if [[ $mode == fuzz ]]; then
        binary="$out/fuzz_$name"
        "$CC" "${common_flags[@]}" -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined -o "$binary" "$repo_root/fuzz/fuzz_$name.c" \
            "${engine_sources[@]}" "${library_flags[@]}"
    else
        binary="$out/replay_$name"
        "$CC" "${common_flags[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all \
            -o "$binary" "$repo_root/fuzz/fuzz_$name.c" "$repo_root/fuzz/replay_main.c" \
            "${engine_sources[@]}" "${library_flags[@]}"
    fi
    echo "$binary"
}

run_replay() {
    local name binary inputs
    mkdir -p "$out"
    for name in decode_meter capture_file savefile; do
        binary=$(build_target "$name" replay)
        inputs=("$repo_root/fuzz/regressions/$name"/*)
        [[ -e ${inputs[0]} ]] || continue
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            "$binary" "${inputs[@]}"
    done
}

run_fuzzer() {
    local name=$1 binary max_len corpus seeds findings seed_set=$1
    case $name in
    decode_meter) max_len=4096 ;;
    capture_file) max_len=16384 ;;
    savefile) max_len=16384 seed_set=capture_file ;;
    *) echo "run.sh: unknown target '$name': expected decode_meter, capture_file, savefile" \
            "or replay" >&2
       exit 2 ;;
    esac
    mkdir -p "$out"
    binary=$(build_target "$name" fuzz)
    seeds="$out/seeds-$name"
    corpus="$out/corpus/$name"
    findings="$out/findings/$name"
    mkdir -p "$corpus" "$findings"
    PYTHONPATH="$repo_root/tests" "${PYTHON:-python3}" "$repo_root/fuzz/make_seeds.py" "$seeds"
    # One fuzzing process, because the fuzzer shares the machine. FUZZ_FLAGS may add
    # -jobs=N -workers=N; libFuzzer then writes fuzz-N.log into build/fuzz/.
    cd "$out"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$binary" -runs="$runs" -max_total_time="$seconds" -max_len="$max_len" \
        -print_final_stats=1 -artifact_prefix="$findings/" \
        ${FUZZ_FLAGS:-} "$corpus" "$seeds/$seed_set" "$repo_root/fuzz/regressions/$name"
}

if [[ $target == replay ]]; then
    run_replay
else
    run_fuzzer "$target"
fi
