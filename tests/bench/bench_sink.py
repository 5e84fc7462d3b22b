#!/usr/bin/env python3
"""Sink benchmark: documents/s from Kafka into OpenSearch, and CPU per 1,000
documents of the sink process and of OpenSearch (utime + stime from
/proc/<pid>/stat of both, over the same interval).

The documents are the reference ones (`siemproc parse --bulk` of the bundled
fixtures and the shared corpus) repeated under distinct ids up to --docs,
produced to a fresh topic first; the clock starts when the sink starts and
stops when its group has committed the whole topic. Kafka and OpenSearch are
started through tests/infra (their env variables apply).

usage: tests/infra/pyenv.sh; $VENV/bin/python tests/bench/bench_sink.py [--docs N] [--workers N]
       [--batch-docs N] [--no-gzip] [--keep]
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import infra  # noqa: E402
import sinklib  # noqa: E402
import stage_util as su  # noqa: E402
from infra import unique  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process (and its finished children: not counted)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def documents(n):
    base = sinklib.few_indices(sinklib.reference_docs(), 4)
    base = [(a, d) for a, d in base if d.startswith("{")]
    out, k = [], 0
    while len(out) < n:
        for action, doc in base:
            (op, meta), = action.items()
            out.append(({op: dict(meta, _id=f"{meta['_id']}-{k}")}, doc))
        k += 1
    return out[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=200000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-docs", type=int, default=1000)
    ap.add_argument("--no-gzip", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the indices")
    a = ap.parse_args()

    kafka, opensearch = infra.Kafka(secure=False).start(), infra.OpenSearch().start()
    os_pid = int(opensearch.info["OPENSEARCH_PID"])
    prefix = unique("bench") + "-"
    sinklib.run("setup", "--opensearch-url", opensearch.url, "--index-prefix", prefix, "--index-replicas", "0")
    docs = sinklib.prefixed(documents(a.docs), prefix)
    doc_bytes = sum(len(d) for _, d in docs)
    topic, retry = unique("bench-in"), unique("bench-retry")
    kafka.create_topic(topic, 6)
    kafka.create_topic(retry, 1)
    t0 = time.monotonic()
    kafka.produce(topic, sinklib.as_messages(docs, topic), timeout=600, **{"linger.ms": 50})
    print(f"produced {len(docs)} documents ({doc_bytes / 1e6:.1f} MB) in {time.monotonic() - t0:.1f}s", flush=True)

    group = unique("bench-grp")
    extra = ["--workers", str(a.workers), "--batch-max-docs", str(a.batch_docs), "--summary-interval-s", "5"]
    if a.no_gzip:
        extra += ["--opensearch-gzip=false"]
    os_cpu0 = cpu_seconds(os_pid)
    t0 = time.monotonic()
    sink = sinklib.Proc(sinklib.sink_args(kafka, opensearch.url, topic, retry, group, *extra), "/tmp",
                        "bench-sink").start()
    sink_cpu = 0.0
    try:
        while True:
            sink_cpu = cpu_seconds(sink.proc.pid)
            got, ends = su.committed_all(kafka, group, topic, timeout=0.5)
            if got == ends:
                break
            if not sink.running():
                raise SystemExit(f"sink exited:\n{sink.text()[-2000:]}")
        wall = time.monotonic() - t0
        os_cpu = cpu_seconds(os_pid) - os_cpu0
    finally:
        sink.stop()
        if not a.keep:
            opensearch.request("DELETE", f"/{prefix}*")
    n = len(docs)
    c = sink.counters("sink")
    print(f"sink: {c.get('acked')} acked, {c.get('requests')} bulk requests, {c.get('retries')} retries, "
          f"{c.get('bytes_sent', 0) / 1e6:.1f} MB sent (gzip {'off' if a.no_gzip else 'on'})")
    print(f"throughput:        {n / wall:,.0f} documents/s ({n} in {wall:.1f}s, {doc_bytes / wall / 1e6:.1f} MB/s)")
    print(f"sink CPU:          {sink_cpu * 1e6 / n:,.1f} ms per 1,000 documents ({sink_cpu:.2f}s)")
    print(f"OpenSearch CPU:    {os_cpu * 1e6 / n:,.1f} ms per 1,000 documents ({os_cpu:.2f}s)")
    print(f"sink / OpenSearch: {sink_cpu / os_cpu:.3f} (target <= 0.2)")
    return 0 if sink_cpu <= os_cpu / 5 else 1


if __name__ == "__main__":
    sys.exit(main())
