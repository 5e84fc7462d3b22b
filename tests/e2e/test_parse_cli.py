"""`siemproc parse`: golden tests over the shared corpus and the CLI contract.

Corpus tests (skipped with a message when ../shared/corpus is absent): every
record of the VPC Flow Logs, CloudTrail, ELB and S3 access samples is
accounted for (parsed, skipped with a reason, or failed with file:line), every
document is valid JSON whose ECS fields have the types schemas/ecs_fields.tsv
gives, ids are deterministic and unique, and the fields Elastic's expected
outputs share with ours agree.

CLI tests run on tests/fixtures (always present): gzip by magic bytes, stdin,
--bulk, --s3-key detection, CloudWatch Logs subscription payloads,
--log-group, --cloudfront-realtime-fields, exit codes, error reporting and the
summary line; GeoIP with MaxMind's test databases from ../shared/testdata.

The binary is $SIEMPROC_BIN (ctest sets it), else build/siemproc.
"""
import gzip
import ipaddress
import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SIEMPROC_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
GEOIP_DATA = SHARED / "testdata" / "geoip"
FIXTURES = REPO / "tests" / "fixtures"
AWSLOGS = FIXTURES / "AWSLogs" / "123456789012"
FX_VPC = next((AWSLOGS / "vpcflowlogs").rglob("*.log"), None)
FX_TRAIL = next((AWSLOGS / "CloudTrail").rglob("*.json"), None)
FX_ALB = next((AWSLOGS / "elasticloadbalancing").rglob("*_app.*.log"), None)
FX_CLB = next((AWSLOGS / "elasticloadbalancing").rglob("*_web-clb_*.log"), None)
FX_S3 = next((FIXTURES / "s3-access-logs").glob("*"), None)
FX_CWL = FIXTURES / "cloudwatch-logs" / "cwl-subscription-vpcflow.json"
TIMEOUT = 120


# ---- running the binary ------------------------------------------------------

def siemproc_bin():
    path = Path(os.environ.get("SIEMPROC_BIN", REPO / "build" / "siemproc"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"siemproc binary not found at {path}: build it, or set SIEMPROC_BIN")
    return str(path)


class Run:
    """One `siemproc parse` run: exit code, documents, stderr, summary counts."""

    def __init__(self, args, stdin=None):
        proc = subprocess.run([siemproc_bin(), "parse", *map(str, args)], input=stdin,
                              capture_output=True, timeout=TIMEOUT)
        assert proc.returncode >= 0, f"siemproc died of signal {-proc.returncode}: {proc.stderr.decode()[-2000:]}"
        self.rc = proc.returncode
        self.stdout = proc.stdout.decode()
        self.stderr = proc.stderr.decode()
        for sanitizer in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert sanitizer not in self.stderr, f"sanitizer report:\n{self.stderr[-4000:]}"
        self.lines = self.stdout.splitlines()
        self.summary = parse_summary(self.stderr)

    def docs(self):
        return [strict_json(line) for line in self.lines]

    def bulk_pairs(self):
        assert len(self.lines) % 2 == 0, "--bulk output must be action/document pairs"
        return [(strict_json(a), strict_json(d)) for a, d in zip(self.lines[::2], self.lines[1::2])]


def parse_summary(stderr):
    m = re.search(r"^summary: parsed=(\d+) skipped=(\d+) failed=(\d+) objects=(\d+) "
                  r"objects_skipped=(\d+) objects_failed=(\d+)$", stderr, re.M)
    if not m:
        return None          # the run stopped before reading input (usage, schema or geoip errors)
    keys = ("parsed", "skipped", "failed", "objects", "objects_skipped", "objects_failed")
    return dict(zip(keys, map(int, m.groups())))


def strict_json(text):
    """json.loads that also rejects duplicate keys."""
    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys in {text[:200]}"
        return dict(pairs)
    return json.loads(text, object_pairs_hook=no_dups)


def without_volatile(doc):
    doc = json.loads(json.dumps(doc))
    doc.get("event", {}).pop("ingested", None)
    return doc


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, path + "."))
        else:
            out[path] = v
    return out


# ---- ECS type checks -----------------------------------------------------------

def load_ecs():
    fields = {}
    for line in (REPO / "schemas" / "ecs_fields.tsv").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        allowed = set(cols[3].split(",")) if len(cols) > 3 and cols[3] else None
        fields[cols[0]] = (cols[1], cols[2] == "1", allowed)
    return fields


ECS = load_ecs()
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
STRING_TYPES = {"keyword", "wildcard", "constant_keyword", "text", "match_only_text"}


