"""Helpers shared by the sink, retry and setup e2e tests: the siemproc
binary, the reference documents (`siemproc parse --bulk` of the bundled
fixtures and of the shared corpus), and mapping comparison.

The reference is what every stream test compares with: same engine, same
ids, so "the index holds exactly these ids" is a real check.
"""
import json
import os
import subprocess
import time

from infra import REPO, OpenSearch
from stage_util import SHARED, Proc, need_binary  # noqa: F401 (Proc: sinklib.Proc for the tests)

FIXTURES = REPO / "tests" / "fixtures"

# Corpus directories whose type is unambiguous, with the type to force (the
# corpus files are not named like S3 keys, so detection cannot be used).
CORPUS_TYPES = [
    ("vpcflow", "vpcflowlogs"), ("cloudtrail", "cloudtrail"), ("s3access", "s3accesslog"),
    ("guardduty", "guardduty"), ("securityhub", "securityhub"), ("networkfirewall", "networkfirewall"),
    ("waf", "waf"), ("inspector", "inspector"), ("route53", "route53resolver"),
    ("cloudfront", "cloudfront-standard"), ("msk", "msk"), ("linux/auth", "linux-secure"),
    ("linux/syslog", "linux-os-syslog"), ("rds/postgresql", "rds-postgresql"),
    ("rds/mysql/slowlog", "rds-mysql-slowquery"), ("rds/mysql/error", "rds-mysql-error"),
]


def shared_corpus():
    root = SHARED / "corpus"
    return root if root.is_dir() else None


def run(*args, check=True, timeout=120, **kw):
    proc = subprocess.run([str(need_binary()), *args], capture_output=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"siemproc {' '.join(args)} exit {proc.returncode}:\n"
                             f"{proc.stderr.decode(errors='replace')[-3000:]}")
    return proc


ACTION_PREFIX = '{"index":{"_index":'


def split_bulk(text):
    """[(action, doc_text)] of a _bulk stream; a document is everything up to
    the next action line, so a stray line break inside one does not shift
    the pairs."""
    pairs = []
    for line in text.split("\n"):
        if line.startswith(ACTION_PREFIX):
            pairs.append([json.loads(line), ""])
        elif pairs and line:
            pairs[-1][1] += (" " if pairs[-1][1] else "") + line
    return [tuple(p) for p in pairs]


def invalid_docs(docs):
    """The documents that are not a JSON object, with the parser's complaint."""
    bad = []
    for action, doc in docs:
        try:
            if not isinstance(json.loads(doc), dict):
                bad.append((action, "not an object"))
        except ValueError as e:
            bad.append((action, f"{e}: {doc[max(0, e.pos - 60):e.pos + 20]!r}"))
    return bad


def parse_bulk(files, log_type=None, cwd=None):
    """[(action, doc_text)] from `siemproc parse --bulk` (failures ignored)."""
    args = ["parse", "--bulk", "--quiet"] + (["--type", log_type] if log_type else [])
    return split_bulk(run(*args, *map(str, files), check=False, cwd=cwd).stdout.decode())


def fixture_files():
    """Fixture paths relative to tests/fixtures (their names are S3-key-like)."""
    return sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.is_file())


def reference_docs(with_corpus=True):
    """Documents of the fixtures (type detected from the path) and of the
    corpus (type forced per directory), as [(action, doc_text)]."""
    docs = parse_bulk(fixture_files(), cwd=FIXTURES)
    corpus = shared_corpus() if with_corpus else None
    for rel, log_type in CORPUS_TYPES if corpus else []:
        files = sorted(p for p in (corpus / rel).rglob("*") if p.is_file() and "expected" not in p.name)
        docs += parse_bulk(files, log_type)
    return docs


def few_indices(docs, n=3):
    """The documents of the n indices with the most documents: the fault tests
    want volume, not 78 index creations on a busy machine."""
    sizes = {i: len(v) for i, v in expected_ids(docs).items()}
    keep = set(sorted(sizes, key=lambda i: -sizes[i])[:n])
    return [(a, d) for a, d in docs if next(iter(a.values()))["_index"] in keep]


