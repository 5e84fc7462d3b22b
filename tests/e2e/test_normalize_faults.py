"""Fault tests of the normalize stage against the real broker and S3 server:
S3 errors then recovery (through a fault-injecting proxy), kill -9 mid-object
and restart, a broker restart mid-run, two instances rebalancing, and a
SIGTERM drain. In each, every expected document id reaches the output topic,
a repeated id always carries the identical document, and the committed
offsets end at the end of the raw topic."""
import time

import pytest

import stage_util as su
from faultproxy import FaultProxy
from infra import unique


@pytest.fixture
def proxy(s3):
    p = FaultProxy(s3.endpoint).start()
    yield p
    p.stop()


def upload_vpc(s3, bucket, tmp_path, n, lines, seed=0):
    """n gzip VPC Flow Log objects; returns [(key, {id: digest})]."""
    objs = []
    for i in range(n):
        key = su.TYPE_KEYS["vpcflowlogs"].format(n=f"{seed}-{i}")
        data = su.gz("\n".join(su.vpc_lines(lines, seed=seed * 1000 + i)) + "\n")
        s3.put(bucket, key, data)
        local = tmp_path / f"o{seed}-{i}.gz"
        local.write_bytes(data)
        objs.append((key, su.reference_ids(local, key)))
    return objs


def all_ids(objs):
    out = {}
    for _, ids in objs:
        out.update(ids)
    return out


