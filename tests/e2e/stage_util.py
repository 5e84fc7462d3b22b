"""Helpers for the stream stage tests: run `siemproc run --stage ...` as a child
process, read whole topics, build notifications and CloudWatch Logs payloads,
and compute the reference documents with `siemproc parse`.

Processes started here are stopped by their own pid only.
"""
import base64
import gzip
import json
import os
import random
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra import REPO, _need, unique

BIN = Path(os.environ.get("SIEMPROC_BIN") or REPO / "build" / "siemproc")
SHARED = Path(os.environ.get("SIEMPROC_SHARED") or REPO.parent / "shared")

# S3 keys that select each log type (patterns of schemas/*.json).
TYPE_KEYS = {
    "vpcflowlogs": "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/01/"
                   "123456789012_vpcflowlogs_us-east-1_fl-0a1b2c_20240101T0000Z_{n}.log.gz",
    "cloudtrail": "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/01/"
                  "123456789012_CloudTrail_us-east-1_20240101T0000Z_{n}.json.gz",
    "alb": "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/01/01/123456789012_elasticloadbalancing_"
           "us-east-1_app.my-lb.50dc6c495c0c9188_20240101T0000Z_10.0.0.1_{n}.log.gz",
    "s3accesslog": "s3logs/2024-01-01-00-00-{n:02d}-0123456789ABCDEF",
}


def need_binary():
    if not BIN.is_file():
        raise RuntimeError(f"siemproc binary not found at {BIN}: build it and set SIEMPROC_BIN")
    return BIN


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (for --metrics-port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path="/metrics"):
    """(status, body) of GET http://127.0.0.1:port/path; (0, "") while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def s3_env(s3):
    """Environment of a stage process: S3 credentials through the standard chain
    (environment source), nothing inherited that could configure siemproc."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("SIEMPROC_KAFKA_") or k == "SIEMPROC_CONFIG" or k.startswith("AWS_"))}
    if s3 is not None:
        env.update(AWS_ACCESS_KEY_ID=s3.access_key, AWS_SECRET_ACCESS_KEY=s3.secret_key,
                   AWS_REGION=s3.region)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


class Proc:
    """One `siemproc ARGS` child process, its stderr (and stdout unless told
    otherwise) in a file under log_dir; stopped by its own pid only."""

    def __init__(self, args, log_dir, name="siemproc", env=None, stdout_to_log=True):
        self.cmd = [str(need_binary()), *args]
        self.log_path = Path(log_dir) / f"{name}-{unique('log')}.stderr"
        self.env, self.stdout_to_log = env, stdout_to_log
        self.proc = None

    def start(self, extra=()):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd + list(extra), stderr=self.log, env=self.env,
                                     stdout=self.log if self.stdout_to_log else subprocess.DEVNULL)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=90):
        """Signal the process and wait for it; returns its exit code."""
        if self.running():
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.cmd[1:4]} did not stop in {timeout}s:\n{self.text()[-3000:]}")
        finally:
            self.log.close()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def text(self):
        return self.log_path.read_text(errors="replace")

    def last_counters(self, line_pattern):
        """The k=v counters of the last log line matching line_pattern, as ints."""
        lines = [ln for ln in self.text().splitlines() if re.search(line_pattern, ln)]
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])} if lines else {}

    def counters(self, stage):
        """Counters of the last `siemproc: <stage>...: k=v ...` summary line."""
        return self.last_counters(rf"^siemproc: {stage}( \(final\))?: \w+=")

    def wait_log(self, pattern, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.text()):
                return True
            if not self.running():
                break
            time.sleep(0.2)
        raise AssertionError(f"{self.cmd[1:4]} log never matched {pattern!r}:\n{self.text()[-3000:]}")


class Stage(Proc):
    """One `siemproc run --stage normalize` process."""

    def __init__(self, kafka, s3, log_dir, *, topics, out, retry, group, args=(), name="stage", s3_endpoint=None):
        cmd = ["run", "--stage", "normalize", "--brokers", kafka.bootstrap, "--topics", topics,
               "--output-topic", out, "--retry-topic", retry, "--group", group,
               "--summary-interval-s", "1", "--commit-interval-ms", "200"]
        if s3 is not None:
            cmd += ["--s3-endpoint", s3_endpoint or s3.endpoint, "--s3-path-style"]
        super().__init__(cmd + list(args), log_dir, name, env=s3_env(s3), stdout_to_log=False)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signal the process; returns (exit code, seconds it took)."""
        t0 = time.monotonic()
        rc = super().stop(sig, timeout)
        return rc, time.monotonic() - t0

    def summary(self):
        """The last summary line's counters as a dict of ints."""
        return self.last_counters("records: parsed=")


