"""Exclusion rules (exclude_file) and "ignore own logs" in the normalize stage
against the real broker: excluded events and siemproc's own S3 reads never
reach the output topic, are counted as skipped by reason, and their offsets
are committed like any other; a bad rule file stops the stage at start-up
with the file and line named."""
import http.server
import json
import subprocess
import threading
from types import SimpleNamespace

import stage_util as su

RULES = """log_type,field,pattern,pattern_type,comment
# text on a raw field, regex on a raw field, text on an ECS field
cloudtrail,eventSource,kms.amazonaws.com,text,KMS is chatty
cloudtrail,userIdentity.invokedBy,.*\\.amazonaws\\.com,regex,AWS services
cloudtrail,event.action,DescribeInstances,text,inventory scans
"""


def trail(event_id, source, name, agent="aws-cli/2.15", invoked_by=None):
    ident = {"type": "IAMUser", "userName": "alice"}
    if invoked_by:
        ident["invokedBy"] = invoked_by
    return json.dumps({"eventVersion": "1.08", "eventID": event_id, "eventTime": "2024-01-01T00:00:00Z",
                       "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
                       "sourceIPAddress": "198.51.100.7", "userAgent": agent, "userIdentity": ident}).encode()


def records():
    """(value, kept?, why) of raw CloudTrail records."""
    recs = [(trail(f"kms-{i}", "kms.amazonaws.com", "Decrypt"), False, "excluded") for i in range(5)]
    recs += [(trail(f"svc-{i}", "s3.amazonaws.com", "PutObject", invoked_by="config.amazonaws.com"), False,
              "excluded") for i in range(3)]
    recs += [(trail(f"inv-{i}", "ec2.amazonaws.com", "DescribeInstances"), False, "excluded") for i in range(2)]
    recs.append((trail("own-get", "s3.amazonaws.com", "GetObject", agent="[siemproc]"), False, "own_access"))
    # Kept: an AWS-looking value that the anchored regex does not match in full,
    # someone else's GetObject, and a write made with our user agent.
    recs.append((trail("keep-invoked", "s3.amazonaws.com", "PutObject", invoked_by="amazonaws.com.example"), True, ""))
    recs.append((trail("keep-get", "s3.amazonaws.com", "GetObject"), True, ""))
    recs.append((trail("keep-own-put", "s3.amazonaws.com", "PutObject", agent="[siemproc]"), True, ""))
    recs += [(trail(f"keep-{i}", "iam.amazonaws.com", "CreateUser"), True, "") for i in range(4)]
    return recs


def test_excluded_and_own_reads_are_skipped_and_committed(kafka, tmp_path):
    raw, out, retry, group = su.topics(kafka)
    rules = tmp_path / "exclude.csv"
    rules.write_text(RULES)
    recs = records()
    su.produce_with_offsets(kafka, raw, [(v, [("log_type", b"cloudtrail")]) for v, _, _ in recs])
    kept = sorted(json.loads(v)["eventID"] for v, k, _ in recs if k)

    stage = su.Stage(kafka, None, tmp_path, topics=raw, out=out, retry=retry, group=group,
                     args=["--exclude-file", str(rules)]).start()
    got = su.read_topic(kafka, out, len(kept), timeout=60, settle=2.0, stage=stage)
    committed, ends = su.committed_all(kafka, group, raw)
    rc, _ = stage.stop()
    assert rc == 0, stage.text()[-3000:]
    assert "3 exclusion rule(s)" in stage.text()

    assert sorted(json.loads(v)["event"]["id"] for _, v, *_ in got) == kept
    assert sum(ends.values()) == len(recs) and committed == ends, "skipped records' offsets not committed"
    s = stage.summary()
    assert s["excluded"] == sum(why == "excluded" for *_, why in recs)
    assert s["own_access"] == 1
    assert s["skipped"] == s["excluded"] + s["own_access"]
    assert (s["parsed"], s["docs"], s["failed"], s["retry"]) == (len(kept), len(kept), 0, 0)


