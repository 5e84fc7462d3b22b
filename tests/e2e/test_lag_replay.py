"""`siemproc lag` and `siemproc replay` against the real Kafka broker.

Lag: messages are produced to chosen partitions, a confluent-kafka consumer
commits chosen offsets for the group, and the lag siemproc reports (table,
JSON, exit code, Prometheus exporter) must be end - committed per partition,
end - start for partitions without a commit, 0 for idle caught-up ones.
Replay: offsets resets (dry run, execute, refusal with active members) and
copies from a dead-letter topic back to the origin topics, counted, with keys,
values and headers kept (document ids are derived from them, so replaying
twice cannot create new documents)."""
import json
import signal
import subprocess
import threading
import time

import pytest

import stage_util as su
from infra import unique

BIN = str(su.BIN)


@pytest.fixture(scope="module", autouse=True)
def _binary():
    su.need_binary()


def siemproc(*args, timeout=60):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def produce_to(kafka, topic, per_partition, headers=None):
    """per_partition: {partition: count}; message i of partition p has key p-i."""
    import confluent_kafka as ck
    p = ck.Producer({"bootstrap.servers": kafka.bootstrap, "enable.idempotence": True})
    for part, n in per_partition.items():
        for i in range(n):
            p.produce(topic, key=f"{part}-{i}", value=f"value {part}-{i}", partition=part,
                      headers=headers(part, i) if headers else None)
    assert p.flush(30) == 0


def commit(kafka, group, topic, offsets):
    """Commit {partition: offset} for group without joining it."""
    import confluent_kafka as ck
    c = ck.Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[ck.TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        c.close()


def lag_json(kafka, group, *extra):
    r = siemproc("lag", "--brokers", kafka.bootstrap, "--group", group, "--json", *extra)
    assert r.returncode in (0, 3), r.stderr
    return r.returncode, json.loads(r.stdout)


@pytest.fixture()
def lagged(kafka):
    """A 4-partition topic: p0 10 messages committed at 4, p1 7 committed at 7
    (caught up), p2 5 never committed, p3 empty and never committed."""
    topic = kafka.create_topic(unique("e2e-lag"), partitions=4)
    group = unique("e2e-lag-group")
    produce_to(kafka, topic, {0: 10, 1: 7, 2: 5})
    commit(kafka, group, topic, {0: 4, 1: 7})
    return topic, group


def by_partition(report):
    return {p["partition"]: p for p in report["partitions"]}


def test_lag_json_per_partition_and_total(kafka, lagged):
    topic, group = lagged
    rc, report = lag_json(kafka, group, "--topics", topic)
    assert rc == 0
    parts = by_partition(report)
    assert report["group"] == group
    assert set(parts) == {0, 1, 2, 3}
    assert (parts[0]["committed"], parts[0]["end"], parts[0]["lag"]) == (4, 10, 6)
    assert (parts[1]["committed"], parts[1]["end"], parts[1]["lag"]) == (7, 7, 0)
    assert (parts[2]["committed"], parts[2]["start"], parts[2]["end"], parts[2]["lag"]) == (None, 0, 5, 5)
    assert (parts[3]["committed"], parts[3]["end"], parts[3]["lag"]) == (None, 0, 0)
    assert report["total"] == 11


def test_lag_default_topics_are_the_groups_committed_ones(kafka, lagged):
    topic, group = lagged
    _, report = lag_json(kafka, group)
    assert {p["topic"] for p in report["partitions"]} == {topic}
    assert report["total"] == 11     # uncommitted partitions of the topic count too


def test_lag_regex_topics_and_table(kafka, lagged):
    topic, group = lagged
    r = siemproc("lag", "--brokers", kafka.bootstrap, "--group", group, "--topics", "^" + topic + "$")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].split() == ["TOPIC", "PARTITION", "COMMITTED", "START", "END", "LAG"]
    rows = [line.split() for line in lines[1:-1]]
    assert rows == [[topic, "0", "4", "0", "10", "6"], [topic, "1", "7", "0", "7", "0"],
                    [topic, "2", "-", "0", "5", "5"], [topic, "3", "-", "0", "0", "0"]]
    assert lines[-1].split() == ["TOTAL", "11"]


def test_lag_max_lag_exit_code(kafka, lagged):
    topic, group = lagged
    rc, report = lag_json(kafka, group, "--topics", topic, "--max-lag", "10")
    assert rc == 3 and report["over"] is True
    rc, report = lag_json(kafka, group, "--topics", topic, "--max-lag", "11")
    assert rc == 0 and report["over"] is False