def wait_output(reader, want_ids, timeout=120, stages=()):
    """Read until every wanted id is there; returns {id: digest}."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = su.digests_by_id(reader.poll(0.5))
        if want_ids.keys() <= got.keys():
            return got
        if stages and not any(s.running() for s in stages):
            break
    got = su.digests_by_id(reader.poll(1))
    missing = len(want_ids.keys() - got.keys())
    raise AssertionError(f"{missing} of {len(want_ids)} documents missing\n" +
                         "\n".join(s.text()[-2000:] for s in stages))


def check_output(got, want):
    assert got.keys() == want.keys()
    assert all(got[k] == want[k] for k in want), "a document differs from `siemproc parse`"


def finish(kafka, group, raw, reader, want, stages, commit_timeout=30):
    """Every wanted document reaches the output, the group has committed the
    whole raw topic, and the stages exit 0 on SIGTERM; the output is exactly
    what `siemproc parse` gives (repeats identical)."""
    got = wait_output(reader, want, stages=stages)
    committed, ends = su.committed_all(kafka, group, raw, timeout=commit_timeout)
    for stage in stages:
        rc, _ = stage.stop()
        assert rc == 0, stage.text()[-2000:]
    check_output(got, want)
    assert committed == ends
    reader.close()


def test_s3_errors_then_recovery(kafka, s3, proxy, tmp_path):
    raw, out, retry, group = su.topics(kafka)
    bucket = s3.make_bucket(unique("flaky"))
    (a, a_ids), (b, _), (c, c_ids) = upload_vpc(s3, bucket, tmp_path, 3, 20000, seed=1)
    ra = proxy.rule(a, fail=2, status=500)
    rb = proxy.rule(b, fail=1000, status=503)
    rc_ = proxy.rule(c, cut=1, cut_after=100000)
    kafka.produce(raw, [su.s3_notification(bucket, [a]), su.s3_notification(bucket, [b, c])])
    stage = su.Stage(kafka, s3, tmp_path, topics=raw, out=out, retry=retry, group=group, s3_endpoint=proxy.endpoint,
                     args=["--s3-max-attempts", "3", "--s3-retry-base-ms", "50", "--s3-retry-max-ms", "200"]).start()
    finish(kafka, group, raw, su.TopicReader(kafka, out), {**a_ids, **c_ids}, [stage])
    retried = su.read_topic(kafka, retry, 1, timeout=30)
    assert len(retried) == 1
    _, value, h, *_ = retried[0]
    assert h["error.type"] == b"s3_unavailable" and b"3 attempts" in h["error.message"]
    assert h["origin"] == f"s3://{bucket}/{b}".encode() and b.encode() in value
    assert (ra.gets, rb.gets, rc_.gets) == (3, 3, 2)      # 2 failures + success; 3 attempts; cut + full read
    assert stage.summary()["objects_failed"] == 1


def test_kill9_mid_object_then_restart(kafka, s3, proxy, tmp_path):
    raw, out, retry, group = su.topics(kafka)
    bucket = s3.make_bucket(unique("big"))
    objs = upload_vpc(s3, bucket, tmp_path, 1, 60000, seed=2)
    key, want = objs[0]
    proxy.rule(key, rate=400_000)                        # ~4 s to read: the kill lands mid-object
    kafka.produce(raw, [su.s3_notification(bucket, [key])])
    # A short session: the broker notices the killed member in seconds, not 45.
    mk = lambda: su.Stage(kafka, s3, tmp_path, topics=raw, out=out, retry=retry, group=group,
                          s3_endpoint=proxy.endpoint, args=["--set", "kafka.consumer.session.timeout.ms=6000"])
    first = mk().start()
    reader = su.TopicReader(kafka, out)
    while len(reader.poll(0.2)) < 1000:
        assert first.running(), first.text()[-2000:]
    first.kill9()
    before = len(su.digests_by_id(reader.poll(0.5)))
    assert 0 < before < len(want), "the kill did not land mid-object"
    finish(kafka, group, raw, reader, want, [mk().start()])   # nothing missing; repeats are identical


def test_broker_restart_mid_run(kafka, s3, proxy, tmp_path):
    raw, out, retry, group = su.topics(kafka)
    bucket = s3.make_bucket(unique("bounce"))
    objs = upload_vpc(s3, bucket, tmp_path, 2, 25000, seed=3)
    for key, _ in objs:
        proxy.rule(key, rate=300_000)
    kafka.produce(raw, [su.s3_notification(bucket, [k]) for k, _ in objs])
    stage = su.Stage(kafka, s3, tmp_path, topics=raw, out=out, retry=retry, group=group,
                     s3_endpoint=proxy.endpoint).start()
    stage.wait_log(r"docs=[1-9]")
    kafka.restart()
    assert stage.running(), stage.text()[-2000:]
    finish(kafka, group, raw, su.TopicReader(kafka, out), all_ids(objs), [stage], commit_timeout=60)
    assert stage.summary()["lost"] == 0


def test_rebalance_two_instances(kafka, s3, proxy, tmp_path):
    raw, out, retry, group = su.topics(kafka, partitions=6)
    bucket = s3.make_bucket(unique("shared"))
    objs = upload_vpc(s3, bucket, tmp_path, 24, 1500, seed=4)
    for key, _ in objs:                               # ~12 s of work for one instance alone: the second
        proxy.rule(key, delay=0.5)                    # one joins long before the first could finish
    kafka.produce(raw, [(f"k{i}", su.s3_notification(bucket, [k])) for i, (k, _) in enumerate(objs)])
    mk = lambda name: su.Stage(kafka, s3, tmp_path, topics=raw, out=out, retry=retry, group=group,
                               s3_endpoint=proxy.endpoint, name=name, args=["--workers", "1"])
    a = mk("a").start()
    a.wait_log(r"docs=[1-9]")
    b = mk("b").start()
    finish(kafka, group, raw, su.TopicReader(kafka, out), all_ids(objs), [a, b])
    sa, sb = a.summary(), b.summary()
    assert sa["messages"] > 0 and sb["messages"] > 0, "the second instance got no work"
    assert sa["messages"] + sb["messages"] >= len(objs)


def test_sigterm_drains_commits_and_exits_zero(kafka, s3, proxy, tmp_path):
    raw, out, retry, group = su.topics(kafka, partitions=2)
    bucket = s3.make_bucket(unique("drain"))
    objs = upload_vpc(s3, bucket, tmp_path, 20, 1000, seed=5)
    for key, _ in objs:
        proxy.rule(key, delay=0.3)
    where = su.produce_with_offsets(kafka, raw, [(su.s3_notification(bucket, [k]).encode(), None) for k, _ in objs])
    mk = lambda: su.Stage(kafka, s3, tmp_path, topics=raw, out=out, retry=retry, group=group,
                          s3_endpoint=proxy.endpoint, args=["--shutdown-timeout-ms", "10000"])
    stage = mk().start()
    stage.wait_log(r"docs=[1-9]")
    rc, secs = stage.stop()
    assert rc == 0 and secs < 8, (rc, secs, stage.text()[-2000:])
    committed, ends = su.committed_all(kafka, group, raw, timeout=1)
    assert committed != ends, "everything finished before the signal: the drain was not exercised"
    reader = su.TopicReader(kafka, out)
    got = su.digests_by_id(reader.poll(2))
    for (key, ids), (part, off) in zip(objs, where):     # committed => every document is out
        if off < committed[part]:
            assert ids.keys() <= got.keys(), f"{key} committed but not all of its documents are out"
    finish(kafka, group, raw, reader, all_ids(objs), [mk().start()])
