#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. install build/test dependencies (Debian packages, and librdkafka 2.8.0 built from Debian's
#      source by deploy/build-librdkafka.sh; Maven/Go/PyPI downloads happen in tests/infra)
#   2. build with -Wall -Wextra -Werror and run the C unit/golden tests (ctest)
#   3. rebuild with AddressSanitizer + UndefinedBehaviorSanitizer and run them again
#   4. run every fuzz target for a short bounded time
#   5. start real Kafka, OpenSearch and an S3 server on loopback and run the pytest e2e suite
# Usage: tests/run.sh [--quick]   (--quick: steps 1-2 only)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export SIEMPROC_SHARED=${SIEMPROC_SHARED:-$ROOT/../shared}
[ -d "$SIEMPROC_SHARED" ] || echo "tests: $SIEMPROC_SHARED not found: tests that read the shared corpus will be skipped"
JOBS=$(nproc)

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
bash deploy/install-deps.sh

step "build (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS="-Werror" >/dev/null
cmake --build build -j"$JOBS"
build/siemproc version

step "unit and golden tests"
(cd build && ctest --output-on-failure -j"$JOBS")

[ "${1:-}" = "--quick" ] && exit 0

step "unit tests under ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSIEMPROC_SANITIZE=ON -DCMAKE_C_FLAGS="-Werror" >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   SIEMPROC_BIN=$ROOT/build-asan/siemproc ctest --output-on-failure -j"$JOBS")

if [ -x tests/fuzz/run.sh ]; then
  step "fuzz targets (${SIEMPROC_FUZZ_SECONDS:-15} s each)"
  tests/fuzz/run.sh "${SIEMPROC_FUZZ_SECONDS:-15}"
fi

step "ECS field table is in sync with the reference; README types table matches the schemas"
python3 tests/tools/gen_ecs_fields.py --check
python3 tests/tools/types_table.py --check README.md

step "end-to-end tests against real Kafka, OpenSearch and S3 (pytest)"
VENV=$(bash tests/infra/pyenv.sh)
export SIEMPROC_BIN=$ROOT/build/siemproc
set +e
"$VENV/bin/python" -m pytest -q tests/e2e "$@"
rc=$?
set -e
bash tests/infra/services.sh stop >/dev/null 2>&1 || true
exit $rc
