#!/usr/bin/env bash
# Validate deploy/ without a cluster, an AWS account or a Docker daemon:
# cfn-lint on the CloudFormation template, kubernetes-validate (offline
# schemas) on the manifests, systemd-analyze verify on the units, and the
# structural and cross-reference checks of tests/tools/check_deploy.py
# (alert rules and dashboard name only series processor/metrics.h exports,
# config keys exist, Dockerfile stages/USER/HEALTHCHECK, ...).
# The linters live in their own venv ($SIEMPROC_TEST_CACHE/deploy-venv),
# installed from PyPI on first use and whenever deploy-requirements.txt changes.
# usage: tests/tools/validate_deploy.sh [--skip-external]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${SIEMPROC_TEST_CACHE:-$HOME/.cache/siemproc-test}
VENV=$CACHE/deploy-venv
REQ=$ROOT/tests/tools/deploy-requirements.txt
mkdir -p "$CACHE"

setup_venv() {
    local want have
    want=$( (cat "$REQ"; python3 --version) | sha256sum | cut -d' ' -f1)
    have=$(cat "$VENV/.req-sha256" 2>/dev/null || true)
    [[ $want == "$have" && -x $VENV/bin/python ]] && return 0
    echo "validate_deploy: creating $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    timeout "${SIEMPROC_DOWNLOAD_TIMEOUT:-900}" "$VENV/bin/pip" install -q --cache-dir "$CACHE/pip" -r "$REQ" >&2 \
        || { rm -rf "$VENV"; echo "validate_deploy: pip install failed" >&2; exit 1; }
    echo "$want" >"$VENV/.req-sha256"
}

(
    flock -w 900 9 || { echo "validate_deploy: venv lock timeout" >&2; exit 1; }
    setup_venv
) 9>"$CACHE/.deploy-venv.lock"

PATH=$VENV/bin:$PATH exec "$VENV/bin/python" "$ROOT/tests/tools/check_deploy.py" --root "$ROOT" "$@"
