#!/usr/bin/env python3
"""Checks of deploy/ that need no cluster, no AWS account and no Docker daemon.

- Prometheus alert rules: YAML structure, and every siemproc_* series they
  name is one processor/metrics.h exports (SIEMPROC_METRICS).
- Grafana dashboard: valid JSON, panel ids and layout, the same series check.
- Kubernetes manifests: kubernetes-validate (offline JSON schemas, strict) for
  built-in kinds, structural checks for KEDA objects, and cross-references
  (selectors, ConfigMap/PVC/TriggerAuthentication names, consumer groups, config
  keys in the ConfigMap and SIEMPROC_* variables against processor/config.h).
- CloudFormation: cfn-lint, plus the SIEMPROC_* variables check.
- Dockerfile: stages, non-root USER, HEALTHCHECK on /healthz, schemas, no -dev
  package in the runtime stage.
- systemd units: systemd-analyze verify when present, hardening directives.

usage: check_deploy.py [--root REPO] [--skip-external]
Exit 0 when everything passes; otherwise every problem is printed, exit 1.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

SPECIAL_ENV = {"SIEMPROC_CONFIG", "SIEMPROC_SCHEMAS", "SIEMPROC_SHARED", "SIEMPROC_BIN", "SIEMPROC_SRC"}


class Checker:
    def __init__(self, root, skip_external):
        self.root = Path(root)
        self.deploy = self.root / "deploy"
        self.skip_external = skip_external
        self.problems = []
        self.series = self._series()
        self.config_keys = self._config_keys()

    def fail(self, where, what):
        self.problems.append(f"{where}: {what}")

    # ---- what the C code defines ----

    def _series(self):
        text = (self.root / "processor" / "metrics.h").read_text()
        series = {name: kind for kind, name in re.findall(
            r'X\((COUNTER|GAUGE|HISTOGRAM),\s*\w+,\s*"(siemproc_[a-z0-9_]+)"', text)}
        if not series:
            self.fail("processor/metrics.h", "no SIEMPROC_METRICS series found")
        return series

    def _config_keys(self):
        text = (self.root / "processor" / "config.h").read_text()
        keys = set(re.findall(r'X\((?:STR|INT|BOOL),\s*\w+,\s*"([a-z0-9_.]+)"', text))
        if not keys:
            self.fail("processor/config.h", "no SIEMPROC_CONFIG_KEYS found")
        return keys

    def known_metric(self, name):
        if name in self.series:
            return True
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and self.series.get(base) == "HISTOGRAM":
                return True
        return False

    def check_metric_names(self, where, text):
        for name in sorted(set(re.findall(r"\bsiemproc_[a-z0-9_]+", text))):
            if not self.known_metric(name):
                self.fail(where, f"series {name} is not exported by processor/metrics.h")

    def check_env_names(self, where, names):
        for n in names:
            if n in SPECIAL_ENV or n.startswith("SIEMPROC_KAFKA_"):
                continue
            key = n[len("SIEMPROC_"):].lower()
            if not n.startswith("SIEMPROC_") or key not in self.config_keys:
                self.fail(where, f"environment variable {n} names no configuration key")

    # ---- Prometheus rules ----

    def check_alerts(self):
        path = self.deploy / "prometheus" / "siemproc-alerts.yaml"
        where = str(path.relative_to(self.root))
        doc = yaml.safe_load(path.read_text())
        groups = doc.get("groups") if isinstance(doc, dict) else None
        if not isinstance(groups, list) or not groups:
            self.fail(where, "no groups")
            return
        seen = set()
        for g in groups:
            if not g.get("name") or not isinstance(g.get("rules"), list):
                self.fail(where, f"group {g!r} needs a name and rules")
                continue
            for r in g["rules"]:
                self._check_rule(where, r, seen)
        for required in ("lag", "dlq", "bulk", "ready"):
            if not any(required in (r.get("expr", "") + r.get("alert", "")).lower()
                       for g in groups for r in g.get("rules", [])):
                self.fail(where, f"no alert about {required}")

    def _check_rule(self, where, r, seen):
        name = r.get("alert")
        expr = r.get("expr")
        if not name or not re.fullmatch(r"[A-Z][A-Za-z0-9]+", name) or name in seen:
            self.fail(where, f"alert name {name!r} missing, not CamelCase or repeated")
        seen.add(name)
        if not isinstance(expr, str) or not expr.strip():
            self.fail(where, f"{name}: empty expr")
            return
        if not balanced(expr):
            self.fail(where, f"{name}: unbalanced brackets in expr")
        if "for" in r and not re.fullmatch(r"\d+[smhd]", str(r["for"])):
            self.fail(where, f"{name}: bad 'for' {r['for']!r}")
        if r.get("labels", {}).get("severity") not in ("warning", "critical"):
            self.fail(where, f"{name}: severity must be warning or critical")
        if not r.get("annotations", {}).get("summary"):
            self.fail(where, f"{name}: no summary annotation")
        self.check_metric_names(f"{where} {name}", expr)

    # ---- Grafana ----

    def check_dashboard(self):
        path = self.deploy / "grafana" / "siemproc-dashboard.json"
        where = str(path.relative_to(self.root))
        try:
            dash = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            self.fail(where, f"invalid JSON: {e}")
            return
        variables = {v.get("name") for v in dash.get("templating", {}).get("list", [])}
        if "datasource" not in variables:
            self.fail(where, "no datasource variable")
        ids = set()
        exprs = 0
        for p in dash.get("panels", []):
            pid, grid = p.get("id"), p.get("gridPos", {})
            if pid in ids:
                self.fail(where, f"panel id {pid} repeated")
            ids.add(pid)
            if grid.get("x", 0) + grid.get("w", 0) > 24:
                self.fail(where, f"panel {p.get('title')!r} is wider than the grid")
            if p.get("type") == "row":
                continue
            targets = p.get("targets") or []
            if not targets:
                self.fail(where, f"panel {p.get('title')!r} has no query")
            for t in targets:
                exprs += 1
                if not balanced(t.get("expr", "")):
                    self.fail(where, f"panel {p.get('title')!r}: unbalanced brackets")
                self.check_metric_names(f"{where} panel {p.get('title')!r}", t.get("expr", ""))
        for needed in ("siemproc_consumer_lag", "siemproc_records_in_total", "siemproc_parse_failures_total",
                       "siemproc_dlq_messages_total", "siemproc_bulk_duration_seconds_bucket",
                       "siemproc_s3_get_errors_total"):
            if needed not in path.read_text():
                self.fail(where, f"no panel shows {needed}")
        if exprs == 0:
            self.fail(where, "no queries")

    # ---- Kubernetes ----

    def k8s_docs(self):
        docs = []
        for path in sorted((self.deploy / "kubernetes").glob("*.yaml")):
            if path.name == "kustomization.yaml":
                continue
            for d in yaml.safe_load_all(path.read_text()):
                if d:
                    docs.append((path, d))
        return docs

    def check_kubernetes(self):
        docs = self.k8s_docs()
        kdir = self.deploy / "kubernetes"
        listed = set(yaml.safe_load((kdir / "kustomization.yaml").read_text()).get("resources", []))
        present = {p.name for p in kdir.glob("*.yaml")} - {"kustomization.yaml"}
        if listed != present:
            self.fail("deploy/kubernetes/kustomization.yaml", f"resources {sorted(listed)} != files {sorted(present)}")
        by_kind = {}
        for path, d in docs:
            by_kind.setdefault(d.get("kind"), []).append((path, d))
        self._check_k8s_refs(by_kind)
        self._check_keda(by_kind)
        self._check_configmap(by_kind)
        if not self.skip_external:
            self._kubernetes_validate([p for p in kdir.glob("*.yaml") if p.name != "kustomization.yaml"])

    def _kubernetes_validate(self, paths):
        exe = shutil.which("kubernetes-validate")
        if not exe:
            self.fail("kubernetes", "kubernetes-validate not installed")
            return
        proc = subprocess.run([exe, "-k", "1.30.0", "--strict", "--quiet", *map(str, paths)],
                              capture_output=True, text=True, timeout=300)
        for line in (proc.stdout + proc.stderr).splitlines():
            if line.startswith("ERROR") or (line.startswith("WARN") and "keda.sh" not in line):
                self.fail("kubernetes-validate", line)
        if proc.returncode != 0 and not any("kubernetes-validate" in p for p in self.problems):
            self.fail("kubernetes-validate", f"exit {proc.returncode}")

    def _check_k8s_refs(self, by_kind):
        deployments = {d["metadata"]["name"]: d for _, d in by_kind.get("Deployment", [])}
        configmaps = {d["metadata"]["name"] for _, d in by_kind.get("ConfigMap", [])}
        pvcs = {d["metadata"]["name"] for _, d in by_kind.get("PersistentVolumeClaim", [])}
        for name, d in deployments.items():
            where = f"Deployment {name}"
            spec = d["spec"]
            labels = spec["template"]["metadata"]["labels"]
            if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
                self.fail(where, "selector does not match the pod labels")
            pod = spec["template"]["spec"]
            for v in pod.get("volumes", []):
                if "configMap" in v and v["configMap"]["name"] not in configmaps:
                    self.fail(where, f"ConfigMap {v['configMap']['name']} not defined")
                if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in pvcs:
                    self.fail(where, f"PVC {v['persistentVolumeClaim']['claimName']} not defined")
            for c in pod["containers"]:
                self.check_env_names(where, [e["name"] for e in c.get("env", [])])
                probes = {c.get("livenessProbe", {}).get("httpGet", {}).get("path"),
                          c.get("readinessProbe", {}).get("httpGet", {}).get("path")}
                if probes != {"/healthz", "/readyz"}:
                    self.fail(where, "liveness must probe /healthz and readiness /readyz")
                if pod.get("securityContext", {}).get("runAsNonRoot") is not True:
                    self.fail(where, "pods must run as non-root")
            if pod.get("terminationGracePeriodSeconds", 30) < 45:
                self.fail(where, "terminationGracePeriodSeconds must exceed the 30 s shutdown drain")
        pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
        for kind, key in (("PodDisruptionBudget", "matchLabels"), ("Service", None)):
            for _, d in by_kind.get(kind, []):
                sel = d["spec"]["selector"][key] if key else d["spec"]["selector"]
                if not any(all(lbl.get(k) == v for k, v in sel.items()) for lbl in pod_labels):
                    self.fail(f"{kind} {d['metadata']['name']}", "selects no Deployment's pods")

    def _check_keda(self, by_kind):
        deployments = {d["metadata"]["name"]: d for _, d in by_kind.get("Deployment", [])}
        auths = {d["metadata"]["name"] for _, d in by_kind.get("TriggerAuthentication", [])}
        scaled = by_kind.get("ScaledObject", [])
        if not scaled:
            self.fail("kubernetes", "no KEDA ScaledObject")
        for _, d in scaled:
            where = f"ScaledObject {d['metadata']['name']}"
            spec = d.get("spec", {})
            target = deployments.get(spec.get("scaleTargetRef", {}).get("name"))
            if not target:
                self.fail(where, "scaleTargetRef names no Deployment")
                continue
            if not 1 <= spec.get("minReplicaCount", 0) <= spec.get("maxReplicaCount", 0):
                self.fail(where, "needs 1 <= minReplicaCount <= maxReplicaCount")
            component = target["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
            for t in spec.get("triggers", []):
                md = t.get("metadata", {})
                if t.get("type") not in ("kafka", "apache-kafka"):
                    self.fail(where, f"trigger type {t.get('type')!r} is not a Kafka scaler")
                for k in ("bootstrapServers", "consumerGroup", "topic", "lagThreshold"):
                    if not md.get(k):
                        self.fail(where, f"trigger without {k}")
                if not str(md.get("lagThreshold", "")).isdigit():
                    self.fail(where, "lagThreshold must be a whole number in a string")
                if md.get("consumerGroup") != f"siemproc-{component}":
                    self.fail(where, f"consumerGroup {md.get('consumerGroup')!r} is not siemproc-{component}")
                ref = t.get("authenticationRef", {}).get("name")
                if ref and ref not in auths:
                    self.fail(where, f"TriggerAuthentication {ref} not defined")

    def _check_configmap(self, by_kind):
        for _, d in by_kind.get("ConfigMap", []):
            for fname, text in d.get("data", {}).items():
                if fname.endswith(".conf"):
                    self.check_config_text(f"ConfigMap {d['metadata']['name']} {fname}", text)

    def check_config_text(self, where, text):
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, eq, _ = line.partition("=")
            key = key.strip()
            if not eq:
                self.fail(where, f"line {n}: not key = value")
            elif not key.startswith("kafka.") and key not in self.config_keys:
                self.fail(where, f"line {n}: unknown configuration key {key!r}")

    # ---- CloudFormation ----

    def check_cloudformation(self):
        path = self.deploy / "cloudformation" / "siemproc-ecs-fargate.yaml"
        where = str(path.relative_to(self.root))
        text = path.read_text()
        self.check_env_names(where, re.findall(r"Name:\s*(SIEMPROC_[A-Z0-9_]+)", text))
        for action in ("kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData",
                       "kafka-cluster:WriteData", "kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup",
                       "s3:GetObject", "es:ESHttpPost", "es:ESHttpPut"):
            if action not in text:
                self.fail(where, f"task role lacks {action}")
        if self.skip_external:
            return
        exe = shutil.which("cfn-lint")
        if not exe:
            self.fail(where, "cfn-lint not installed")
            return
        proc = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            self.fail(where, "cfn-lint:\n" + proc.stdout + proc.stderr)

    # ---- Dockerfile ----

    def check_dockerfile(self):
        path = self.deploy / "Dockerfile"
        where = str(path.relative_to(self.root))
        lines = [ln.strip() for ln in path.read_text().replace("\\\n", " ").splitlines()
                 if ln.strip() and not ln.strip().startswith("#")]
        stages, cur = [], None
        for ln in lines:
            word = ln.split()[0].upper()
            if word == "FROM":
                cur = {"from": ln, "lines": []}
                stages.append(cur)
            elif cur is not None:
                cur["lines"].append(ln)
        if len(stages) < 2:
            self.fail(where, "needs a build stage and a runtime stage")
            return
        if not all("debian:bookworm-slim" in s["from"] for s in stages):
            self.fail(where, "every stage must be debian:bookworm-slim")
        final = stages[-1]["lines"]
        user = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
        if not user or user[-1].split(":")[0] in ("0", "root"):
            self.fail(where, "the runtime stage must end as a non-root USER")
        health = [ln for ln in final if ln.upper().startswith("HEALTHCHECK")]
        if not health or "/healthz" not in health[0]:
            self.fail(where, "no HEALTHCHECK on /healthz")
        runtime_text = " ".join(final)
        if re.search(r"\blib[a-z0-9+.-]*-dev\b", runtime_text):
            self.fail(where, "the runtime stage installs -dev packages")
        if not any(ln.upper().startswith("COPY --FROM=") for ln in final):
            self.fail(where, "the runtime stage copies nothing from the build stage")
        if "SIEMPROC_SCHEMAS=/usr/share/siemproc/schemas" not in runtime_text:
            self.fail(where, "SIEMPROC_SCHEMAS is not set to /usr/share/siemproc/schemas")
        build_text = " ".join(stages[0]["lines"])
        if "/usr/share/siemproc/schemas" not in build_text or "COPY schemas/" not in build_text:
            self.fail(where, "the schemas are not installed under /usr/share/siemproc/schemas")

    # ---- systemd ----

    def check_systemd(self):
        sdir = self.deploy / "systemd"
        units = {p.name: p.read_text() for p in sdir.iterdir()}
        need = {"siemproc@.service": ("ProtectSystem=strict", "NoNewPrivileges=yes", "ExecStart=/usr/bin/siemproc run --stage %i",
                                      "TimeoutStopSec="),
                "geoipupdate.service": ("ExecStart=/usr/bin/geoipupdate", "ProtectSystem=strict"),
                "geoipupdate.timer": ("OnCalendar=", "Persistent=true")}
        for name, directives in need.items():
            if name not in units:
                self.fail("deploy/systemd", f"{name} missing")
                continue
            for d in directives:
                if d not in units[name]:
                    self.fail(f"deploy/systemd/{name}", f"no {d}")
        if "DynamicUser=yes" not in units.get("siemproc@.service", "") and "User=" not in units.get("siemproc@.service", ""):
            self.fail("deploy/systemd/siemproc@.service", "runs as root")
        env_names = re.findall(r"^Environment=(SIEMPROC_[A-Z0-9_]+)=", units.get("siemproc@.service", ""), re.M)
        self.check_env_names("deploy/systemd/siemproc@.service", env_names)
        if not self.skip_external:
            self._systemd_verify(sdir)

    def _systemd_verify(self, sdir):
        exe = shutil.which("systemd-analyze")
        if not exe:
            print("check_deploy: systemd-analyze not found: systemd units get the structural checks only")
            return
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            for p in sdir.iterdir():
                shutil.copy(p, tmp)
            inst = Path(tmp) / "siemproc@normalize.service"
            inst.symlink_to(Path(tmp) / "siemproc@.service")
            files = [str(inst), str(Path(tmp) / "geoipupdate.service"), str(Path(tmp) / "geoipupdate.timer")]
            proc = subprocess.run([exe, "verify", "--man=no", *files], capture_output=True, text=True, timeout=120)
        for line in (proc.stdout + proc.stderr).splitlines():
            # The binaries are not installed on the machine that checks.
            if re.search(r"Command /usr/bin/\S+ is not executable", line) or not line.strip():
                continue
            self.fail("systemd-analyze verify", line)

    def run(self):
        for check in (self.check_alerts, self.check_dashboard, self.check_kubernetes, self.check_cloudformation,
                      self.check_dockerfile, self.check_systemd):
            try:
                check()
            except (KeyError, TypeError, AttributeError, yaml.YAMLError, OSError) as e:
                self.fail(check.__name__, f"{type(e).__name__}: {e}")
        return self.problems


def balanced(s):
    pairs, stack = {")": "(", "]": "[", "}": "{"}, []
    in_str = None
    for ch in s:
        if in_str:
            if ch == in_str:
                in_str = None
            continue
        if ch in "\"'`":
            in_str = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in ")]}":
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack and in_str is None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
    ap.add_argument("--skip-external", action="store_true",
                    help="skip cfn-lint, kubernetes-validate and systemd-analyze (structural checks only)")
    args = ap.parse_args()
    problems = Checker(args.root, args.skip_external).run()
    for p in problems:
        print(f"check_deploy: {p}")
    print(f"check_deploy: {'FAILED, ' + str(len(problems)) + ' problem(s)' if problems else 'all deploy assets pass'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
