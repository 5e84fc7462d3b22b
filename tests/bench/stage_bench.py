#!/usr/bin/env python3
"""Throughput of `siemproc run --stage normalize` (raw topic -> output topic)
against the real local Kafka broker and S3 server (tests/infra), for VPC Flow
Logs delivered as CloudWatch Logs payloads and as S3 objects.

The raw topic is filled first; then the stage starts and the output topic's
end offsets are sampled. Reported per scenario: events/s over the steady part
(10%..90% of the documents) and overall from start, consumer-side bytes/s
(raw message bytes, plus S3 object bytes for notifications), producer-side
bytes/s (document bytes before compression), the stage's peak RSS, and its
CPU time (events per CPU-second does not depend on what else runs on the box).

usage: tests/infra/pyenv.sh; $VENV/bin/python tests/bench/stage_bench.py
           [--events N] [--workers 2] [--scenario cwl|s3|both] [--json]
Needs SIEMPROC_BIN (default build/siemproc). Services are started if needed
and left running.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import infra  # noqa: E402
import stage_util as su  # noqa: E402


def fill_cwl(kafka, topic, events, per_payload=1000):
    import confluent_kafka
    p = confluent_kafka.Producer({"bootstrap.servers": kafka.bootstrap, "linger.ms": 50,
                                  "compression.type": "lz4", "queue.buffering.max.kbytes": 262144})
    lines = su.vpc_lines(per_payload * 20, seed=11)
    raw_bytes = 0
    for i in range(events // per_payload):
        chunk = lines[(i % 20) * per_payload:(i % 20 + 1) * per_payload]
        payload = su.gz(su.cwl_payload("/aws/vpc/flowlogs/bench", chunk, first_id=i * per_payload))
        raw_bytes += len(payload)
        while True:
            try:
                p.produce(topic, payload, key=str(i))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(120) == 0
    return events // per_payload * per_payload, raw_bytes


def fill_s3(kafka, s3, topic, events, per_object=100_000):
    bucket = s3.make_bucket(infra.unique("bench"))
    nobj = max(1, events // per_object)
    body = su.gz("\n".join(su.vpc_lines(per_object, seed=12)) + "\n")
    keys = []
    for i in range(nobj):
        key = su.TYPE_KEYS["vpcflowlogs"].format(n=f"bench{i}")
        s3.put(bucket, key, body)
        keys.append(key)
    kafka.produce(topic, [(k, su.s3_notification(bucket, [k])) for k in keys])
    return nobj * per_object, 0


def end_offsets(consumer, topic):
    import confluent_kafka
    md = consumer.list_topics(topic, timeout=10).topics[topic]
    return sum(consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p), timeout=10)[1]
               for p in md.partitions)


def cpu_seconds(pid):
    """user + system CPU time of a process so far."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def peak_rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(kafka, s3, scenario, events, workers, log_dir, extra=()):
    import confluent_kafka
    raw, out, retry, group = su.topics(kafka, partitions=4)
    total, raw_bytes = fill_cwl(kafka, raw, events) if scenario == "cwl" else fill_s3(kafka, s3, raw, events)
    watcher = confluent_kafka.Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": infra.unique("w")})
    stage = su.Stage(kafka, s3 if scenario == "s3" else None, log_dir, topics=raw, out=out, retry=retry,
                     group=group, args=["--workers", str(workers), *extra], name=f"bench-{scenario}")
    t0 = time.monotonic()
    stage.start()
    samples, rss, cpu = [], 0, 0.0
    while True:
        n = end_offsets(watcher, out)
        samples.append((time.monotonic() - t0, n))
        rss = max(rss, peak_rss_kb(stage.proc.pid))
        cpu = max(cpu, cpu_seconds(stage.proc.pid))
        if n >= total or not stage.running() or samples[-1][0] > 600:
            break
        time.sleep(0.25)
    rss = max(rss, peak_rss_kb(stage.proc.pid))
    time.sleep(1.2)                                   # one more summary line with the final counters
    stage.stop()
    watcher.close()
    s = stage.summary()
    elapsed = samples[-1][0]
    lo = next(x for x in samples if x[1] >= 0.1 * total)
    hi = next(x for x in samples if x[1] >= 0.9 * total)
    steady = (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else float("nan")
    in_bytes = s.get("bytes_in", raw_bytes) + s.get("object_bytes", 0)
    return {"scenario": scenario, "events": total, "docs_out": samples[-1][1], "workers": workers,
            "seconds": round(elapsed, 2), "events_per_s_steady": round(steady),
            "events_per_s_overall": round(samples[-1][1] / elapsed),
            "consumer_bytes_per_s": round(in_bytes / elapsed), "producer_bytes_per_s": round(s.get("doc_bytes", 0) / elapsed),
            "peak_rss_mb": round(rss / 1024, 1), "stage_cpu_s": round(cpu, 2),
            "events_per_cpu_s": round(samples[-1][1] / cpu) if cpu else 0, "log": str(stage.log_path)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenario", choices=["cwl", "s3", "both"], default="both")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--stage-args", default="", help="extra stage flags, e.g. \"--compression zstd\"")
    a = ap.parse_args()
    su.need_binary()
    kafka = infra.Kafka(secure=os.environ.get("KAFKA_SECURE", "1") == "1").start()
    s3 = infra.S3().start()
    log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    results = [run(kafka, s3, sc, a.events, a.workers, log_dir, a.stage_args.split())
               for sc in (["cwl", "s3"] if a.scenario == "both" else [a.scenario])]
    print(f"# {os.cpu_count()} CPUs; broker and S3 server on the same machine")
    for r in results:
        if a.json:
            print(json.dumps(r))
        else:
            print(f"{r['scenario']:>3}: {r['events']} events, {r['workers']} workers: {r['events_per_s_steady']:,} events/s "
                  f"steady ({r['events_per_s_overall']:,} overall incl. start-up, {r['seconds']} s); consumer "
                  f"{r['consumer_bytes_per_s'] / 1e6:.1f} MB/s, producer {r['producer_bytes_per_s'] / 1e6:.1f} MB/s "
                  f"(documents before compression); peak RSS {r['peak_rss_mb']} MB; stage CPU {r['stage_cpu_s']} s = "
                  f"{r['events_per_cpu_s']:,} events per CPU-second")


if __name__ == "__main__":
    main()
