"""End-to-end tests of `siemproc run --stage normalize` against the real Kafka
broker and S3 server: the documents on the output topic are exactly those of
`siemproc parse --s3-key KEY` on the same objects (same ids), CloudWatch Logs
payloads (gzip, base64, plain) and raw records give the documents parse gives
them, and everything that fails is on the retry topic with its reason, while
the committed offsets reach the end of the raw topics."""
import json
import os
import subprocess
from collections import Counter

import stage_util as su
from infra import REPO, unique

FIXTURES = REPO / "tests" / "fixtures"
EVENT_TIME = "2024-01-01T00:05:00.000Z"
EVENT_EPOCH = 1704067500


def output_docs(msgs):
    return sorted((k.decode(), h["index"].decode(), json.dumps(su.strip(v), sort_keys=True)) for k, v, h, *_ in msgs)


def corpus_objects():
    """(key, bytes) of the team's fixtures (relative path = key) and, when
    ../shared/corpus is present, real samples under keys of their types."""
    objs = []
    for p in sorted(FIXTURES.rglob("*")):
        if p.is_file():
            objs.append((str(p.relative_to(FIXTURES)), p.read_bytes()))
    corpus = su.SHARED / "corpus"
    groups = {"vpcflowlogs": sorted((corpus / "vpcflow").glob("*.log")),
              "cloudtrail": sorted((corpus / "cloudtrail").glob("test-*-json.log")),
              "alb": [corpus / "elb" / "test-alb.log"],
              "s3accesslog": sorted((corpus / "s3access").glob("*.log"))}
    for typ, files in groups.items():
        files = [f for f in files if f.is_file()]
        if typ == "cloudtrail" and files:          # one JSON-lines object of every sample
            files = [b"".join(f.read_bytes().rstrip(b"\n") + b"\n" for f in files)]
        for n, f in enumerate(files):
            objs.append((su.TYPE_KEYS[typ].format(n=n), f if isinstance(f, bytes) else f.read_bytes()))
    # Generated objects, so the test never depends on ../shared alone; one key
    # with a space and a plus checks the URL-decoding of notification keys.
    vpc = ("\n".join(su.vpc_lines(3000)) + "\n").encode()
    objs.append(("AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/01/a b+c_vpcflowlogs_x.log.gz", vpc))
    trail = {"Records": [{"eventVersion": "1.08", "eventID": f"0000-{i}", "eventTime": "2024-01-01T00:00:00Z",
                          "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1",
                          "sourceIPAddress": f"192.0.2.{i % 250}", "userIdentity": {"type": "IAMUser",
                                                                                   "userName": f"u{i}"},
                          "recipientAccountId": "123456789012"} for i in range(200)]}
    objs.append((su.TYPE_KEYS["cloudtrail"].format(n=99), json.dumps(trail).encode()))
    return [(k, su.gz(b) if k.endswith(".gz") and not b.startswith(b"\x1f\x8b") else b) for k, b in objs]


def notifications(bucket, keys):
    """Every notification shape over the keys, plus ones that fetch nothing."""
    msgs, i = [], 0
    shapes = ["pair", "sns", "sqs", "eventbridge", "plain"]
    while i < len(keys):
        shape = shapes[(i // 2) % len(shapes)]
        if shape == "pair" and i + 1 < len(keys):
            msgs.append(su.s3_notification(bucket, keys[i:i + 2], time_s=EVENT_TIME))
            i += 2
            continue
        k = keys[i]
        one = su.s3_notification(bucket, [k], time_s=EVENT_TIME)
        msgs.append({"sns": su.sns_wrap(one), "sqs": su.sqs_batch([su.sns_wrap(one)]),
                     "eventbridge": su.eventbridge(bucket, k).replace("2024-01-01T00:05:00Z", EVENT_TIME),
                     "plain": one, "pair": one}[shape])
        i += 1
    skipped = [json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket}),
               su.s3_notification(bucket, [keys[0]], event="ObjectRemoved:Delete"),
               su.eventbridge(bucket, keys[0], detail_type="Object Deleted")]
    digest = su.s3_notification(bucket, ["AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/01/d.json.gz"])
    return msgs, skipped, [digest]


