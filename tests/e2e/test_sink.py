"""End-to-end tests of `siemproc run --stage sink|retry|all` against real Kafka
and real OpenSearch 2.19.

The documents are the reference ones (`siemproc parse --bulk` of the bundled
fixtures and the shared corpus) produced to a fresh ecs-normalized topic the
way the normalize stage writes them (key = id, headers index/log_type/origin),
so every check is exact: the indices end with exactly the reference ids, once
each. Faults: OpenSearch stopped and restarted mid-run (no offset moves while
it is down), kill -9 of the sink mid-batch, real 429s from a one-thread write
pool with a queue of 2, and a mapping conflict that goes to the retry topic
and, after N attempts, to the DLQ while its partition keeps flowing. The
tests that stop OpenSearch or change its settings use their own instance."""
import json
import time
from collections import Counter

import pytest

import sinklib
import stage_util as su
from infra import unique


def valid(docs):
    bad = {json.dumps(a, sort_keys=True) for a, _ in sinklib.invalid_docs(docs)}
    return [(a, d) for a, d in docs if json.dumps(a, sort_keys=True) not in bad]


def replicate(docs, times):
    """times copies of the documents under distinct ids (volume for the fault
    tests); documents whose id repeats are kept once, so every 409 in these
    tests comes from a re-delivery."""
    out, seen = [], set()
    docs = [(a, d) for a, d in docs if not (json.dumps(a, sort_keys=True) in seen or seen.add(json.dumps(a, sort_keys=True)))]
    for k in range(times):
        for action, doc in docs:
            (op, meta), = action.items()
            out.append(({op: dict(meta, _id=f"{meta['_id']}-{k}")}, doc))
    return out


@pytest.fixture(scope="module")
def reference():
    docs = sinklib.reference_docs()
    assert len(docs) > 50
    return docs


def setup_templates(url, prefix):
    out = sinklib.run("setup", "--opensearch-url", url, "--index-prefix", prefix, "--index-replicas", "0")
    assert b"FAIL" not in out.stdout


def start_sink(kafka, url, topic, retry, group, tmp_path, *extra, name="sink"):
    return sinklib.Proc(sinklib.sink_args(kafka, url, topic, retry, group, *extra), tmp_path, name).start()


def expect_indexed(opensearch, prefix, want, sink, timeout=120):
    """The indices under prefix end with exactly the wanted ids ({index: ids}), once each."""
    got = sinklib.wait_ids(opensearch, prefix, want, timeout=timeout, proc=sink)
    assert all(len(v) == len(set(v)) for v in got.values())
    assert {i: sorted(v) for i, v in got.items()} == {i: sorted(v) for i, v in want.items()}


def expect_all_committed(kafka, group, topic):
    """The group has committed every partition of topic to its end; returns the ends."""
    committed, ends = su.committed_all(kafka, group, topic)
    assert committed == ends, group
    return ends


def fresh(kafka, partitions=3):
    topic, retry = unique("ecs-normalized"), unique("ecs-retry")
    kafka.create_topic(topic, partitions)
    kafka.create_topic(retry, 1)
    return topic, retry, unique("sink-grp")


def test_sink_indexes_exactly_the_reference_documents(kafka, opensearch, reference, tmp_path):
    prefix = unique("e2e-sink") + "-"
    setup_templates(opensearch.url, prefix)
    docs = sinklib.prefixed(reference, prefix)
    good, bad = valid(docs), sinklib.invalid_docs(docs)
    topic, retry, group = fresh(kafka)
    kafka.produce(topic, sinklib.as_messages(docs, topic))
    sink = start_sink(kafka, opensearch.url, topic, retry, group, tmp_path)
    try:
        expect_indexed(opensearch, prefix, sinklib.expected_ids(good), sink)
        expect_all_committed(kafka, group, topic)
        refused = su.read_topic(kafka, retry, len(bad), timeout=30)
        assert sorted(k.decode() for k, *_ in refused) == sorted(next(iter(a.values()))["_id"] for a, _ in bad)
        for _, _, headers, *_ in refused:
            assert headers["error.type"] in (b"mapper_parsing_exception", b"document_parsing_exception")
            assert headers["origin.topic"] == topic.encode() and headers["attempts"] == b"1"
    finally:
        assert sink.stop() == 0
        opensearch.request("DELETE", f"/{prefix}*")
    c = sink.counters("sink")
    assert c["acked"] == len(good) and c["refused"] == len(bad) and c["retry_acked"] == len(bad)
    # Samples that repeat a record repeat its id: the second copy is a 409, acknowledged.
    assert c["duplicates"] == len(good) - sum(len(v) for v in sinklib.expected_ids(good).values())


