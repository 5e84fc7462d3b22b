#!/usr/bin/env bash
# Install every Debian/Ubuntu package siemproc's build and tests need, then
# build the librdkafka siemproc links (deploy/build-librdkafka.sh: 2.8.0 from
# Debian's source, into /opt/siemproc or ~/.cache/siemproc; see its header).
# Idempotent: packages already installed are skipped without touching apt,
# and an existing librdkafka build is kept.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libjansson-dev zlib1g-dev libmaxminddb-dev libcurl4-openssl-dev libssl-dev
  libzstd-dev
  clang mmdb-bin
  python3 python3-venv python3-pip
  openjdk-17-jre-headless maven golang-go curl ca-certificates procps unzip
)
# Services the e2e tests start need Java 17 (Kafka, OpenSearch) and Go (MinIO);
# a machine that already has them from elsewhere keeps its own.
have() { command -v "$1" >/dev/null 2>&1; }

missing=()
for p in "${PACKAGES[@]}"; do
  case "$p" in
    openjdk-17-jre-headless) have java && continue ;;
    maven) have mvn && continue ;;
    golang-go) have go && continue ;;
    python3) have python3 && continue ;;
    python3-venv|python3-pip) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi

# Built as the calling user: /opt/siemproc when writable, else ~/.cache/siemproc.
bash "$(dirname "$0")/build-librdkafka.sh"