def test_s3_notifications_match_parse(kafka, s3, tmp_path):
    raw, out, retry, group = su.topics(kafka)
    bucket = s3.make_bucket(unique("logs"))
    objs = corpus_objects()
    expected, expected_failed, unknown_keys = [], Counter(), []
    for n, (key, data) in enumerate(objs):
        s3.put(bucket, key, data)
        local = tmp_path / f"obj{n}"
        local.write_bytes(data)
        os.utime(local, (EVENT_EPOCH, EVENT_EPOCH))
        docs, failed = su.reference(local, "--s3-key", key)
        if docs is None:
            unknown_keys.append(key)
            continue
        expected += docs
        expected_failed[key] = failed
    msgs, skipped, digest = notifications(bucket, [k for k, _ in objs])
    kafka.produce(raw, [(unique("k"), m) for m in msgs + skipped + digest])

    stage = su.Stage(kafka, s3, tmp_path, topics=raw, out=out, retry=retry, group=group).start()
    got = su.read_topic(kafka, out, len(expected), timeout=120, stage=stage)
    n_retry = sum(expected_failed.values()) + len(unknown_keys)
    retried = su.read_topic(kafka, retry, n_retry, timeout=30)
    committed, ends = su.committed_all(kafka, group, raw)
    rc, secs = stage.stop()
    assert rc == 0, stage.text()[-3000:]

    assert len(got) == len(expected), "documents missing or repeated"
    assert output_docs(got) == sorted(expected)
    types = set(subprocess.run([str(su.need_binary()), "types"], capture_output=True, text=True).stdout.split())
    for k, v, h, *_ in got:
        assert h["log_type"].decode() in types
        assert h["origin"].decode().startswith(f"s3://{bucket}/") and "#" in h["origin"].decode()
    by_key = Counter()
    for k, v, h, *_ in retried:
        origin = h["origin"].decode()
        assert origin.startswith(f"s3://{bucket}/")
        key = origin[len(f"s3://{bucket}/"):].split("#")[0]
        if h["error.type"] == b"parse_error":
            assert "#" in origin and h["log_type"] and h["error.message"]
            assert int(h["attempts"]) == 1 and h["origin.topic"].decode() == raw
        else:
            assert h["error.type"] == b"unknown_type", h
        by_key[key] += 1
    assert by_key == Counter({**{k: c for k, c in expected_failed.items() if c}, **{k: 1 for k in unknown_keys}})
    assert committed == ends, "offsets not committed to the end"
    s = stage.summary()
    assert s["notifications"] == len(msgs) + len(skipped) + len(digest)
    assert s["objects"] == len(objs) + 1 and s["objects_skipped"] == 1
    assert s["objects_failed"] == len(unknown_keys) and s["failed"] == sum(expected_failed.values())
    assert s["parsed"] == len(expected) and s["docs"] == len(expected)
    assert s["retry"] == n_retry and s["lost"] == 0


