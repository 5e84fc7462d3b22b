"""deploy/ passes tests/tools/validate_deploy.sh (cfn-lint, kubernetes-validate,
systemd-analyze, structural and cross-reference checks), and those checks do
fail on the mistakes they are meant to catch (run on broken copies)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra import REPO

CACHE = Path(os.environ.get("SIEMPROC_TEST_CACHE", Path.home() / ".cache" / "siemproc-test"))
SCRIPT = REPO / "tests" / "tools" / "validate_deploy.sh"


@pytest.fixture(scope="module")
def validation():
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=1800)
    return proc


def test_deploy_assets_validate(validation):
    assert validation.returncode == 0, validation.stdout + validation.stderr
    assert "all deploy assets pass" in validation.stdout


@pytest.fixture()
def broken(tmp_path, validation):
    """A copy of what check_deploy reads, to break; returns (root, run)."""
    for rel in ("deploy", "processor/metrics.h", "processor/config.h"):
        src, dst = REPO / rel, tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    python = CACHE / "deploy-venv" / "bin" / "python"

    def run():
        proc = subprocess.run([str(python), str(REPO / "tests" / "tools" / "check_deploy.py"), "--root",
                               str(tmp_path), "--skip-external"], capture_output=True, text=True, timeout=300)
        return proc.returncode, proc.stdout

    return tmp_path, run


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_unknown_series_in_alert_rule_is_caught(broken):
    root, run = broken
    edit(root / "deploy/prometheus/siemproc-alerts.yaml", "siemproc_dlq_messages_total", "siemproc_dlq_total")
    rc, out = run()
    assert rc == 1 and "series siemproc_dlq_total is not exported" in out


def test_unknown_series_in_dashboard_is_caught(broken):
    root, run = broken
    edit(root / "deploy/grafana/siemproc-dashboard.json", "siemproc_s3_get_errors_total", "siemproc_s3_errors")
    rc, out = run()
    assert rc == 1 and "siemproc_s3_errors is not exported" in out


def test_root_user_and_missing_healthcheck_are_caught(broken):
    root, run = broken
    edit(root / "deploy/Dockerfile", "USER 10001:10001", "USER root")
    edit(root / "deploy/Dockerfile", "HEALTHCHECK --interval", "# HEALTHCHECK --interval")
    rc, out = run()
    assert rc == 1 and "non-root USER" in out and "no HEALTHCHECK" in out


def test_unknown_config_key_and_env_are_caught(broken):
    root, run = broken
    edit(root / "deploy/kubernetes/configmap.yaml", "workers = 4", "worker_threads = 4")
    edit(root / "deploy/kubernetes/deployments.yaml", "SIEMPROC_TOPICS", "SIEMPROC_TOPIC")
    rc, out = run()
    assert rc == 1 and "unknown configuration key 'worker_threads'" in out
    assert "SIEMPROC_TOPIC names no configuration key" in out


def test_keda_wrong_group_and_target_are_caught(broken):
    root, run = broken
    edit(root / "deploy/kubernetes/keda-scaledobject.yaml", "consumerGroup: siemproc-sink", "consumerGroup: sink")
    edit(root / "deploy/kubernetes/keda-scaledobject.yaml", "name: siemproc-normalize\n  minReplicaCount",
         "name: siemproc-normaliser\n  minReplicaCount")
    rc, out = run()
    assert rc == 1 and "is not siemproc-sink" in out and "scaleTargetRef names no Deployment" in out