class TopicReader:
    """Reads every partition of a topic from the beginning, incrementally."""

    def __init__(self, kafka, topic):
        ck = _need("confluent_kafka", "confluent-kafka")
        self.c = ck.Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": unique("reader"),
                              "enable.auto.commit": False, "enable.partition.eof": False,
                              "fetch.wait.max.ms": 50})
        md = self.c.list_topics(topic, timeout=10).topics[topic]
        self.c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in md.partitions])
        self.msgs = []

    def poll(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = self.c.consume(10000, timeout=0.2)
            for m in batch:
                if m.error():
                    raise RuntimeError(f"consume: {m.error()}")
                self.msgs.append((m.key(), m.value(), dict(m.headers() or []), m.partition(), m.offset()))
        return self.msgs

    def until(self, count, timeout=90, settle=1.0, stage=None):
        """Read until at least count messages, then settle seconds more."""
        deadline = time.monotonic() + timeout
        while len(self.msgs) < count and time.monotonic() < deadline:
            self.poll(0.5)
            if stage is not None and not stage.running():
                self.poll(1.0)
                break
        self.poll(settle)
        return self.msgs

    def close(self):
        self.c.close()


def read_topic(kafka, topic, count, timeout=90, settle=1.0, stage=None):
    r = TopicReader(kafka, topic)
    try:
        return r.until(count, timeout, settle, stage)
    finally:
        r.close()


def topics(kafka, partitions=3):
    """Fresh raw, output and retry topics and a group name."""
    raw, out, retry = unique("raw"), unique("ecs-normalized"), unique("ecs-retry")
    kafka.create_topic(raw, partitions)
    kafka.create_topic(out, 3)
    kafka.create_topic(retry, 1)
    return raw, out, retry, unique("grp")


def committed_all(kafka, group, topic, timeout=30):
    """Wait until the group's committed offsets equal the end offsets of the
    topic's non-empty partitions; returns (committed, ends) of those."""
    ck = _need("confluent_kafka", "confluent-kafka")
    c = ck.Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group})
    try:
        deadline = time.monotonic() + timeout
        ends = None
        while True:
            try:
                if ends is None:
                    md = c.list_topics(topic, timeout=10).topics[topic]
                    tps = [ck.TopicPartition(topic, p) for p in md.partitions]
                    ends = {tp.partition: c.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
                    ends = {p: e for p, e in ends.items() if e > 0}   # empty partitions have nothing to commit
                got = {tp.partition: tp.offset for tp in c.committed(tps, timeout=10) if tp.partition in ends}
            except ck.KafkaException:
                # Right after a broker restart leadership is still moving
                # (NOT_LEADER_FOR_PARTITION): ask again until the deadline.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
                continue
            if got == ends or time.monotonic() > deadline:
                return got, ends
            time.sleep(0.3)
    finally:
        c.close()


# ---- reference documents ------------------------------------------------------

def strip(doc):
    """A document without the fields that differ between runs."""
    d = json.loads(doc) if isinstance(doc, (bytes, str)) else dict(doc)
    d.get("event", {}).pop("ingested", None)
    return d


def reference(path, *args):
    """(sorted [(id, index, document JSON)], records failed) of `siemproc parse
    --bulk ARGS PATH`; (None, 0) when parse cannot tell the log type."""
    proc = subprocess.run([str(need_binary()), "parse", "--bulk", *args, str(path)], capture_output=True,
                          timeout=300)
    if proc.returncode == 2:
        return None, 0
    lines = proc.stdout.splitlines()
    docs = []
    for action, doc in zip(lines[0::2], lines[1::2]):
        a = json.loads(action)["index"]
        docs.append((a["_id"], a["_index"], json.dumps(strip(doc), sort_keys=True)))
    summary = proc.stderr.decode().split("summary: parsed=")[1]
    return sorted(docs), int(summary.split("failed=")[1].split()[0])


def digest(value):
    """A document's fingerprint without event.ingested (no JSON parsing: fast for big outputs)."""
    import hashlib
    return hashlib.sha1(re.sub(rb'"ingested":"[^"]*",?', b"", value)).hexdigest()


def digests_by_id(msgs):
    """{id: digest} of output messages; asserts that repeated ids carry identical documents."""
    out = {}
    for key, value, *_ in msgs:
        d = digest(value)
        assert out.setdefault(key, d) == d, f"id {key!r} repeated with a different document"
    return out


def reference_ids(path, key):
    """{id: digest} of `siemproc parse --bulk --s3-key KEY PATH`."""
    out = subprocess.run([str(need_binary()), "parse", "--bulk", "--s3-key", key, str(path)], capture_output=True,
                         check=True, timeout=300).stdout.splitlines()
    return {json.loads(a)["index"]["_id"].encode(): digest(d) for a, d in zip(out[0::2], out[1::2])}


def produce_with_offsets(kafka, topic, messages):
    """Produce (value, headers) pairs; returns [(partition, offset)] in order."""
    ck = _need("confluent_kafka", "confluent-kafka")
    p = ck.Producer({"bootstrap.servers": kafka.bootstrap, "enable.idempotence": True})
    where = [None] * len(messages)

    def on_delivery(i):
        return lambda err, msg: where.__setitem__(i, (msg.partition(), msg.offset()) if err is None else err)

    for i, (value, headers) in enumerate(messages):
        p.produce(topic, value=value, headers=headers, on_delivery=on_delivery(i))
    assert p.flush(30) == 0
    assert all(isinstance(w, tuple) for w in where), where
    return where


# ---- payloads -------------------------------------------------------------------

def s3_record(bucket, key, event="ObjectCreated:Put", time_s="2024-01-01T00:05:00.000Z"):
    from urllib.parse import quote_plus
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": time_s,
            "eventName": event, "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket},
                                       "object": {"key": quote_plus(key, safe="/"), "size": 1}}}


