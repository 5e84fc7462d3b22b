"""The operations endpoint of the running stages (`siemproc run --stage ...
--metrics-port N`) against real Kafka, MinIO and OpenSearch.

Normalize: raw records and S3 notifications (one object, one missing key)
go through the stage; /metrics must show the stage's own counters per log
type (records in = out + skipped + failures, out = the documents on the
output topic), the S3 GET histogram and the missing key as a fatal GET
error, the group's lag measured from the broker ending at 0 on every
partition with committed = end offsets, the consumer gauges, and /healthz
and /readyz answering 200 once partitions are assigned. A GeoIP database
replaced the way geoipupdate does it (new file, rename) is reloaded by the
running stage and counted.
Sink: documents indexed into OpenSearch are counted as 201 items, the same
ids sent again as 409 items and duplicates, one duration observation per
_bulk request. A port already in use fails start-up with a message naming
metrics_port."""
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

import sinklib
import stage_util as su
from infra import unique

SAMPLE = re.compile(r'^(\w+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


free_port = su.free_port
get = su.http_get


def samples(port):
    """{(name, frozenset of (label, value)): float} of one scrape."""
    out = {}
    for line in get(port)[1].splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out[(m[1], frozenset(LABEL.findall(m[2] or "")))] = float(m[3])
    return out


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())))


def series(s, name, **labels):
    """{frozenset of all labels: value} of the samples of name that carry labels."""
    want = set(labels.items())
    return {k[1]: v for k, v in s.items() if k[0] == name and want <= k[1]}


def scrape_until(port, pred, what, proc):
    """The first scrape for which pred(samples) holds."""
    def attempt():
        s = samples(port)
        return s if pred(s) else None
    return wait_for(attempt, what=what, proc=proc)


def wait_for(fn, timeout=40, what="condition", proc=None):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if proc is not None and not proc.running():
            raise AssertionError(f"stage exited while waiting for {what}:\n{proc.text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def metrics_args(port):
    return ["--metrics-port", str(port), "--metrics-address", "127.0.0.1", "--lag-interval-ms", "1000"]


def test_normalize_stage_metrics(kafka, s3, tmp_path):
    raw, out, retry, group = su.topics(kafka, partitions=3)
    bucket = s3.make_bucket(unique("metrics"))
    key, missing = su.TYPE_KEYS["vpcflowlogs"].format(n=1), su.TYPE_KEYS["vpcflowlogs"].format(n=2)
    obj = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
           "action log-status\n" + "\n".join(su.vpc_lines(30, seed=7)) + "\n").encode()
    gz_obj = su.gz(obj)
    s3.put(bucket, key, gz_obj)
    (tmp_path / "obj").write_bytes(gz_obj)
    obj_docs, _ = su.reference(tmp_path / "obj", "--s3-key", key)
    records = [(line.encode(), [("log_type", b"vpcflowlogs")]) for line in su.vpc_lines(40, seed=8)]
    messages = records + [(su.s3_notification(bucket, [key, missing]).encode(), None)]
    where = su.produce_with_offsets(kafka, raw, messages)

    port = free_port()
    stage = su.Stage(kafka, s3, tmp_path, topics=raw, out=out, retry=retry, group=group,
                     args=metrics_args(port)).start()
    try:
        wait_for(lambda: get(port, "/readyz") == (200, "ready\n"), what="/readyz 200", proc=stage)
        assert get(port, "/healthz") == (200, "ok\n")
        docs = su.read_topic(kafka, out, len(records) + len(obj_docs), timeout=40, stage=stage)
        assert len(docs) == len(records) + len(obj_docs)

        def caught_up(s):
            lag = series(s, "siemproc_consumer_lag", group=group, topic=raw)
            out_n = value(s, "siemproc_records_out_total", stage="normalize", log_type="vpcflowlogs")
            return len(lag) == 3 and set(lag.values()) == {0} and out_n == len(docs)
        s = scrape_until(port, caught_up, "lag 0 on every partition and every document counted", stage)

        vpc = dict(stage="normalize", log_type="vpcflowlogs")
        rec_in = value(s, "siemproc_records_in_total", **vpc)
        skipped = value(s, "siemproc_records_skipped_total", **vpc)
        failed = value(s, "siemproc_parse_failures_total", log_type="vpcflowlogs")
        assert rec_in == len(docs) + skipped + failed and rec_in >= len(records) + 30
        ends = {dict(k)["partition"]: v for k, v in series(s, "siemproc_partition_end_offset", group=group).items()}
        committed = {dict(k)["partition"]: v for k, v in
                     series(s, "siemproc_consumer_committed_offset", group=group).items()}
        assert sum(ends.values()) == len(where)
        assert {p: v for p, v in committed.items() if ends[p]} == {p: v for p, v in ends.items() if v}

        # The S3 GET hook: two GETs, the missing key a fatal error (404 is never retried).
        assert value(s, "siemproc_s3_get_duration_seconds_count") == 2
        assert value(s, "siemproc_s3_get_errors_total", **{"class": "fatal"}) == 1
        assert value(s, "siemproc_s3_get_errors_total", **{"class": "retriable"}) == 0
        assert value(s, "siemproc_bytes_in_total", stage="normalize", log_type="all") == \
            sum(len(v) for v, _ in messages) + len(gz_obj)

        assert value(s, "siemproc_assigned_partitions", stage="normalize") == 3
        assert value(s, "siemproc_ready", stage="normalize") == 1
        assert value(s, "siemproc_worker_queue_depth", stage="normalize") is not None
        assert value(s, "siemproc_lag_polls_total", group=group, result="ok") >= 1
    finally:
        rc, _ = stage.stop()
    assert rc == 0, stage.text()[-3000:]
    assert get(port, "/healthz")[0] == 0, "the metrics server outlived the stage"