class UserAgentRecorder:
    """An S3 endpoint that answers every request 404 NoSuchKey and keeps the User-Agent headers."""

    def __init__(self):
        seen = self.agents = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.headers.get("User-Agent"))
                body = b"<Error><Code>NoSuchKey</Code><Message>no</Message></Error>"
                self.send_response(404)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.s3 = SimpleNamespace(endpoint=f"http://127.0.0.1:{self.server.server_address[1]}", access_key="test",
                                  secret_key="test-secret", region="us-east-1")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_own_user_agent_is_the_s3_user_agent_and_the_one_skipped(kafka, tmp_path):
    raw, out, retry, group = su.topics(kafka, partitions=1)
    ua = "siemproc-e2e/7.1"
    stub = UserAgentRecorder()
    try:
        kafka.produce(raw, [(None, trail("custom-get", "s3.amazonaws.com", "GetObject", agent=f"[{ua}]"),
                             [("log_type", b"cloudtrail")]),
                            (None, trail("default-get", "s3.amazonaws.com", "GetObject", agent="[siemproc]"),
                             [("log_type", b"cloudtrail")]),
                            (None, su.s3_notification("bucket", [su.TYPE_KEYS["cloudtrail"].format(n=1)]))])
        stage = su.Stage(kafka, stub.s3, tmp_path, topics=raw, out=out, retry=retry, group=group,
                         args=["--own-user-agent", ua]).start()
        got = su.read_topic(kafka, out, 1, timeout=60, stage=stage)
        su.read_topic(kafka, retry, 1, timeout=30)             # the object's 404: the GET was made
        rc, _ = stage.stop()
    finally:
        stub.close()
    assert rc == 0, stage.text()[-3000:]
    assert stub.agents and set(stub.agents) == {ua}
    assert [json.loads(v)["event"]["id"] for _, v, *_ in got] == ["default-get"]
    assert stage.summary()["own_access"] == 1


def test_ignore_own_logs_off_keeps_our_reads(kafka, tmp_path):
    raw, out, retry, group = su.topics(kafka, partitions=1)
    kafka.produce(raw, [(None, trail("own-get", "s3.amazonaws.com", "GetObject", agent="[siemproc]"),
                         [("log_type", b"cloudtrail")])])
    stage = su.Stage(kafka, None, tmp_path, topics=raw, out=out, retry=retry, group=group,
                     args=["--set", "ignore_own_logs=false"]).start()
    got = su.read_topic(kafka, out, 1, timeout=60, stage=stage)
    rc, _ = stage.stop()
    assert rc == 0
    assert [json.loads(v)["event"]["id"] for _, v, *_ in got] == ["own-get"]
    assert stage.summary()["own_access"] == 0


def test_bad_exclusion_file_is_a_startup_error(kafka, tmp_path):
    rules = tmp_path / "bad.csv"
    rules.write_text(RULES + "cloudtrail,eventSource,([,regex,broken\n")
    missing = tmp_path / "missing.csv"
    for path, why in ((rules, f"{rules}:6: invalid regex"), (missing, f"cannot open exclusion list {missing}")):
        proc = subprocess.run([str(su.need_binary()), "run", "--stage", "normalize", "--brokers", kafka.bootstrap,
                               "--topics", "unused", "--exclude-file", str(path)],
                              capture_output=True, text=True, timeout=30, env=su.s3_env(None))
        assert proc.returncode != 0
        assert f"exclude_file: {why}" in proc.stderr, proc.stderr


def test_parse_skips_own_reads_by_default(tmp_path):
    f = tmp_path / "own.json"
    f.write_bytes(trail("own-get", "s3.amazonaws.com", "GetObject", agent="[siemproc]") + b"\n" +
                  trail("keep-get", "s3.amazonaws.com", "GetObject") + b"\n")

    def ids(*flags):
        out = subprocess.run([str(su.need_binary()), "parse", "--type", "cloudtrail", *flags, str(f)],
                             capture_output=True, check=True, timeout=30).stdout
        return sorted(json.loads(ln)["event"]["id"] for ln in out.splitlines())

    assert ids() == ["keep-get"]                              # the stages' default own_user_agent
    assert ids("--own-user-agent", "") == ["keep-get", "own-get"]
    assert ids("--own-user-agent", "aws-cli/") == ["own-get"]