def scalar_problem(path, ftype, v):
    if ftype in STRING_TYPES:
        return None if isinstance(v, str) else "not a string"
    if ftype == "long":
        return None if isinstance(v, int) and not isinstance(v, bool) else "not an integer"
    if ftype in ("float", "scaled_float", "double", "half_float"):
        return None if isinstance(v, (int, float)) and not isinstance(v, bool) else "not a number"
    if ftype == "boolean":
        return None if isinstance(v, bool) else "not a boolean"
    if ftype == "date":
        return None if isinstance(v, str) and ISO_DATE.match(v) else "not an ISO 8601 date"
    if ftype == "ip":
        try:
            ipaddress.ip_address(v)
            return None
        except (ValueError, TypeError):
            return "not an IP address"
    if ftype == "geo_point":
        ok = isinstance(v, dict) and all(isinstance(v.get(k), (int, float)) for k in ("lat", "lon"))
        return None if ok else "not a geo_point"
    if ftype in ("object", "flattened", "nested"):
        return None if isinstance(v, (dict, list)) else "not an object"
    return f"unexpected ECS type {ftype}"


def ecs_problems(doc):
    """Every leaf of doc checked against ECS: type, array-ness, allowed values.
    Fields outside ECS are allowed only under aws.*."""
    problems = []

    def check(path, v):
        ftype, is_array, allowed = ECS[path]
        values = v if isinstance(v, list) else [v]
        if is_array and not isinstance(v, list):
            problems.append(f"{path}: ECS says array, got {v!r}")
        if not is_array and isinstance(v, list) and ftype not in ("nested", "object", "flattened"):
            problems.append(f"{path}: ECS says scalar, got a list")
        for x in values:
            p = scalar_problem(path, ftype, x)
            if p:
                problems.append(f"{path}: {p}: {x!r}")
            elif allowed and x not in allowed:
                problems.append(f"{path}: {x!r} is not an allowed value")

    def walk(node, path):
        if path in ECS:
            check(path, node)
        elif path == "aws" or path.startswith("aws."):
            return
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k)
        else:
            problems.append(f"{path}: not an ECS field and not under aws.*")

    walk(doc, "")
    for required in ("@timestamp", "ecs.version", "event.dataset", "event.module", "cloud.provider"):
        if required not in flatten(doc):
            problems.append(f"{required}: missing")
    return problems


def assert_ecs(docs, where):
    problems = [f"{where} doc {i + 1}: {p}" for i, d in enumerate(docs) for p in ecs_problems(d)]
    assert not problems, "\n".join(problems[:40])


# ---- corpus ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus():
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent: the corpus golden tests need ../shared/corpus")
    return CORPUS


def records_of(path):
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