def test_s3_failures_go_to_retry_topic_with_reason(kafka, s3, tmp_path):
    raw, out, retry, group = su.topics(kafka)
    bucket = s3.make_bucket(unique("logs"))
    good = su.TYPE_KEYS["vpcflowlogs"].format(n=1)
    corrupt = su.TYPE_KEYS["vpcflowlogs"].format(n=2)
    truncated = su.TYPE_KEYS["vpcflowlogs"].format(n=3)
    missing = su.TYPE_KEYS["vpcflowlogs"].format(n=4)
    untyped = "some/prefix/not-a-log-type.txt"
    lines = su.vpc_lines(2000, seed=7)
    s3.put(bucket, good, su.gz("\n".join(lines)))
    s3.put(bucket, corrupt, b"\x1f\x8b\x08\x00" + os.urandom(3000))
    whole = su.gz("\n".join(lines))
    s3.put(bucket, truncated, whole[: len(whole) // 2])
    s3.put(bucket, untyped, b"hello\n")
    notes = [su.s3_notification(bucket, [corrupt, good]), su.s3_notification(bucket, [missing]),
             su.sns_wrap(su.s3_notification(bucket, [truncated])), su.eventbridge(bucket, untyped)]
    kafka.produce(raw, [(f"n{i}", m) for i, m in enumerate(notes)])
    stage = su.Stage(kafka, s3, tmp_path, topics=raw, out=out, retry=retry, group=group).start()
    retried = su.read_topic(kafka, retry, 4, timeout=60, stage=stage)
    got = su.read_topic(kafka, out, 2000, timeout=60)
    committed, ends = su.committed_all(kafka, group, raw)
    rc, _ = stage.stop()
    assert rc == 0
    reasons = {h["origin"].decode().split("/", 3)[3]: h for _, _, h, *_ in retried}
    assert set(reasons) == {corrupt, missing, truncated, untyped}
    assert reasons[corrupt]["error.type"] == b"corrupt_object"
    assert reasons[truncated]["error.type"] == b"corrupt_object"
    assert b"truncated" in reasons[truncated]["error.message"] or b"gzip" in reasons[truncated]["error.message"]
    assert reasons[missing]["error.type"] == b"s3_not_found"
    assert b"1 attempt" in reasons[missing]["error.message"]    # 404 is final: no retries
    assert reasons[untyped]["error.type"] == b"unknown_type"
    for _, v, h, *_ in retried:                                   # the original notification, for a replay
        assert h["origin.topic"].decode() == raw and h["attempts"] == b"1"
        assert b"Records" in v or b"detail-type" in v or b"Notification" in v
    good_ids = {k for k, _, h, *_ in got if h["origin"].decode().startswith(f"s3://{bucket}/{good}#")}
    assert len(good_ids) == 2000                                 # a poison object does not block the others
    assert committed == ends


def test_cloudwatch_logs_payloads_and_raw_records(kafka, tmp_path):
    raw, out, retry, group = su.topics(kafka)
    mapped = unique("raw-mapped")
    kafka.create_topic(mapped, 2)
    vpc = su.vpc_lines(300, seed=3)
    cwl = [su.cwl_payload("/aws/vpc/flowlogs", vpc[i * 50:(i + 1) * 50], first_id=i * 50) for i in range(6)]
    fixture_cwl = sorted((FIXTURES / "cloudwatch-logs").glob("*.json")) + sorted((FIXTURES / "firelens").glob("cwl*.json"))
    # (bytes on the wire, what parse reads): gzip, base64 of gzip, plain, base64 of plain.
    payloads = [(su.gz(cwl[0]), cwl[0]), (su.b64(su.gz(cwl[1])), cwl[1]), (cwl[2], cwl[2]),
                (su.b64(cwl[3]), cwl[3]), (su.gz(cwl[4]), cwl[4]), (cwl[5], cwl[5])]
    payloads += [(f.read_bytes(), f.read_bytes()) for f in fixture_cwl]
    trail = json.dumps({"eventVersion": "1.08", "eventID": "raw-ct-1", "eventTime": "2024-01-01T00:00:00Z",
                        "eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "awsRegion": "us-east-1",
                        "sourceIPAddress": "198.51.100.7", "userIdentity": {"type": "Root"}}).encode()
    control = json.dumps({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
                          "logStream": "", "subscriptionFilters": [], "logEvents": [
                              {"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE: Checking health"}]}).encode()
    bad = [(b"neither a notification nor a log", None),
           (su.gz(su.cwl_payload("/no/such/group", ["x"])), None),
           (vpc[0].encode(), [("log_type", b"nosuchtype")])]
    records = [(line.encode(), [("log_type", b"vpcflowlogs")]) for line in vpc[:40]] + \
              [(trail, [("log_type", b"cloudtrail")])]
    msgs = [(p, None) for p, _ in payloads] + records + [(control, None)] + bad
    where = su.produce_with_offsets(kafka, raw, msgs)
    mapped_lines = vpc[100:130]
    where_mapped = su.produce_with_offsets(kafka, mapped, [(ln.encode(), None) for ln in mapped_lines])

    expected = []
    for i, (_, plain) in enumerate(payloads):
        f = tmp_path / f"cwl{i}"
        f.write_bytes(plain)
        expected += su.reference(f)[0]
    for (value, headers), (part, off) in zip(records, where[len(payloads):]):
        f = tmp_path / f"rec{part}-{off}"
        f.write_bytes(value)
        expected += su.reference(f, "--type", headers[0][1].decode(), "--s3-key", f"{raw}/{part}/{off}")[0]
    for line, (part, off) in zip(mapped_lines, where_mapped):
        f = tmp_path / f"map{part}-{off}"
        f.write_text(line)
        expected += su.reference(f, "--type", "vpcflowlogs", "--s3-key", f"{mapped}/{part}/{off}")[0]
    # parse names the key it was given; the stage does not emit a Kafka origin as an S3 key.
    expected = sorted((i, x, json.dumps(_drop_key(json.loads(d)), sort_keys=True)) for i, x, d in expected)

    stage = su.Stage(kafka, None, tmp_path, topics=f"{raw},{mapped}", out=out, retry=retry, group=group,
                     args=["--topic-types", f"{mapped}=vpcflowlogs"]).start()
    got = su.read_topic(kafka, out, len(expected), timeout=60, stage=stage)
    retried = su.read_topic(kafka, retry, len(bad), timeout=30)
    c1, e1 = su.committed_all(kafka, group, raw)
    c2, e2 = su.committed_all(kafka, group, mapped)
    rc, _ = stage.stop()
    assert rc == 0
    assert output_docs(got) == expected
    assert sorted(h["error.type"] for _, _, h, *_ in retried) == [b"unknown_payload", b"unknown_type", b"unknown_type"]
    assert sorted(v for _, v, *_ in retried) == sorted(b for b, _ in bad)
    assert (c1, c2) == (e1, e2)
    s = stage.summary()
    assert s["cwl"] >= len(payloads) and s["unknown"] == 3 and s["lost"] == 0


def _drop_key(doc):
    """The document without aws.s3.object.key (and the objects that leaves empty)."""
    doc.get("aws", {}).get("s3", {}).get("object", {}).pop("key", None)
    for path in (("aws", "s3", "object"), ("aws", "s3"), ("aws",)):
        parent = doc
        for p in path[:-1]:
            parent = parent.get(p, {})
        if parent.get(path[-1]) == {}:
            parent.pop(path[-1])
    return doc