def test_full_pipeline_ids_match_parse(kafka, opensearch, s3, tmp_path):
    """S3 objects -> notifications -> `--stage all` -> OpenSearch: the same
    ids as `siemproc parse --s3-key KEY` on each object."""
    bucket = s3.make_bucket(unique("e2e-sink"))
    keys = [k for k in sinklib.fixture_files() if k.startswith(("AWSLogs/", "s3-access-logs/"))]
    assert keys
    want = {}
    for key in keys:
        s3.put(bucket, key, (sinklib.FIXTURES / key).read_bytes())
        for action, _ in sinklib.parse_bulk([key], cwd=sinklib.FIXTURES):
            meta = action["index"]
            want.setdefault(meta["_index"], set()).add(meta["_id"])
    prefix = unique("e2e-all") + "-"
    want = {prefix + i: ids for i, ids in want.items()}
    raw, out, retry, group = su.topics(kafka)
    dlq = unique("ecs-dlq")
    kafka.create_topic(dlq, 1)
    kafka.produce(raw, [su.s3_notification(bucket, [k]) for k in keys])
    args = ["run", "--stage", "all", "--brokers", kafka.bootstrap, "--topics", raw, "--output-topic", out,
            "--retry-topic", retry, "--dlq-topic", dlq, "--group", group, "--opensearch-url", opensearch.url,
            "--index-prefix", prefix, "--s3-endpoint", s3.endpoint, "--s3-path-style",
            "--commit-interval-ms", "200", "--summary-interval-s", "1"]
    proc = sinklib.Proc(args, tmp_path, "all", env=su.s3_env(s3)).start()
    try:
        expect_indexed(opensearch, prefix, want, proc)
        expect_all_committed(kafka, f"{group}-normalize", raw)
        expect_all_committed(kafka, f"{group}-sink", out)
    finally:
        assert proc.stop() == 0
        opensearch.request("DELETE", f"/{prefix}*")


@pytest.fixture(scope="module")
def own_opensearch():
    """OpenSearch of this module alone: the outage test stops it."""
    yield from sinklib.running_private_opensearch("sink-outage", 20)


