#!/usr/bin/env bash
# Build the libFuzzer targets with clang (build-fuzz, -DSIEMPROC_FUZZ=ON) and
# run each tests/fuzz/fuzz_*.c for SECONDS (default 20) from a seed corpus
# made of tests/fixtures and, when present, ../shared/corpus.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
# Exit status: non-zero when a build fails or any target finds a crash
# (the reproducer is kept in build-fuzz/artifacts/).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:-20}
shift || true
BUILD=${SIEMPROC_FUZZ_BUILD:-$ROOT/build-fuzz}
SHARED=${SIEMPROC_SHARED:-$ROOT/../shared}
JOBS=${JOBS:-2}

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for src in "$ROOT"/tests/fuzz/fuzz_*.c; do targets+=("$(basename "$src" .c)"); done
fi

# Only the fuzz targets (and the library) are built: a broken unit test elsewhere does not stop fuzzing.
command -v clang >/dev/null || { echo "run.sh: clang is needed for libFuzzer" >&2; exit 2; }
cmake -S "$ROOT" -B "$BUILD" -DSIEMPROC_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if ! cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}" > "$BUILD/build.log" 2>&1; then
    grep -E 'error|Error' "$BUILD/build.log" | head -20 >&2
    echo "run.sh: building the fuzz targets failed (see $BUILD/build.log)" >&2
    exit 1
fi

SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT

# Sample inputs: the fixtures, and the shared corpus when it is there.
inputs() {
    find "$ROOT/tests/fixtures" -type f -size -256k
    if [ -d "$SHARED/corpus" ]; then find "$SHARED/corpus" -type f -size -256k; fi
}

# seed DIR PREFIX_BYTES FILE: one seed, the prefix (printf escapes) then the file.
seed() {
    local out="$1/$(basename "$3")-$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')"
    { printf "$2"; cat "$3"; } > "$out"
}

# What each target reads: some take selector bytes before the payload.
make_seeds() {
    local target=$1 dir=$2 f i
    case "$target" in
    fuzz_fields)
        # byte 0: schema (0 vpcflowlogs, 1 alb, 2 s3accesslog, 3 nlb, 4 clb); byte 1: split point
        while read -r f; do
            case "$f" in
            *vpcflow*) seed "$dir" '\000\200' "$f" ;;
            *s3access*|*s3-access*) seed "$dir" '\002\200' "$f" ;;
            *elb*|*elasticloadbalancing*) for i in 001 003 004; do seed "$dir" "\\$i\\100" "$f"; done ;;
            esac
        done < <(inputs) ;;
    fuzz_json)
        while read -r f; do
            case "$f" in *cloudtrail*|*CloudTrail*|*cloudwatch*) seed "$dir" '\200' "$f" ;; esac
        done < <(inputs) ;;
    fuzz_framer)
        # byte 0: mode (0 lines, 1 multiline, 2 json); byte 1: split point
        while read -r f; do
            case "$f" in
            *.json|*cloudtrail*|*CloudTrail*) seed "$dir" '\002\177' "$f" ;;
            *) seed "$dir" '\000\177' "$f"; seed "$dir" '\001\060' "$f" ;;
            esac
        done < <(inputs) ;;
    fuzz_decode)
        # byte 0: split point; the payload gzipped (one and two members) or plain
        while read -r f; do
            seed "$dir" '\200' "$f"
            { printf '\100'; gzip -nc "$f"; } > "$dir/$(basename "$f").gz"
            { printf '\300'; gzip -nc "$f"; gzip -nc "$f"; } > "$dir/$(basename "$f").2.gz"
        done < <(inputs | head -40) ;;
    fuzz_timeparse)
        # byte 0: format (0 auto .. 6 us12h); byte 1: zone in quarter hours + 128
        i=0
        for ts in '1640000297' '1640000297123' '1.663703546405E9' '2020-12-23T01:23:45.123456Z' \
                  '2020-12-23 01:23:45+09:00' 'Feb  6 00:00:38' '06/Feb/2019:00:00:38 +0000' \
                  '210723 12:33:18' 'Sep 20, 2022, 7:12:26 PM' '[01/Aug/2019:00:24:41 +0000]'; do
            for fmt in 000 001 002 003 004 005 006; do printf "\\$fmt\\200%s" "$ts" > "$dir/ts-$i-$fmt"; done
            i=$((i + 1))
        done ;;
    fuzz_useragent)
        # one agent per seed: what each kind of rule reads
        i=0
        for ua in 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67' \
                  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1' \
                  'Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30' \
                  'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36' \
                  'Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko' \
                  '[aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.11.8]' \
                  'aws-sdk-kotlin/1.1.13 ua/2.0 os/linux#6.5' 'Mozilla/5.0 (compatible; ExampleBot/1.3; +https://example.com/bot)' \
                  'cloudformation.amazonaws.com' '-'; do
            printf '%s' "$ua" > "$dir/ua-$i"
            i=$((i + 1))
        done ;;
    *)
        while read -r f; do cp "$f" "$dir/$(basename "$f")-$RANDOM"; done < <(inputs | head -200) ;;
    esac
}

mkdir -p "$BUILD/artifacts" "$BUILD/corpus"
failed=()
for t in "${targets[@]}"; do
    bin="$BUILD/$t"
    [ -x "$bin" ] || { echo "run.sh: $t was not built" >&2; failed+=("$t"); continue; }
    mkdir -p "$SEEDS/$t" "$BUILD/corpus/$t"
    make_seeds "$t" "$SEEDS/$t"
    echo "== $t: ${SECONDS_EACH}s"
    # The first directory collects new coverage and persists across runs.
    if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
            -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
            "$BUILD/corpus/$t" "$SEEDS/$t" > "$BUILD/$t.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done' "$BUILD/$t.log" | tr '\n' ' '
        echo
    else
        echo "run.sh: $t FAILED -- see $BUILD/$t.log and $BUILD/artifacts/" >&2
        grep -E 'ERROR|SUMMARY|abort|fuzz_' "$BUILD/$t.log" | head -20 >&2 || true
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "run.sh: crashes or build problems in: ${failed[*]}" >&2
    exit 1
fi
echo "run.sh: all ${#targets[@]} targets ran ${SECONDS_EACH}s without a crash"
