#!/usr/bin/env bash
# Python venv for the e2e tests: pytest, confluent-kafka, boto3, requests from PyPI.
# Idempotent: reinstalls only when requirements.txt changes. Prints the venv path.
#
# usage: tests/infra/pyenv.sh            then: "$(tests/infra/pyenv.sh)/bin/pytest" tests/e2e
SVC=pyenv
source "$(dirname "$0")/lib.sh"

VENV=${SIEMPROC_TEST_VENV:-$CACHE/venv}
REQ=$INFRA_DIR/requirements.txt

setup_venv() {
    local want have t0
    want=$( (cat "$REQ"; python3 --version) | sha256sum | cut -d' ' -f1)
    have=$(cat "$VENV/.req-sha256" 2>/dev/null || true)
    [[ $want == "$have" && -x $VENV/bin/python ]] && return 0
    t0=$(date +%s%N)
    log "creating venv $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
    timeout "${SIEMPROC_DOWNLOAD_TIMEOUT:-900}" "$VENV/bin/pip" install -q \
        --cache-dir "$CACHE/pip" -r "$REQ" >&2 || { rm -rf "$VENV"; die "pip install failed"; }
    echo "$want" >"$VENV/.req-sha256"
    log "venv ready in $(elapsed_since "$t0")s"
}

with_lock venv setup_venv
echo "$VENV"