def test_opensearch_down_commits_nothing_then_catches_up(kafka, own_opensearch, reference, tmp_path):
    os_ = own_opensearch
    prefix = unique("e2e-down") + "-"
    setup_templates(os_.url, prefix)
    docs = replicate(sinklib.prefixed(sinklib.few_indices(valid(reference)), prefix), 20)
    first, second = docs[: len(docs) // 3], docs[len(docs) // 3:]
    topic, retry, group = fresh(kafka)
    kafka.produce(topic, sinklib.as_messages(first, topic))
    sink = start_sink(kafka, os_.url, topic, retry, group, tmp_path, "--backoff-max-ms", "2000")
    try:
        sinklib.wait_ids(os_, prefix, sinklib.expected_ids(first), proc=sink)
        before, _ = su.committed_all(kafka, group, topic)
        os_.stop()
        kafka.produce(topic, sinklib.as_messages(second, topic))
        time.sleep(8)  # the sink meets the outage: backoff, no commits
        during, _ = su.committed_all(kafka, group, topic, timeout=1)
        assert during == before
        assert "not accepted yet" in sink.text()
        os_.start()
        expect_indexed(os_, prefix, sinklib.expected_ids(docs), sink, timeout=180)
        expect_all_committed(kafka, group, topic)
    finally:
        os_.start()
        assert sink.stop() == 0
        os_.request("DELETE", f"/{prefix}*")
    assert sink.counters("sink")["retries"] > 0


def test_kill9_mid_batch_loses_nothing_duplicates_nothing(kafka, opensearch, reference, tmp_path):
    prefix = unique("e2e-kill") + "-"
    docs = replicate(sinklib.prefixed(sinklib.few_indices(valid(reference)), prefix), 100)
    topic, retry, group = fresh(kafka)
    kafka.produce(topic, sinklib.as_messages(docs, topic), timeout=120)
    args = ("--batch-max-docs", "200", "--workers", "2")
    sink = start_sink(kafka, opensearch.url, topic, retry, group, tmp_path, *args)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            opensearch.request("POST", f"/{prefix}*/_refresh")
            n = opensearch.request("GET", f"/{prefix}*/_count").json().get("count", 0)
            if n >= len(docs) // 4:
                break
            time.sleep(0.2)
        sink.kill9()
        assert 0 < n < len(docs), "the sink should be killed mid-run"
        at_kill, _ = su.committed_all(kafka, group, topic, timeout=1)
        sink = start_sink(kafka, opensearch.url, topic, retry, group, tmp_path, *args, name="sink-again")
        expect_indexed(opensearch, prefix, sinklib.expected_ids(docs), sink, timeout=240)
        ends = expect_all_committed(kafka, group, topic)
    finally:
        assert sink.stop() == 0
        opensearch.request("DELETE", f"/{prefix}*")
    # The second run resumed exactly at the committed offsets: everything after
    # them was sent again (what the first run had indexed but not committed
    # comes back as 409s, counted as acknowledged).
    resumed = sum(ends[p] - max(at_kill.get(p, 0), 0) for p in ends)
    c = sink.counters("sink")
    assert c["messages"] == resumed and c["acked"] == resumed


@pytest.fixture(scope="module")
def throttled_opensearch():
    """A write pool of one thread with a queue of 2: bulk requests get real 429s."""
    yield from sinklib.running_private_opensearch("sink-429", 40, OPENSEARCH_WRITE_QUEUE=2, OPENSEARCH_WRITE_THREADS=1)


def test_429s_back_off_and_lose_nothing(kafka, throttled_opensearch, reference, tmp_path):
    os_ = throttled_opensearch
    prefix = unique("e2e-429") + "-"
    setup_templates(os_.url, prefix)
    docs = replicate(sinklib.prefixed(sinklib.few_indices(valid(reference)), prefix), 40)
    topic, retry, group = fresh(kafka, partitions=6)
    kafka.produce(topic, sinklib.as_messages(docs, topic), timeout=120)
    sink = start_sink(kafka, os_.url, topic, retry, group, tmp_path, "--workers", "6", "--batch-max-docs", "50",
                      "--backoff-initial-ms", "50", "--backoff-max-ms", "1000")
    try:
        expect_indexed(os_, prefix, sinklib.expected_ids(docs), sink, timeout=240)
        expect_all_committed(kafka, group, topic)
    finally:
        assert sink.stop() == 0
        os_.request("DELETE", f"/{prefix}*")
    c = sink.counters("sink")
    assert c["retries"] > 0, "no 429 was provoked"
    assert "rejected_execution_exception" in sink.text()  # the real 429 (es_rejected_... on Elasticsearch)
    assert c["refused"] == 0 and c["acked"] == len(docs)


def test_mapping_conflict_goes_to_dlq_while_the_partition_flows(kafka, opensearch, reference, tmp_path):
    prefix = unique("e2e-dlq") + "-"
    setup_templates(opensearch.url, prefix)
    good = sinklib.prefixed(valid(reference), prefix)
    action, doc = next((a, d) for a, d in good if json.loads(d).get("source", {}).get("ip"))
    bad_doc = json.loads(doc)
    bad_doc["source"]["ip"] = "not-an-ip-address"
    bad = ({"index": dict(action["index"], _id="conflict-1")}, json.dumps(bad_doc))
    docs = good[: len(good) // 2] + [bad] + good[len(good) // 2:]
    topic, retry, group = fresh(kafka, partitions=1)  # one partition: the bad document is in the middle of it
    dlq = unique("ecs-dlq")
    kafka.create_topic(dlq, 1)
    kafka.produce(topic, sinklib.as_messages(docs, topic))
    sink = start_sink(kafka, opensearch.url, topic, retry, group, tmp_path)
    retry_args = ["run", "--stage", "retry", "--brokers", kafka.bootstrap, "--topics", retry, "--group",
                  unique("retry-grp"), "--retry-topic", retry, "--dlq-topic", dlq, "--retry-delay-ms", "500",
                  "--retry-max-attempts", "3", "--summary-interval-s", "1", "--commit-interval-ms", "200"]
    retrier = sinklib.Proc(retry_args, tmp_path, "retry").start()
    try:
        sinklib.wait_ids(opensearch, prefix, sinklib.expected_ids(good), proc=sink)
        expect_all_committed(kafka, group, topic)  # the partition went on past the refused document
        dead = su.read_topic(kafka, dlq, 1, timeout=60)
        assert len(dead) == 1
        key, value, headers, *_ = dead[0]
        assert key == b"conflict-1" and json.loads(value) == bad_doc
        assert headers["error.type"] in (b"mapper_parsing_exception", b"document_parsing_exception")
        assert b"source.ip" in headers["error.message"]
        assert headers["attempts"] == b"3" and headers["origin.topic"] == topic.encode()
        assert int(headers["first_failure_ms"]) > 0 and headers["index"] == action["index"]["_index"].encode()
        tries = su.read_topic(kafka, retry, 3, timeout=30)
        assert sorted(h["attempts"] for _, _, h, *_ in tries) == [b"1", b"2", b"3"]
    finally:
        assert retrier.stop() == 0
        assert sink.stop() == 0
        opensearch.request("DELETE", f"/{prefix}*")
    assert retrier.counters("retry")["resubmitted"] == 2
    assert retrier.counters("retry")["dead_lettered"] == 1
    assert Counter(k for k, *_ in su.read_topic(kafka, topic, len(docs) + 2, timeout=30))[b"conflict-1"] == 3
