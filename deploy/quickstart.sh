#!/usr/bin/env bash
# First run on a fresh Debian/Ubuntu machine: install the build dependencies,
# build siemproc, and run the main job on its built-in default (the sample
# logs bundled in tests/fixtures; no Kafka, OpenSearch or AWS account needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target siemproc
if build/siemproc run --help >/dev/null 2>&1; then
  exec build/siemproc run "$@"
fi
echo "quickstart: normalizing the bundled sample logs with 'siemproc parse' (ECS JSON on stdout, summary on stderr)" >&2
find tests/fixtures -type f ! -name '*.md' | sort | while read -r f; do
  build/siemproc parse "$f" || true
done