def write_records(path, lines):
    """One record a line; returns path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


ALB_TYPES = {"http", "https", "h2", "ws", "wss", "grpcs"}
# An ALB connection-log line: time, client ip, client port, listener port, ...
CONN_LOG = re.compile(r"^\d{4}-\d\d-\d\dT\S+ [0-9A-Fa-f.:]+ \d+ \d+ ")


def elb_kind(line):
    first = line.split(" ", 1)[0]
    if first in ALB_TYPES:
        return "alb"
    if first == "tls":
        return "nlb"
    if CONN_LOG.match(line):
        return "alb-connection-log"
    return "clb"


def elb_split(corpus, tmp_path):
    """The ELB samples mix ALB, NLB, Classic LB and ALB connection-log lines:
    one file per kind and source file, so each runs with its own --type."""
    out = {}
    for src in sorted((corpus / "elb").rglob("*.log")):
        groups = {}
        for line in records_of(src):
            groups.setdefault(elb_kind(line), []).append(line)
        for kind, lines in groups.items():
            out.setdefault(kind, []).append(write_records(tmp_path / kind / src.name, lines))
    return out


def check_ids(args, files):
    """Ids are the same on a second run and unique within each file -- unless
    the records themselves carry the same event id (a CloudTrail eventID is
    the document id, and two anonymised corpus samples share one)."""
    first = Run(["--bulk", *args, *files])
    second = Run(["--bulk", *args, *files])
    ids1 = [a["index"]["_id"] for a, _ in first.bulk_pairs()]
    ids2 = [a["index"]["_id"] for a, _ in second.bulk_pairs()]
    assert ids1 == ids2, "document ids differ between two runs over the same input"
    for f in files:
        seen = {}
        for action, doc in Run(["--bulk", *args, f]).bulk_pairs():
            _id, event_id = action["index"]["_id"], doc["event"].get("id")
            if _id in seen:
                assert event_id is not None and seen[_id] == event_id, f"{f}: duplicate id {_id}"
            seen[_id] = event_id


def none_skipped(line):
    return False


def run_type(type_name, files, expect_skipped=none_skipped):
    """Parse each file with --type and account for every record."""
    all_docs = []
    for f in files:
        recs = records_of(f)
        skipped = sum(1 for r in recs if expect_skipped(r))
        r = Run(["--type", type_name, f])
        assert r.rc == 0, f"{f}: exit {r.rc}\n{r.stderr}"
        failures = [line for line in r.stderr.splitlines() if line.startswith("siemproc: ")]
        assert not failures, f"{f}: records failed:\n" + "\n".join(failures)
        s = r.summary
        assert (s["parsed"], s["skipped"], s["failed"]) == (len(recs) - skipped, skipped, 0), f"{f}: {s}"
        docs = r.docs()
        assert len(docs) == s["parsed"]
        assert_ecs(docs, f.name)
        for d in docs:
            assert d["event"]["dataset"].startswith("aws."), d["event"]
        all_docs += docs
    return all_docs


def not_a_cloudtrail_event(line):
    # The digest file record and the 3-field update-lambda fragment have no
    # eventVersion (nor eventTime/eventID): the schema's "require" skips them
    # as "not an event" -- counted, never indexed without a timestamp.
    return "eventVersion" not in json.loads(line)


def check_corpus_type(type_name, files, dataset, expect_skipped=none_skipped):
    """Every record of the files accounted for, every document of the dataset,
    ids deterministic and unique. Returns the documents."""
    assert files
    docs = run_type(type_name, files, expect_skipped)
    assert all(d["event"]["dataset"] == dataset for d in docs)
    check_ids(["--type", type_name], files)
    return docs


@pytest.mark.parametrize("subdir,type_name,dataset,expect_skipped", [
    ("vpcflow", "vpcflowlogs", "aws.vpcflow", none_skipped),
    ("cloudtrail", "cloudtrail", "aws.cloudtrail", not_a_cloudtrail_event),
    ("s3access", "s3accesslog", "aws.s3access", none_skipped),
])
def test_corpus_type(corpus, subdir, type_name, dataset, expect_skipped):
    check_corpus_type(type_name, sorted((corpus / subdir).rglob("*.log")), dataset, expect_skipped)


@pytest.mark.parametrize("kind", ["alb", "nlb", "clb"])
def test_corpus_elb(corpus, tmp_path, kind):
    files = elb_split(corpus, tmp_path).get(kind, [])
    assert files, f"no {kind} lines in the corpus"
    for d in check_corpus_type(kind, files, "aws.elb"):
        assert "source" in d and ("ip" in d["source"] or "address" in d["source"]), d


def test_corpus_alb_connection_log_lines_fail(corpus, tmp_path):
    """ALB connection logs are a different log, not supported: given as ALB
    access logs, each line is an expected failure, reported with file:line."""
    files = elb_split(corpus, tmp_path).get("alb-connection-log", [])
    assert files, "the corpus has no ALB connection-log lines any more"
    for f in files:
        n = len(records_of(f))
        r = Run(["--type", "alb", f])
        assert r.rc == 0
        assert (r.summary["parsed"], r.summary["failed"]) == (0, n), r.summary
        for i in range(1, n + 1):
            assert f"{f}:{i}: alb: " in r.stderr


GOLDEN_FIELDS = ["@timestamp", "source.ip", "source.port", "destination.ip", "destination.port",
                 "network.transport", "network.iana_number", "network.bytes", "network.packets",
                 "event.action", "event.outcome", "user.name", "cloud.account.id"]


def same_value(field, want, got):
    if field == "@timestamp":
        parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
        return got is not None and parse(want) == parse(got)
    return want == got


@pytest.mark.parametrize("rel,type_name", [
    ("vpcflow/test-tgw-samples.log", "vpcflowlogs"),
    ("vpcflow/test-v5-all-fields.log", "vpcflowlogs"),
    ("cloudtrail/test-console-login-json.log", "cloudtrail"),
    ("cloudtrail/test-assume-role-aws-service-json.log", "cloudtrail"),
])
def test_corpus_expected_outputs(corpus, rel, type_name):
    """Where Elastic's expected document has one of the compared fields, ours
    has the same value (Elastic's own additions, e.g. geo, are not compared)."""
    expected = json.loads((corpus / (rel + "-expected.json")).read_text())["expected"]
    docs = Run(["--type", type_name, corpus / rel]).docs()
    assert len(docs) == len(expected)
    diffs = []
    for i, (want, got) in enumerate(zip(expected, docs)):
        fw, fg = flatten(want), flatten(got)
        for field in GOLDEN_FIELDS:
            if field in fw and not same_value(field, fw[field], fg.get(field)):
                diffs.append(f"record {i + 1} {field}: expected {fw[field]!r}, got {fg.get(field)!r}")
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize("rel", ["vpcflow/test-tgw-samples.log", "vpcflow/test-v5-all-fields.log"])
def test_corpus_community_id_agrees_with_elastic(corpus, rel):
    """network.community_id is the one Elastic's pipeline computes for the same
    record. Where the two addresses are of different families (the TGW sample's
    synthetic IPv4-to-IPv6 records) there is no flow any monitor could see, and
    no id; Elastic's pipeline hashes them anyway."""
    expected = json.loads((corpus / (rel + "-expected.json")).read_text())["expected"]
    docs = Run(["--type", "vpcflowlogs", corpus / rel]).docs()
    assert len(docs) == len(expected)
    same, none = 0, 0
    for i, (want, got) in enumerate(zip(expected, docs)):
        fw, fg = flatten(want), flatten(got)
        if "network.community_id" not in fw:
            continue
        families = {ipaddress.ip_address(fg[f]).version for f in ("source.ip", "destination.ip")}
        if len(families) == 1:
            assert fg.get("network.community_id") == fw["network.community_id"], f"record {i + 1}"
            same += 1
        else:
            assert "network.community_id" not in fg, f"record {i + 1}"
            none += 1
    assert same >= 1
    if "tgw" in rel:
        assert (same, none) == (8, 2)


def test_corpus_bulk_index_name(corpus):
    r = Run(["--bulk", "--type", "cloudtrail", corpus / "cloudtrail" / "test-console-login-json.log"])
    pairs = r.bulk_pairs()
    assert pairs and all(a["index"]["_index"] == "log-aws-cloudtrail-2014-07" for a, _ in pairs)
    assert [a["index"]["_id"] for a, _ in pairs] == [d["event"]["id"] for _, d in pairs]


# ---- CLI contract on the fixtures ------------------------------------------------

def fixture_records(path):
    return len(records_of(path))


def test_fixtures_detected_and_valid():
    """The bundled samples (the README's first command) parse without --type:
    the AWS object names alone say what they are."""
    files = [FX_VPC, FX_TRAIL, FX_ALB, FX_CLB, FX_S3, FX_CWL]
    assert all(f and f.is_file() for f in files), files
    r = Run(files)
    assert r.rc == 0, r.stderr
    assert r.summary["failed"] == 0 and r.summary["objects"] == len(files), r.stderr
    docs = r.docs()
    assert_ecs(docs, "fixtures")
    datasets = {d["event"]["dataset"] for d in docs}
    assert datasets == {"aws.vpcflow", "aws.cloudtrail", "aws.elb", "aws.s3access"}
    # cloud.account.id and cloud.region come from the AWSLogs/<account>/<service>/<region>/ path.
    for d in docs:
        if d["event"]["dataset"] == "aws.s3access" or "cloudwatch" in d["aws"]:
            continue        # their paths hold no AWSLogs/<account>/<service>/<region>/
        assert d["cloud"]["account"]["id"] == "123456789012", d
        assert d["cloud"]["region"] == "us-east-1", d
    # A local path is not an S3 key: it is not emitted.
    assert not any("s3" in d.get("aws", {}) for d in docs)


def test_summary_adds_up():
    files = [FX_VPC, FX_ALB, FX_CLB, FX_S3]
    r = Run(files)
    records = sum(fixture_records(f) for f in files) - 1     # the VPC header line is framing, not a record
    s = r.summary
    assert s["parsed"] + s["skipped"] + s["failed"] == records, s
    assert len(r.lines) == s["parsed"]
    for t, n in (("vpcflowlogs", 8), ("alb", 5), ("clb", 4), ("s3accesslog", 4)):
        assert f"summary: type={t} parsed={n} skipped=0 failed=0" in r.stderr


def test_cloudtrail_records_document():
    r = Run([FX_TRAIL])
    docs = r.docs()
    assert len(docs) == 3
    by_action = {d["event"]["action"]: d for d in docs}
    login = by_action["ConsoleLogin"]
    assert login["source"]["ip"] == "81.2.69.142" and login["user"]["name"] == "alice"
    assert login["event"]["outcome"] == "success" and login["event"]["category"] == ["authentication"]
    denied = by_action["CreateAccessKey"]
    assert denied["event"]["outcome"] == "failure" and denied["error"]["code"] == "AccessDenied"
    # A service principal in sourceIPAddress is a name, never put in an ip field.
    service = by_action["AssumeRole"]
    assert "ip" not in service["source"] and service["source"]["domain"] == "ec2.amazonaws.com"
    assert "ec2.amazonaws.com" not in service.get("related", {}).get("ip", [])


def test_gzip_detected_by_magic_bytes(tmp_path):
    plain = Run(["--type", "cloudtrail", FX_TRAIL])
    packed = tmp_path / "cloudtrail-records"            # no .gz in the name
    packed.write_bytes(gzip.compress(FX_TRAIL.read_bytes()))
    r = Run(["--type", "cloudtrail", packed])
    assert r.rc == 0
    assert [without_volatile(d) for d in r.docs()] == [without_volatile(d) for d in plain.docs()]
    # Multi-member gzip (how multi-part writers concatenate) decodes whole.
    data = FX_VPC.read_bytes()
    half = data.index(b"\n", len(data) // 2) + 1
    multi = tmp_path / "vpc-multi"
    multi.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    assert len(Run(["--type", "vpcflowlogs", multi]).docs()) == len(Run(["--type", "vpcflowlogs", FX_VPC]).docs())


def test_stdin(tmp_path):
    copy = tmp_path / "flows.log"          # a path that says nothing (the fixture's gives cloud.region)
    shutil.copy(FX_VPC, copy)
    from_file = Run(["--type", "vpcflowlogs", copy])
    r = Run(["--type", "vpcflowlogs", "-"], stdin=FX_VPC.read_bytes())
    assert r.rc == 0 and r.summary["parsed"] == from_file.summary["parsed"] == 8
    assert [without_volatile(d) for d in r.docs()] == [without_volatile(d) for d in from_file.docs()]
    # With no file argument, stdin is read too; gzip works there as well.
    r = Run(["--type", "vpcflowlogs"], stdin=gzip.compress(FX_VPC.read_bytes()))
    assert r.summary["parsed"] == 8


def test_bulk_output():
    r = Run(["--bulk", FX_TRAIL, FX_VPC])
    pairs = r.bulk_pairs()
    assert len(pairs) == 3 + 8
    for action, doc in pairs:
        assert list(action) == ["index"] and set(action["index"]) == {"_index", "_id"}
        assert "@timestamp" in doc
    trail = [(a, d) for a, d in pairs if d["event"]["dataset"] == "aws.cloudtrail"]
    assert {a["index"]["_index"] for a, _ in trail} == {"log-aws-cloudtrail-2026-11"}
    assert [a["index"]["_id"] for a, _ in trail] == [d["event"]["id"] for _, d in trail]
    vpc = [a for a, d in pairs if d["event"]["dataset"] == "aws.vpcflow"]
    assert {a["index"]["_index"] for a in vpc} == {"log-aws-vpcflowlogs-2026-11"}


def custom_vpc_object():
    """A custom-format VPC object: its header has no account-id column."""
    lines = ["version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
             "2 eni-0a1b2c3d4e5f60718 81.2.69.142 10.0.1.25 51234 443 6 12 4308 1795837800 1795837860 ACCEPT OK",
             "2 eni-0a1b2c3d4e5f60718 10.0.1.25 81.2.69.142 443 51234 6 10 18740 1795837800 1795837860 ACCEPT OK"]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def test_s3_key_detection_vpcflow(tmp_path):
    f = tmp_path / "object"
    f.write_bytes(custom_vpc_object())
    key = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log.gz"
    r = Run(["--s3-key", key, f])
    assert r.rc == 0, r.stderr
    docs = r.docs()
    assert len(docs) == 2
    for d in docs:
        assert d["event"]["dataset"] == "aws.vpcflow"
        assert d["cloud"]["account"]["id"] == "123456789012" and d["cloud"]["region"] == "us-east-1"
        assert d["aws"]["s3"]["object"]["key"] == key
    assert_ecs(docs, "s3-key vpcflow")


def test_s3_key_detection_cloudtrail(tmp_path):
    f = tmp_path / "object"
    f.write_bytes(gzip.compress(FX_TRAIL.read_bytes()))
    key = ("AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/"
           "123456789012_CloudTrail_us-east-1_20261128T0355Z_Qm7xT2vL9pRkW4sZ.json.gz")
    r = Run(["--s3-key", key, f])
    assert r.rc == 0 and r.summary["parsed"] == 3
    assert {d["event"]["dataset"] for d in r.docs()} == {"aws.cloudtrail"}


def test_s3_key_cloudtrail_digest_skipped(tmp_path):
    f = tmp_path / "object"
    digest = {"awsAccountId": "123456789012", "digestStartTime": "2026-11-28T02:55:22Z",
              "digestEndTime": "2026-11-28T03:55:22Z", "digestS3Bucket": "trail-bucket", "logFiles": []}
    f.write_bytes(gzip.compress(json.dumps(digest).encode()))
    key = ("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/28/"
           "123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20261128T035522Z.json.gz")
    r = Run(["--s3-key", key, f])
    assert r.rc == 0 and r.lines == []
    assert "skipped" in r.stderr
    assert r.summary["objects_skipped"] == 1 and r.summary["parsed"] == 0


def cwl_payload(group, messages, message_type="DATA_MESSAGE", owner="123456789012"):
    events = [{"id": str(36000000000000000000000000000000000000000000000000000000 + i),
               "timestamp": 1795837985000 + i, "message": m} for i, m in enumerate(messages)]
    body = {"messageType": message_type, "owner": owner, "logGroup": group, "logStream": "stream-1",
            "subscriptionFilters": ["siem"], "logEvents": events}
    return gzip.compress(json.dumps(body).encode())


VPC_LINES = ["2 123456789012 eni-0a1b2c3d4e5f60718 89.160.20.112 10.0.1.25 51240 443 6 8 2960 1795837920 1795837980 ACCEPT OK",
             "2 123456789012 eni-0a1b2c3d4e5f60718 216.160.83.56 10.0.1.25 47001 3389 6 2 120 1795837920 1795837980 REJECT OK"]


def test_cwl_subscription_payloads(tmp_path):
    vpc = tmp_path / "payload-1"
    vpc.write_bytes(cwl_payload("/aws/vpc/vpcflow-prod", VPC_LINES))
    r = Run([vpc])
    assert r.rc == 0, r.stderr
    docs = r.docs()
    assert len(docs) == 2
    assert all(d["aws"]["cloudwatch"]["log_group"] == "/aws/vpc/vpcflow-prod" for d in docs)
    assert [d["source"]["ip"] for d in docs] == ["89.160.20.112", "216.160.83.56"]
    ids = [a["index"]["_id"] for a, _ in Run(["--bulk", vpc]).bulk_pairs()]
    assert len(set(ids)) == 2 and ids == [a["index"]["_id"] for a, _ in Run(["--bulk", vpc]).bulk_pairs()]
    events = [json.dumps(rec) for rec in json.loads(FX_TRAIL.read_text())["Records"]]
    trail = tmp_path / "payload-2"
    trail.write_bytes(cwl_payload("aws-cloudtrail-logs-123456789012-0a1b2c3d", events))
    r = Run([trail])
    assert r.rc == 0 and r.summary["parsed"] == 3
    assert {d["event"]["dataset"] for d in r.docs()} == {"aws.cloudtrail"}
    assert_ecs(r.docs(), "cwl cloudtrail")
    control = tmp_path / "payload-3"
    control.write_bytes(cwl_payload("", ["CWL CONTROL MESSAGE: Checking health of destination Firehose."],
                                    message_type="CONTROL_MESSAGE"))
    r = Run([control])
    assert r.rc == 0 and r.lines == [] and r.summary["objects_skipped"] == 1
    # Firehose writes payloads back to back in one object (here as gzip
    # members), each with its own log group; control messages among them are
    # skipped, data payloads are not.
    firehose = tmp_path / "firehose-object"
    firehose.write_bytes(vpc.read_bytes() + control.read_bytes() + trail.read_bytes())
    r = Run([firehose])
    assert r.rc == 0, r.stderr
    assert r.summary["parsed"] == 5 and r.summary["objects_skipped"] == 0
    assert [d["event"]["dataset"] for d in r.docs()] == ["aws.vpcflow"] * 2 + ["aws.cloudtrail"] * 3
    assert "summary: type=vpcflowlogs parsed=2" in r.stderr and "summary: type=cloudtrail parsed=3" in r.stderr
    # A bad event is reported by its number in the object.
    bad = tmp_path / "payload-4"
    bad.write_bytes(vpc.read_bytes() + cwl_payload("/aws/vpcflow/x", [VPC_LINES[0], "2 short line"]))
    r = Run([bad])
    assert r.rc == 0 and f"{bad}:4: vpcflowlogs: " in r.stderr
    assert (r.summary["parsed"], r.summary["failed"]) == (3, 1)
    # The bundled CWL fixture (plain JSON) goes the same way.
    r = Run([FX_CWL])
    assert r.rc == 0 and r.summary["parsed"] == 3 and r.summary["failed"] == 0


def test_log_group_override(tmp_path):
    f = tmp_path / "payload"
    f.write_bytes(cwl_payload("mystery-group", VPC_LINES))
    r = Run([f])
    assert r.rc == 2 and "mystery-group" in r.stderr
    r = Run(["--log-group", "/aws/vpcflow/prod", f])
    assert r.rc == 0 and r.summary["parsed"] == 2
    assert all(d["aws"]["cloudwatch"]["log_group"] == "/aws/vpcflow/prod" for d in r.docs())
    # A plain file whose path says nothing: the log group decides.
    plain = write_records(tmp_path / "export.txt", VPC_LINES)
    assert Run([plain]).rc == 2
    assert Run(["--log-group", "/aws/vpcflow/prod", plain]).summary["parsed"] == 2


def test_cloudfront_realtime_fields(tmp_path):
    """--cloudfront-realtime-fields (the stages' cloudfront_realtime_fields): a
    real-time log configuration with fewer fields, in its own order; without
    it the documented order; a field CloudFront does not log is an error that
    names the setting and the value, before any input is read."""
    f = tmp_path / "realtime.log"
    f.write_text("1709290200.123\t404\t198.51.100.7\t/img/x.png\n")
    fields = "timestamp,sc-status,c-ip,cs-uri-stem"
    r = Run(["--type", "cloudfront-realtime", "--cloudfront-realtime-fields", fields, f])
    assert r.rc == 0 and r.summary["parsed"] == 1, r.stderr
    d = r.docs()[0]
    assert (d["source"]["ip"], d["http"]["response"]["status_code"], d["url"]["path"]) == ("198.51.100.7", 404, "/img/x.png")
    assert d["@timestamp"] == "2024-03-01T10:50:00.123Z"
    r = Run(["--type", "cloudfront-realtime", f])          # the documented 40 fields: too few columns
    assert r.rc == 0 and (r.summary["parsed"], r.summary["failed"]) == (0, 1)
    r = Run(["--type", "cloudfront-realtime", "--cloudfront-realtime-fields", "timestamp,sc-status,c-ipp", f])
    assert r.rc == 2 and r.summary is None
    assert 'cloudfront_realtime_fields: unknown field "c-ipp" in "timestamp,sc-status,c-ipp"' in r.stderr


def test_unknown_type_exit_2():
    r = Run(["--type", "no-such-type", FX_VPC])
    assert r.rc == 2 and "no-such-type" in r.stderr


def test_undeterminable_type_exit_2(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("nothing here says what this is\n")
    r = Run([f])
    assert r.rc == 2 and "cannot determine" in r.stderr and str(f) in r.stderr


def test_missing_file_exit_1_and_run_continues(tmp_path):
    missing = tmp_path / "absent.log"
    r = Run(["--type", "vpcflowlogs", missing, FX_VPC])
    assert r.rc == 1 and str(missing) in r.stderr
    assert r.summary["parsed"] == 8          # the file after it was still processed


def test_truncated_and_corrupt_gzip_exit_1(tmp_path):
    big = "\n".join(VPC_LINES * 2000).encode()
    packed = gzip.compress(big)
    cut = tmp_path / "truncated"
    cut.write_bytes(packed[: len(packed) // 2])
    r = Run(["--type", "vpcflowlogs", cut])
    assert r.rc == 1 and "truncated" in r.stderr and str(cut) in r.stderr
    assert r.summary["objects_failed"] == 1
    bad = bytearray(packed)
    bad[len(bad) // 3] ^= 0xFF
    corrupt = tmp_path / "corrupt"
    corrupt.write_bytes(bytes(bad))
    r = Run(["--type", "vpcflowlogs", corrupt])
    assert r.rc == 1 and r.summary["objects_failed"] == 1
    assert "corrupt" in r.stderr or "truncated" in r.stderr


def test_bad_record_reported_counted_and_run_continues(tmp_path):
    f = tmp_path / "flows.log"
    f.write_text(VPC_LINES[0] + "\n" + "2 123456789012 eni-bad only five\n" + VPC_LINES[1] + "\n"
                 + "2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - notatime alsonot - NODATA\n")
    r = Run(["--type", "vpcflowlogs", f])
    assert r.rc == 0
    assert f"{f}:2: vpcflowlogs: " in r.stderr
    assert f"{f}:4: vpcflowlogs: " in r.stderr and "timestamp" in r.stderr
    assert (r.summary["parsed"], r.summary["failed"]) == (2, 2)
    assert len(r.docs()) == 2
    # A bad line among JSON records fails alone too.
    j = tmp_path / "trail.json"
    recs = json.loads(FX_TRAIL.read_text())["Records"]
    j.write_text(json.dumps(recs[0]) + "\n{\"eventVersion\": broken}\n" + json.dumps(recs[1]) + "\n"
                 + "not json at all\n" + json.dumps(recs[2]) + "\n")
    r = Run(["--type", "cloudtrail", j])
    assert r.rc == 0 and f"{j}:2: cloudtrail: " in r.stderr and f"{j}:4: cloudtrail: " in r.stderr
    assert (r.summary["parsed"], r.summary["failed"]) == (3, 2)
    # A value that never ends fails the object: the records before it were
    # emitted, the error names where the unfinished value starts.
    j.write_text(json.dumps(recs[0]) + "\n" + json.dumps(recs[1])[:-40] + "\n")
    r = Run(["--type", "cloudtrail", j])
    assert r.rc == 1 and "truncated JSON" in r.stderr and "line 2" in r.stderr
    assert r.summary["parsed"] == 1 and r.summary["objects_failed"] == 1


# ---- GeoIP ------------------------------------------------------------------------

@pytest.fixture
def geoip_dir(tmp_path):
    need = ["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"]
    if not all((GEOIP_DATA / n).is_file() for n in need):
        pytest.skip(f"{GEOIP_DATA} is absent: the GeoIP tests need MaxMind's test databases")
    d = tmp_path / "geoip"
    d.mkdir()
    for n in need:
        shutil.copy(GEOIP_DATA / n, d / n)
    return d


def test_geoip_enrichment(tmp_path, geoip_dir):
    f = write_records(tmp_path / "flows.log", [
        "2 123456789012 eni-1 81.2.69.142 10.0.1.25 51234 443 6 1 60 1795837800 1795837860 ACCEPT OK",
        "2 123456789012 eni-1 1.128.0.0 10.0.1.25 51234 443 6 1 60 1795837800 1795837860 ACCEPT OK",
        "2 123456789012 eni-1 10.0.1.25 10.0.0.2 51234 53 17 1 60 1795837800 1795837860 ACCEPT OK",
    ])
    r = Run(["--type", "vpcflowlogs", "--geoip-dir", geoip_dir, f])
    assert r.rc == 0, r.stderr
    london, telstra, private = r.docs()
    assert london["source"]["geo"]["country_iso_code"] == "GB"
    assert london["source"]["geo"]["city_name"] == "London"
    assert set(london["source"]["geo"]["location"]) == {"lat", "lon"}
    assert telstra["source"]["as"]["number"] == 1221
    assert telstra["source"]["as"]["organization"]["name"] == "Telstra Pty Ltd"
    for d in (london, telstra, private):
        assert "geo" not in d.get("destination", {}) and "as" not in d.get("destination", {})
    assert "geo" not in private["source"] and "as" not in private["source"]
    assert_ecs([london, telstra, private], "geoip")
    # Without --geoip-dir nothing is added.
    plain = Run(["--type", "vpcflowlogs", f]).docs()
    assert all("geo" not in d["source"] for d in plain)


def test_geoip_bad_dir_exit_1(tmp_path):
    r = Run(["--type", "vpcflowlogs", "--geoip-dir", tmp_path / "nope", FX_VPC])
    assert r.rc == 1 and "geoip" in r.stderr


def test_values_coerced_to_ecs_types(tmp_path):
    """A long is a JSON integer in a long's range or absent; an ip field never
    holds a name."""
    f = write_records(tmp_path / "flows.log", [
        "2 123456789012 eni-1 192.0.2.1 10.0.1.25 0080 443 6 9999999999999999999 -007 1795837800 1795837860 ACCEPT OK",
        "2 123456789012 eni-1 192.0.2.1 10.0.1.25 x 443 6 9223372036854775807 0 1795837800 1795837860 ACCEPT OK",
        "2 123456789012 eni-1 host.example 10.0.1.25 1 2 6 1 1 1795837800 1795837860 ACCEPT OK",
    ])
    r = Run(["--type", "vpcflowlogs", f])
    zeros, big, name = [strict_json(line) for line in r.lines]
    assert zeros["source"]["port"] == 80 and zeros["network"]["bytes"] == -7
    assert "packets" not in zeros["network"]
    assert "port" not in big["source"] and big["network"]["packets"] == 9223372036854775807
    assert "ip" not in name["source"] and name["source"]["domain"] == "host.example"
    assert_ecs([zeros, big, name], "coercion")
    # Bytes after a NUL do not make an address valid (inet_pton would stop at the NUL).
    nul = tmp_path / "nul.log"
    nul.write_bytes(b"2 123456789012 eni-1 192.0.2.9\0\0\0 10.0.1.25 1 2 6 1 1 1795837800 1795837860 ACCEPT OK\n")
    (doc,) = Run(["--type", "vpcflowlogs", nul]).docs()
    assert "ip" not in doc["source"] and doc["related"]["ip"] == ["10.0.1.25"]
    # A float is finite and within a float's range; a huge integer literal is written as a double.
    clb = tmp_path / "clb.log"
    clb.write_text('2026-11-28T03:52:11.403116Z web-clb 89.160.20.112:60931 10.0.3.14:80 1e39 '
                   '123456789012345678901234567890 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" '
                   '"curl/8.5.0" - -\n')
    (doc,) = Run(["--type", "clb", clb]).docs()
    elb = doc["aws"]["elb"]
    assert "request_processing_time" not in elb
    assert isinstance(elb["backend_processing_time"]["sec"], float)
    assert abs(elb["backend_processing_time"]["sec"] - 1.2345678901234568e29) < 1e15
    # The same holds for numbers copied from JSON records into vendor fields.
    rec = {"eventVersion": "1.08", "eventTime": "2026-11-28T03:50:12Z", "eventID": "x-1"}
    text = json.dumps(rec)[:-1] + ', "readOnly": 1e400, "eventType": 123456789012345678901234567890, "managementEvent": 12}'
    (doc,) = Run(["--type", "cloudtrail", "-"], stdin=text.encode()).docs()
    trail = doc["aws"]["cloudtrail"]
    assert "read_only" not in trail and trail["management_event"] == 12
    assert isinstance(trail["event_type"], float)


def test_header_columns_without_names(tmp_path):
    """A header column with no usable name ("-", "***") still keeps its values,
    under a name OpenSearch accepts."""
    f = tmp_path / "custom.log"
    f.write_text("version account-id - *** srcaddr end\n2 123456789012 a b 192.0.2.1 1795837860\n")
    r = Run(["--type", "vpcflowlogs", f])
    (doc,) = r.docs()
    assert doc["aws"]["vpcflow"]["column_3"] == "a" and doc["aws"]["vpcflow"]["column_4"] == "b"
    assert all(part for path in flatten(doc) for part in path.split("."))