def test_normalize_reloads_a_replaced_geoip_database(kafka, tmp_path):
    dbs = su.SHARED / "testdata" / "geoip"
    if not (dbs / "GeoLite2-City-Test.mmdb").is_file():
        pytest.skip(f"GeoIP test databases not found under {dbs} (set SIEMPROC_SHARED)")
    geo = tmp_path / "geo"
    geo.mkdir()
    shutil.copy(dbs / "GeoLite2-City-Test.mmdb", geo / "GeoLite2-City.mmdb")
    raw, out, retry, group = su.topics(kafka, partitions=1)
    port = free_port()
    stage = su.Stage(kafka, None, tmp_path, topics=raw, out=out, retry=retry, group=group,
                     args=metrics_args(port) + ["--geoip-dir", str(geo), "--geoip-check-s", "1"]).start()
    try:
        wait_for(lambda: get(port, "/readyz")[0] == 200, what="/readyz 200", proc=stage)
        assert value(samples(port), "siemproc_geoip_reloads_total", result="ok") is None
        shutil.copy(dbs / "GeoIP2-City-Test.mmdb", geo / "GeoLite2-City.mmdb.tmp")
        os.rename(geo / "GeoLite2-City.mmdb.tmp", geo / "GeoLite2-City.mmdb")
        scrape_until(port, lambda s: value(s, "siemproc_geoip_reloads_total", result="ok") == 1, "a GeoIP reload",
                     stage)
        shutil.copy(dbs / "GeoIP2-City-Test-Invalid-Node-Count.mmdb", geo / "GeoLite2-City.mmdb")
        s = scrape_until(port, lambda s: value(s, "siemproc_geoip_reloads_total", result="error") == 1,
                         "a failed GeoIP reload", stage)
        assert value(s, "siemproc_geoip_reloads_total", result="ok") == 1
        assert get(port, "/readyz")[0] == 200, "a bad database must not make the stage unready"
    finally:
        rc, _ = stage.stop()
    assert rc == 0, stage.text()[-3000:]
    assert "GeoIP reloaded" in stage.text()


def test_sink_bulk_metrics(kafka, opensearch, tmp_path):
    topic, retry, group = unique("ecs-normalized"), unique("ecs-retry"), unique("sink-grp")
    kafka.create_topic(topic, 2)
    kafka.create_topic(retry, 1)
    index = unique("e2e-metrics")

    def doc(i):
        return (f"id{i}", json.dumps({"@timestamp": "2024-01-01T00:00:00Z", "message": f"m{i}"}),
                [("index", index), ("log_type", "vpcflowlogs"), ("origin", f"test/0/{i}#1")])

    kafka.produce(topic, [doc(i) for i in range(5)])
    port = free_port()
    sink = sinklib.Proc(sinklib.sink_args(kafka, opensearch.url, topic, retry, group, *metrics_args(port),
                                          "--batch-linger-ms", "100"), tmp_path, "sink").start()
    try:
        scrape_until(port, lambda s: value(s, "siemproc_bulk_items_total", status="201") == 5, "5 items created",
                     sink)
        kafka.produce(topic, [doc(0), doc(1)])       # the same ids again: 409, already there
        s = scrape_until(port, lambda s: value(s, "siemproc_bulk_items_total", status="409") == 2,
                         "2 items already there", sink)
        assert value(s, "siemproc_bulk_items_total", status="201") == 5
        requests = sum(series(s, "siemproc_bulk_requests_total").values())
        assert value(s, "siemproc_bulk_requests_total", outcome="ok") == requests >= 2
        assert value(s, "siemproc_bulk_duration_seconds_count") == requests
        assert value(s, "siemproc_bulk_duration_seconds_sum") > 0
        assert value(s, "siemproc_bulk_duration_seconds_bucket", le="+Inf") == requests
        assert value(s, "siemproc_records_in_total", stage="sink", log_type="all") == 7
        assert value(s, "siemproc_records_out_total", stage="sink", log_type="all") == 7
        assert value(s, "siemproc_duplicates_total", stage="sink") == 2
        assert value(s, "siemproc_worker_queue_depth", stage="sink") is not None
        wait_for(lambda: get(port, "/readyz")[0] == 200, what="/readyz 200", proc=sink)
        assert get(port, "/healthz")[0] == 200
        opensearch.refresh(index)
        assert opensearch.request("GET", f"/{index}/_count").json()["count"] == 5
    finally:
        rc = sink.stop()
        opensearch.request("DELETE", f"/{index}")
    assert rc == 0, sink.text()[-3000:]


def test_metrics_port_in_use_fails_start_up(kafka, tmp_path):
    raw, out, retry, group = su.topics(kafka, partitions=1)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([str(su.need_binary()), "run", "--stage", "normalize", "--brokers", kafka.bootstrap,
                               "--topics", raw, "--output-topic", out, "--retry-topic", retry, "--group", group,
                               *metrics_args(port)], capture_output=True, text=True, timeout=60,
                              env=su.s3_env(None))
    assert proc.returncode == 2
    assert re.search(rf"metrics_port: .*port {port}: Address already in use", proc.stderr), proc.stderr
