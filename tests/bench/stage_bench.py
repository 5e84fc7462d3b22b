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
Also reported, to see what bounds the wall-clock rate on a small machine: the
stage's CPU per thread group (workers, the delivery thread, librdkafka's
broker threads), its minor page faults, the CPU the Kafka broker and the S3
server used meanwhile, and how busy the whole machine was (other users
included).

usage: tests/infra/pyenv.sh; $VENV/bin/python tests/bench/stage_bench.py
           [--events N] [--workers 2] [--scenario cwl|s3|both] [--repeat N] [--json]
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


def minor_faults(pid):
    """Minor page faults of a process so far."""
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[7])
    except OSError:
        return 0


def thread_cpu(pid, into):
    """Per thread name: CPU seconds so far (the largest value seen per thread)."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return into
    for tid in tids:
        try:
            name, rest = open(f"/proc/{pid}/task/{tid}/stat").read().split("(", 1)[1].rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        into[tid] = (name.rstrip("0123456789"), (int(fields[11]) + int(fields[12])) / tick)
    return into


def by_group(threads):
    out = {}
    for name, sec in threads.values():
        out[name] = round(out.get(name, 0.0) + sec, 2)
    return out


def machine_busy():
    """(busy, total) jiffies of the whole machine."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


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
    others0 = {"kafka": cpu_seconds(kafka.pid), "s3": cpu_seconds(s3.pid)}
    busy0 = machine_busy()
    t0 = time.monotonic()
    stage.start()
    samples, rss, cpu, threads, faults = [], 0, 0.0, {}, 0
    while True:
        n = end_offsets(watcher, out)
        samples.append((time.monotonic() - t0, n))
        rss = max(rss, peak_rss_kb(stage.proc.pid))
        cpu = max(cpu, cpu_seconds(stage.proc.pid))
        faults = max(faults, minor_faults(stage.proc.pid))
        thread_cpu(stage.proc.pid, threads)
        if n >= total or not stage.running() or samples[-1][0] > 600:
            break
        time.sleep(0.25)
    rss = max(rss, peak_rss_kb(stage.proc.pid))
    others = {"kafka": round(cpu_seconds(kafka.pid) - others0["kafka"], 2), "s3": round(cpu_seconds(s3.pid) - others0["s3"], 2)}
    busy1 = machine_busy()
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
            "events_per_cpu_s": round(samples[-1][1] / cpu) if cpu else 0, "stage_threads_cpu_s": by_group(threads),
            "kafka_cpu_s": others["kafka"], "s3_cpu_s": others["s3"], "page_faults": faults,
            "machine_busy_pct": round(100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])),
            "log": str(stage.log_path)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenario", choices=["cwl", "s3", "both"], default="both")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--stage-args", default="", help="extra stage flags, e.g. \"--compression zstd\"")
    a = ap.parse_args()
    su.need_binary()
    kafka = infra.Kafka(secure=os.environ.get("KAFKA_SECURE", "1") == "1").start()
    s3 = infra.S3().start()
    log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    results = [run(kafka, s3, sc, a.events, a.workers, log_dir, a.stage_args.split())
               for sc in (["cwl", "s3"] if a.scenario == "both" else [a.scenario]) for _ in range(a.repeat)]
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
            print(f"     stage threads (CPU s) {r['stage_threads_cpu_s']}; meanwhile Kafka broker {r['kafka_cpu_s']} s, "
                  f"S3 server {r['s3_cpu_s']} s CPU; machine {r['machine_busy_pct']}% busy; {r['page_faults']:,} page faults")


if __name__ == "__main__":
    main()