def test_lag_follows_commits(kafka, lagged):
    topic, group = lagged
    commit(kafka, group, topic, {0: 10, 2: 5})
    _, report = lag_json(kafka, group, "--topics", topic)
    assert report["total"] == 0
    produce_to(kafka, topic, {3: 3})    # new messages on a partition nobody committed
    _, report = lag_json(kafka, group, "--topics", topic)
    assert by_partition(report)[3]["lag"] == 3 and report["total"] == 3


def test_lag_errors(kafka):
    r = siemproc("lag", "--brokers", kafka.bootstrap, "--group", "g", "--topics", unique("missing"))
    assert r.returncode == 1 and "not found" in r.stderr
    r = siemproc("lag", "--brokers", kafka.bootstrap)
    assert r.returncode == 2 and "group" in r.stderr
    r = siemproc("lag", "--group", "g")
    assert r.returncode == 2 and "brokers: missing" in r.stderr
    r = siemproc("lag", "--brokers", kafka.bootstrap, "--group", "g", "--max-lag", "lots")
    assert r.returncode == 2 and "--max-lag" in r.stderr


def lag_samples(text, group):
    """{(topic, partition): value} of siemproc_consumer_lag for the group."""
    out = {}
    for line in text.splitlines():
        if line.startswith("siemproc_consumer_lag{"):
            labels, value = line[len("siemproc_consumer_lag{"):].split("} ")
            kv = dict(item.split("=", 1) for item in labels.split(","))
            if kv["group"].strip('"') == group:
                out[(kv["topic"].strip('"'), int(kv["partition"].strip('"')))] = float(value)
    return out


def wait_for(fn, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_lag_exporter_serves_metrics_for_idle_partitions(kafka, lagged):
    topic, group = lagged
    port = su.free_port()
    proc = subprocess.Popen([BIN, "lag", "--brokers", kafka.bootstrap, "--group", group, "--topics", topic,
                             "--metrics-port", str(port), "--metrics-address", "127.0.0.1",
                             "--interval-ms", "500"], stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: su.http_get(port, "/readyz")[0] == 200)
        samples = lag_samples(su.http_get(port)[1], group)
        assert samples == {(topic, 0): 6, (topic, 1): 0, (topic, 2): 5, (topic, 3): 0}
        status, body = su.http_get(port, "/healthz")
        assert status == 200
        commit(kafka, group, topic, {0: 8})
        assert wait_for(lambda: lag_samples(su.http_get(port)[1], group).get((topic, 0)) == 2)
        text = su.http_get(port)[1]
        assert f'siemproc_consumer_committed_offset{{group="{group}",topic="{topic}",partition="0"}} 8' in text
        assert f'siemproc_partition_end_offset{{group="{group}",topic="{topic}",partition="0"}} 10' in text
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, proc.stderr.read()


# ---- replay offsets ----

def test_replay_offsets_dry_run_then_execute(kafka, lagged):
    topic, group = lagged
    before = kafka.committed(group, topic)
    r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group, "--topics", topic,
                 "--to-earliest")
    assert r.returncode == 0, r.stderr
    assert "dry run" in r.stdout
    assert kafka.committed(group, topic) == before
    r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group, "--topics", topic,
                 "--to-earliest", "--execute")
    assert r.returncode == 0, r.stderr
    assert kafka.committed(group, topic) == {0: 0, 1: 0, 2: 0, 3: 0}
    _, report = lag_json(kafka, group, "--topics", topic)
    assert report["total"] == 22      # everything is to be processed again


def test_replay_offsets_explicit_and_latest(kafka, lagged):
    topic, group = lagged
    r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group,
                 "--offsets", f"{topic}:0=2,{topic}:2=99", "--execute")
    assert r.returncode == 0, r.stderr
    assert "outside" in r.stderr            # 99 is clamped to the end offset
    committed = kafka.committed(group, topic)
    assert committed[0] == 2 and committed[2] == 5 and committed[1] == 7
    r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group, "--topics", topic,
                 "--to-latest", "--execute")
    assert r.returncode == 0, r.stderr
    _, report = lag_json(kafka, group, "--topics", topic)
    assert report["total"] == 0
    r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group,
                 "--offsets", f"{topic}:9=1", "--execute")
    assert r.returncode == 1 and "no such partition" in r.stderr