def s3_notification(bucket, keys, **kw):
    return json.dumps({"Records": [s3_record(bucket, k, **kw) for k in keys]})


def sns_wrap(message):
    return json.dumps({"Type": "Notification", "MessageId": "m1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                       "Subject": "Amazon S3 Notification", "Message": message})


def sqs_batch(bodies):
    return json.dumps({"Records": [{"messageId": f"id{i}", "eventSource": "aws:sqs", "body": b}
                                   for i, b in enumerate(bodies)]})


def eventbridge(bucket, key, detail_type="Object Created"):
    from urllib.parse import quote_plus
    return json.dumps({"version": "0", "id": "e1", "detail-type": detail_type, "source": "aws.s3",
                       "account": "123456789012", "time": "2024-01-01T00:05:00Z", "region": "us-east-1",
                       "resources": [f"arn:aws:s3:::{bucket}"],
                       "detail": {"version": "0", "bucket": {"name": bucket},
                                  "object": {"key": quote_plus(key, safe="/"), "size": 5}}})


def vpc_lines(n, seed=1, start=1704067200):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append(f"2 123456789012 eni-0a1b2c3d{i % 50:04d} 10.0.{rnd.randrange(256)}.{rnd.randrange(1, 255)} "
                   f"172.31.{rnd.randrange(256)}.{rnd.randrange(1, 255)} {rnd.randrange(1024, 65535)} "
                   f"{rnd.choice([22, 53, 80, 443])} 6 {rnd.randrange(1, 99)} {rnd.randrange(40, 99999)} "
                   f"{start + i % 3600} {start + i % 3600 + 60} {rnd.choice(['ACCEPT', 'REJECT'])} OK")
    return out


def cwl_payload(group, messages, first_id=0, owner="123456789012"):
    return json.dumps({"messageType": "DATA_MESSAGE", "owner": owner, "logGroup": group,
                       "logStream": "eni-0a1b2c3d-all", "subscriptionFilters": ["to-kafka"],
                       "logEvents": [{"id": f"{first_id + i:056d}", "timestamp": 1704067200000 + i, "message": m}
                                     for i, m in enumerate(messages)]}).encode()


def gz(data):
    return gzip.compress(data if isinstance(data, bytes) else data.encode(), 1)


def b64(data):
    return base64.b64encode(data)
