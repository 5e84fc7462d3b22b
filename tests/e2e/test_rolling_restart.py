"""A rolling restart of three normalize instances under load, against the real
broker: a raw topic of 6 partitions is pre-filled with CloudWatch Logs
payloads, three instances of one group work on it, and while they do each is
stopped with SIGTERM and started again, one at a time, the next only once the
previous one is back and assigned partitions. Nothing is lost: every document
`siemproc parse` makes of the payloads reaches the output topic (a repeated id
carries the identical document: work redone after a rebalance, including
partitions librdkafka before 2.10 drops as lost, see processor/kafka_source.h), the
group's offsets end at the end of the raw topic, and every instance exits 0.

Pacing: one raw message in flight per instance (--max-inflight 1, one worker)
and a producer linger of 400 ms make each payload take about half a second,
so the work outlasts the restarts without a large data set."""
import json
import subprocess
import time

import stage_util as su

PARTITIONS, PAYLOADS, EVENTS = 6, 84, 150
PACING = ["--workers", "1", "--max-inflight", "1", "--set", "kafka.producer.linger.ms=400"]


def payloads(tmp_path):
    """(raw messages, {id: digest} that `siemproc parse` gives for them)."""
    lines = su.vpc_lines(PAYLOADS * EVENTS, seed=21)
    msgs, files = [], []
    for i in range(PAYLOADS):
        body = su.cwl_payload("/aws/vpc/flowlogs", lines[i * EVENTS:(i + 1) * EVENTS], first_id=i * EVENTS)
        f = tmp_path / f"cwl{i}.json"
        f.write_bytes(body)
        files.append(str(f))
        msgs.append((f"k{i}", su.gz(body)))
    out = subprocess.run([str(su.need_binary()), "parse", "--bulk", *files], capture_output=True, check=True,
                         timeout=120).stdout.splitlines()
    want = su.digests_by_id((json.loads(a)["index"]["_id"].encode(), d) for a, d in zip(out[0::2], out[1::2]))
    assert len(want) == PAYLOADS * EVENTS
    return msgs, want


def read_all(reader, want, stages, timeout=120):
    """Read until every wanted id is on the output; returns {id: digest} of all read."""
    deadline = time.monotonic() + timeout
    got = {}
    while time.monotonic() < deadline and not want.keys() <= got.keys():
        got = su.digests_by_id(reader.poll(0.5))
    missing = len(want.keys() - got.keys())
    assert not missing, f"{missing} of {len(want)} documents missing\n" + \
        "\n".join(s.text()[-1500:] for s in stages)
    return got


def test_rolling_restart_of_three_instances_loses_nothing(kafka, tmp_path):
    raw, out, retry, group = su.topics(kafka, partitions=PARTITIONS)
    msgs, want = payloads(tmp_path)
    kafka.produce(raw, msgs)
    mk = lambda name: su.Stage(kafka, None, tmp_path, topics=raw, out=out, retry=retry, group=group, name=name,
                               args=PACING)
    stages = [mk(f"i{n}").start() for n in range(3)]
    for s in stages:
        s.wait_log(r"partitions=[1-9]")
    stopped = []
    for n in range(3):
        stages[n].wait_log(r"docs=[1-9]")                     # it is working when the signal comes
        rc, secs = stages[n].stop()
        stopped.append(stages[n])
        assert rc == 0 and secs < 15, (rc, secs, stages[n].text()[-2000:])
        stages[n] = mk(f"i{n}-again").start()
        stages[n].wait_log(r"partitions=[1-9]")
    committed, ends = su.committed_all(kafka, group, raw, timeout=0)
    assert committed != ends, "the work ended before the rolling restart did: nothing was restarted under load"

    reader = su.TopicReader(kafka, out)
    got = read_all(reader, want, stages)
    committed, ends = su.committed_all(kafka, group, raw)
    for s in stages:
        rc, _ = s.stop()
        stopped.append(s)
        assert rc == 0, s.text()[-2000:]
    reader.close()
    assert got.keys() == want.keys()
    assert all(got[k] == want[k] for k in want), "a document differs from `siemproc parse`"
    assert committed == ends and sum(ends.values()) == PAYLOADS
    summaries = [s.summary() for s in stopped]
    assert all(c["lost"] == 0 and c["retry"] == 0 for c in summaries)
    assert sum(c["cwl"] for c in summaries) >= PAYLOADS          # redone work counts twice, never less
    assert all(c["messages"] > 0 for c in summaries[:3]), "an instance was restarted before it got work"