def test_replay_offsets_to_time(kafka):
    topic = kafka.create_topic(unique("e2e-replay-time"), partitions=1)
    group = unique("e2e-replay-time-group")
    produce_to(kafka, topic, {0: 3})
    time.sleep(1.2)
    middle = int(time.time() * 1000)
    time.sleep(0.2)
    produce_to(kafka, topic, {0: 4})
    commit(kafka, group, topic, {0: 7})
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(middle / 1000)) + f".{middle % 1000:03d}Z"
    for when in (str(middle), iso):
        r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group, "--topics", topic,
                     "--to-time", when, "--execute")
        assert r.returncode == 0, r.stderr
        assert kafka.committed(group, topic) == {0: 3}
        commit(kafka, group, topic, {0: 7})
    future = str(int(time.time() * 1000) + 3_600_000)
    r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group, "--topics", topic,
                 "--to-time", future, "--execute")
    assert r.returncode == 0 and kafka.committed(group, topic) == {0: 7}


def test_replay_offsets_refuses_active_group(kafka, lagged):
    import confluent_kafka as ck
    topic, group = lagged
    stop = threading.Event()
    assigned = threading.Event()
    consumer = ck.Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group,
                            "enable.auto.commit": False, "auto.offset.reset": "latest"})
    consumer.subscribe([topic], on_assign=lambda c, parts: assigned.set())

    def poll():
        while not stop.is_set():
            consumer.poll(0.2)

    t = threading.Thread(target=poll)
    t.start()
    try:
        assert assigned.wait(30)
        before = kafka.committed(group, topic)
        r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group, "--topics", topic,
                     "--to-earliest", "--execute")
        assert r.returncode == 4, r.stdout + r.stderr
        assert "active member" in r.stderr
        assert kafka.committed(group, topic) == before
    finally:
        stop.set()
        t.join()
        consumer.close()


# ---- replay copy ----

def dlq_headers(part, i):
    """Half parse errors back to raw-a, half delivery failures back to raw-b;
    messages 0 of each partition lack the origin header."""
    return {"error.type": "parse_error" if i % 2 else "delivery_failed",
            "origin.topic": "" if i == 0 else (RAW_A if i % 2 else RAW_B),
            "log_type": "cloudtrail" if part == 0 else "vpcflowlogs",
            "attempts": "5"}


RAW_A, RAW_B = unique("e2e-raw-a"), unique("e2e-raw-b")


def consume_all(kafka, topic, n):
    msgs = kafka.consume(topic, n, timeout=30)
    return sorted((m.key(), m.value(), tuple(sorted((k, v) for k, v in m.headers()))) for m in msgs)


def test_replay_copy_whole_dlq_to_origin(kafka):
    dlq = kafka.create_topic(unique("e2e-dlq"), partitions=2)
    kafka.create_topic(RAW_A, partitions=2)
    kafka.create_topic(RAW_B, partitions=1)
    produce_to(kafka, dlq, {0: 20, 1: 11}, headers=dlq_headers)
    # 31 messages: 2 without origin; odd i -> RAW_A (10 + 5), even i > 0 -> RAW_B (9 + 5)
    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to-origin")
    assert r.returncode == 0, r.stderr
    assert "read 31 message(s)" in r.stdout and "2 without an origin.topic header" in r.stdout
    assert f"would copy 15 to {RAW_A}" in r.stdout and f"would copy 14 to {RAW_B}" in r.stdout
    assert "dry run" in r.stdout

    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to-origin", "--execute")
    assert r.returncode == 0, r.stderr
    assert "delivered 29, failed 0, refused 0" in r.stdout
    a = consume_all(kafka, RAW_A, 15)
    b = consume_all(kafka, RAW_B, 14)
    assert len(a) == 15 and len(b) == 14
    for key, value, headers in a + b:
        part, i = key.decode().split("-")
        assert value == f"value {part}-{i}".encode()          # value and key unchanged
        h = dict(headers)
        assert h[b"attempts".decode()] == b"5"                 # headers kept
        assert h["replay.source"].decode().startswith(dlq + f"/{part}/")
    # The source is not consumed as a group: nothing is committed for it.
    r = siemproc("lag", "--brokers", kafka.bootstrap, "--group", "siemproc-replay", "--json")
    assert dlq not in r.stdout

    # Replaying again copies the same keys and values again: the documents made
    # from them get the same ids, so nothing new appears downstream.
    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to-origin", "--execute")
    assert r.returncode == 0, r.stderr
    again = consume_all(kafka, RAW_A, 30)
    assert len(again) == 30
    assert {(k, v) for k, v, _ in again} == {(k, v) for k, v, _ in a}