def prefixed(docs, prefix):
    """Same documents, every _index prefixed (tests own their indices)."""
    out = []
    for action, doc in docs:
        (op, meta), = action.items()
        out.append(({op: dict(meta, _index=prefix + meta["_index"])}, doc))
    return out


def expected_ids(docs):
    """{index: set(ids)} the cluster must end with."""
    want = {}
    for action, _ in docs:
        meta = next(iter(action.values()))
        want.setdefault(meta["_index"], set()).add(meta["_id"])
    return want


def flatten(props, prefix=""):
    """{"source.ip": "ip", ...} from a mapping's properties (objects and
    nested fields listed with their own type only when they have one)."""
    out = {}
    for name, spec in props.items():
        path = prefix + name
        if "type" in spec:
            out[path] = spec["type"]
        if "properties" in spec:
            out.update(flatten(spec["properties"], path + "."))
    return out


def index_ids(opensearch, index):
    """All _id values of an index (scroll-free: search_after on _id is not
    allowed, so page by _doc with a large size)."""
    opensearch.refresh(index)
    ids, after = [], None
    while True:
        body = {"size": 5000, "sort": ["_doc"], "_source": False, "query": {"match_all": {}}}
        if after:
            body["search_after"] = after
        hits = opensearch.request("POST", f"/{index}/_search", json=body).json()["hits"]["hits"]
        if not hits:
            return ids
        ids += [h["_id"] for h in hits]
        after = hits[-1]["sort"]


# ---- stage processes ----------------------------------------------------------

def sink_args(kafka, opensearch_url, topic, retry, group, *extra):
    return ["run", "--stage", "sink", "--brokers", kafka.bootstrap, "--topics", topic, "--group", group,
            "--retry-topic", retry, "--opensearch-url", opensearch_url, "--summary-interval-s", "1",
            "--commit-interval-ms", "200", *extra]


def as_messages(docs, origin_topic="test"):
    """Reference documents as ecs-normalized messages: key = id, value = document,
    headers index / log_type / origin (the normalize stage's contract)."""
    out = []
    for n, (action, doc) in enumerate(docs):
        meta = next(iter(action.values()))
        log_type = json.loads(doc).get("event", {}).get("dataset", "unknown")
        out.append((meta["_id"], doc, [("index", meta["_index"]), ("log_type", log_type),
                                       ("origin", f"{origin_topic}/0/{n}#1")]))
    return out


def wait_ids(opensearch, prefix, want, timeout=120, proc=None):
    """Poll until the indices under prefix hold exactly the wanted ids (or time out);
    returns {index: [ids]} as found (lists, so duplicates would show)."""
    import requests
    deadline = time.monotonic() + timeout
    while True:
        got = {}
        try:
            opensearch.request("POST", f"/{prefix}*/_refresh", timeout=120)
            for index in want:
                resp = opensearch.request("GET", f"/{index}/_count")  # 404 before it exists, 503 while it starts
                got[index] = index_ids(opensearch, index) if resp.status_code == 200 and resp.json()["count"] else []
        except requests.exceptions.RequestException:  # a busy or restarting cluster: ask again
            got = {i: [] for i in want}
        if all(sorted(got[i]) == sorted(want[i]) for i in want) or time.monotonic() > deadline:
            return got
        if proc is not None and not proc.running():
            raise AssertionError(f"stage exited early:\n{proc.text()[-3000:]}")
        time.sleep(1)


def private_opensearch(name, port_offset, **settings):
    """An OpenSearch of this test module's own (own port and data), for tests
    that stop it or change its settings: the shared one stays untouched."""
    os_ = OpenSearch()
    base = int(os.environ.get("OPENSEARCH_PORT", "19200"))
    root = os.environ.get("SIEMPROC_TEST_RUN", "/tmp/siemproc-test-run")
    os_.env.update({"OPENSEARCH_PORT": str(base + port_offset),
                    "OPENSEARCH_TRANSPORT_PORT": str(base + port_offset + 100),
                    "SIEMPROC_TEST_RUN": f"{root}/{name}", **{k: str(v) for k, v in settings.items()}})
    return os_


def running_private_opensearch(name, port_offset, **settings):
    """private_opensearch(), started, for a module fixture to `yield from`; stopped after."""
    svc = private_opensearch(name, port_offset, **settings)
    svc.start()
    yield svc
    svc.stop()