def test_replay_copy_filters_and_bounds(kafka):
    dlq = kafka.create_topic(unique("e2e-dlq-filter"), partitions=2)
    dest = kafka.create_topic(unique("e2e-normalized"), partitions=1)
    produce_to(kafka, dlq, {0: 6, 1: 6}, headers=dlq_headers)
    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to", dest,
                 "--error-type", "parse_error", "--log-type", "vpcflowlogs", "--execute")
    assert r.returncode == 0, r.stderr
    assert "9 filtered out" in r.stdout and "delivered 3," in r.stdout
    got = consume_all(kafka, dest, 3)
    assert [k for k, _, _ in got] == [b"1-1", b"1-3", b"1-5"]

    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to", dest,
                 "--max-messages", "4")
    assert r.returncode == 0, r.stderr
    assert "read 4 message(s)" in r.stdout and "max-messages" in r.stderr

    since = str(int(time.time() * 1000) + 3_600_000)
    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to", dest, "--since", since)
    assert r.returncode == 0 and "read 0 message(s)" in r.stdout

    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq)
    assert r.returncode == 2
    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to", "x", "--to-origin")
    assert r.returncode == 2


# ---- replay into the real sink: documents are never duplicated ----

def wait_lag_zero(kafka, group, topic, timeout=60):
    def caught_up():
        r = siemproc("lag", "--brokers", kafka.bootstrap, "--group", group, "--topics", topic, "--json")
        return r.returncode == 0 and json.loads(r.stdout)["total"] == 0
    assert wait_for(caught_up, timeout), f"group {group} did not catch up on {topic}"


def start_sink(kafka, opensearch, topic, group, retry):
    return subprocess.Popen([BIN, "run", "--stage", "sink", "--brokers", kafka.bootstrap, "--topics", topic,
                             "--group", group, "--retry-topic", retry, "--opensearch-url", opensearch.url,
                             "--batch-linger-ms", "50"], stderr=subprocess.PIPE, text=True)


def stop_sink(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    return proc.stderr.read()


def test_replays_into_the_sink_never_duplicate_documents(kafka, opensearch):
    norm = kafka.create_topic(unique("e2e-replay-norm"), partitions=2)
    retry = kafka.create_topic(unique("e2e-replay-retry"), partitions=1)
    dlq = kafka.create_topic(unique("e2e-replay-dlq"), partitions=2)
    index = unique("e2e-replay-docs")
    group = unique("e2e-replay-sink")
    n = 40
    kafka.produce(dlq, [(f"doc-{i}", json.dumps({"@timestamp": "2026-11-28T00:00:00Z", "message": f"event {i}"}),
                         {"index": index, "log_type": "cloudtrail", "origin.topic": norm,
                          "error.type": "delivery_failed"}) for i in range(n)])
    sink = start_sink(kafka, opensearch, norm, group, retry)
    try:
        for attempt in (1, 2):   # the same dead letters replayed twice
            r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to-origin", "--execute")
            assert r.returncode == 0 and f"delivered {n}," in r.stdout, r.stdout + r.stderr
            wait_lag_zero(kafka, group, norm)
            assert opensearch.wait_for_count(index, n, timeout=30) == n
    finally:
        log = stop_sink(sink)
    assert f"messages={2 * n} acked={2 * n} duplicates={n}" in log, log[-2000:]

    # Reprocess the whole topic from the beginning with the group stopped.
    r = siemproc("replay", "offsets", "--brokers", kafka.bootstrap, "--group", group, "--topics", norm,
                 "--to-earliest", "--execute")
    assert r.returncode == 0, r.stderr
    _, report = lag_json(kafka, group, "--topics", norm)
    assert report["total"] == 2 * n
    sink = start_sink(kafka, opensearch, norm, group, retry)
    try:
        wait_lag_zero(kafka, group, norm)
    finally:
        log = stop_sink(sink)
    assert f"messages={2 * n} acked={2 * n} duplicates={2 * n}" in log, log[-2000:]
    opensearch.refresh(index)
    assert opensearch.count(index) == n
    opensearch.delete_index(index)


def test_replay_copy_to_a_missing_topic_leaves_the_messages(kafka):
    dlq = kafka.create_topic(unique("e2e-dlq-missing"), partitions=1)
    dest = kafka.create_topic(unique("e2e-raw-present"), partitions=1)
    missing = unique("e2e-raw-missing")
    kafka.produce(dlq, [(f"k{i}", f"v{i}", {"origin.topic": dest if i % 3 else missing}) for i in range(9)])
    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to-origin")
    assert r.returncode == 0, r.stderr
    assert f"would copy 6 to {dest}" in r.stdout and f"left 3 for {missing}: no such topic" in r.stdout
    assert f"destination {missing}: topic {missing}: not found" in r.stderr
    r = siemproc("replay", "copy", "--brokers", kafka.bootstrap, "--from", dlq, "--to-origin", "--execute")
    assert r.returncode == 1          # something could not be copied
    assert "delivered 6, failed 0" in r.stdout
    assert len(kafka.consume(dest, 6)) == 6
