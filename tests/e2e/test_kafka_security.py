"""Kafka security against the real broker's secured listeners
(tests/infra/kafka.sh: SASL_SSL with SCRAM-SHA-512, SSL with client auth
requested, both with a test CA): the normalize stage and `siemproc lag`
configured through the kafka.* pass-through (flags, a config file, SIEMPROC_KAFKA_*
variables) move records to documents and read the lag; credentials or
certificates the broker refuses stop the stage at start-up with the broker's
reason, in seconds; `siemproc config --print` never shows a secret.

siemproc links librdkafka 2.8.0 built by deploy/build-librdkafka.sh; Debian
12's own 2.0.2 sends a SCRAM proof that Kafka 4.x rejects as invalid
credentials (confluentinc/librdkafka#4895, fixed in 2.6.1). A build that fell
back to such a librdkafka (CMake warns) must say so at start-up: the SCRAM test
checks that message there, and skips the rest."""
import json
import re
import subprocess
import time

import pytest

import stage_util as su
from infra import unique

SCRAM_FIXED = (2, 6, 1)


@pytest.fixture
def secure(kafka):
    if not kafka.secure:
        pytest.skip("Kafka was started with KAFKA_SECURE=0: no SASL_SSL/SSL listeners")
    return kafka


def kafka_flags(kafka, mode, **override):
    """--brokers and --set kafka.X=Y flags for a listener (client_config of infra.Kafka)."""
    conf = dict(kafka.client_config(mode), **override)
    flags = ["--brokers", conf.pop("bootstrap.servers")]
    for k, v in conf.items():
        if v is not None:
            flags += ["--set", f"kafka.{k}={v}"]
    return flags


def linked_librdkafka():
    """((major, minor, patch), version string) of the librdkafka siemproc runs, from `siemproc version`."""
    out = subprocess.run([str(su.need_binary()), "version"], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    m = re.search(r"^librdkafka ((\d+)\.(\d+)\.(\d+)\S*) ", out, re.M)
    assert m, out
    return tuple(int(x) for x in m.groups()[1:]), m.group(1)


def impostor_certificate(tmp_path, ca_pem):
    """(certificate, key) of a client, issued in the name of the test CA by
    another key. librdkafka (since 2.8, #4900) sends a client certificate only
    when its issuer is among the CAs the broker accepts: this one is sent, and
    the broker's signature check refuses it."""
    def openssl(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)
    fake_key, fake_csr, fake_ca = tmp_path / "fake-ca.key", tmp_path / "fake-ca.csr", tmp_path / "fake-ca.pem"
    key, csr, cert = tmp_path / "bogus.key", tmp_path / "bogus.csr", tmp_path / "bogus.pem"
    openssl("genpkey", "-algorithm", "RSA", "-out", fake_key)
    openssl("x509", "-x509toreq", "-in", ca_pem, "-signkey", fake_key, "-out", fake_csr)    # the CA's subject
    openssl("x509", "-req", "-in", fake_csr, "-signkey", fake_key, "-days", "1", "-out", fake_ca)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=intruder", "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", fake_ca, "-CAkey", fake_key, "-days", "1", "-out", cert)
    return cert, key


def vpc_records(n, seed):
    return [(None, ln.encode(), [("log_type", b"vpcflowlogs")]) for ln in su.vpc_lines(n, seed=seed)]


def run_lag(flags, group, env=None, timeout_ms=10000):
    t0 = time.monotonic()
    proc = subprocess.run([str(su.need_binary()), "lag", "--group", group, "--json", "--timeout-ms", str(timeout_ms),
                           *flags], capture_output=True, text=True, timeout=60, env=env or su.s3_env(None))
    return proc, time.monotonic() - t0


def start_fails(flags, within=10):
    """Run the normalize stage expecting a start-up error; returns its stderr.
    The topics need not exist: the broker refuses the client before that matters."""
    t0 = time.monotonic()
    proc = subprocess.run([str(su.need_binary()), "run", "--stage", "normalize", "--topics", unique("raw"),
                           "--output-topic", unique("out"), "--retry-topic", unique("retry"), *flags],
                          capture_output=True, text=True, timeout=60, env=su.s3_env(None))
    assert proc.returncode != 0, proc.stderr[-2000:]
    assert time.monotonic() - t0 < within, f"start-up error took {time.monotonic() - t0:.1f}s"
    return proc.stderr


def records_in_documents_out(kafka, tmp_path, flags, mode, seed):
    """Records produced over the listener of mode reach the output topic through
    a stage that uses flags; the group's offsets end at the end. Returns the group."""
    raw, out, retry, group = su.topics(kafka, partitions=2)
    recs = vpc_records(40, seed)
    kafka.produce(raw, recs, mode=mode)
    stage = su.Stage(kafka, None, tmp_path, topics=raw, out=out, retry=retry, group=group, args=flags).start()
    got = su.read_topic(kafka, out, len(recs), timeout=60, stage=stage)
    committed, ends = su.committed_all(kafka, group, raw)
    rc, _ = stage.stop()
    assert rc == 0, stage.text()[-3000:]
    assert len({k for k, *_ in got}) == len(got) == len(recs)
    assert {h["log_type"] for _, _, h, *_ in got} == {b"vpcflowlogs"}
    assert committed == ends and sum(ends.values()) == len(recs)
    assert "refused" not in stage.text()
    return group


def test_scram_wrong_password_stops_startup_with_the_reason(secure):
    err = start_fails(kafka_flags(secure, "sasl_ssl", **{"sasl.password": "not-the-password"}))
    assert "output_topic: cannot reach topic" in err and "SASL authentication error" in err, err[-2000:]


def test_sasl_ssl_scram_records_in_documents_out_and_lag(secure, tmp_path):
    flags = kafka_flags(secure, "sasl_ssl")
    version, version_str = linked_librdkafka()
    if version < SCRAM_FIXED:
        # The right password is refused too, and siemproc names the cause.
        err = start_fails(flags)
        assert f"librdkafka {version_str}, linked here, cannot log in with SCRAM to Kafka 4.x" in err, err[-2000:]
        pytest.skip(f"siemproc links librdkafka {version_str}, which cannot do SCRAM with Kafka 4.x "
                    "(build with deploy/build-librdkafka.sh)")
    group = records_in_documents_out(secure, tmp_path, flags, "sasl_ssl", seed=11)
    proc, _ = run_lag(flags, group)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["total"] == 0 and sum(p["end"] for p in report["partitions"]) == 40


def test_ssl_with_ca_and_client_certificate(secure, tmp_path):
    ssl = secure.client_config("ssl")
    conf = tmp_path / "siemproc.conf"              # the stage reads its TLS settings from a config file
    conf.write_text("kafka.security.protocol = SSL\n"
                    f"kafka.ssl.ca.location = {ssl['ssl.ca.location']}\n"
                    f"kafka.ssl.certificate.location = {ssl['ssl.certificate.location']}\n"
                    f"kafka.ssl.key.location = {ssl['ssl.key.location']}\n")
    group = records_in_documents_out(secure, tmp_path, ["--config", str(conf), "--brokers", ssl["bootstrap.servers"]],
                                     "ssl", seed=12)
    # lag through SIEMPROC_KAFKA_* variables, with the CA only (the listener requests a certificate, needs none).
    env = dict(su.s3_env(None), SIEMPROC_KAFKA_SECURITY_PROTOCOL="SSL",
               SIEMPROC_KAFKA_SSL_CA_LOCATION=ssl["ssl.ca.location"])
    proc, _ = run_lag(["--brokers", ssl["bootstrap.servers"]], group, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["total"] == 0

    # A certificate the CA did not sign is refused by the broker: the client really presents it.
    cert, key = impostor_certificate(tmp_path, ssl["ssl.ca.location"])
    bogus = kafka_flags(secure, "ssl", **{"ssl.certificate.location": cert, "ssl.key.location": key})
    proc, secs = run_lag(bogus, group, timeout_ms=3000)
    assert proc.returncode == 1 and secs < 15 and "certificate unknown" in proc.stderr, (secs, proc.stderr[-2000:])
    # Without the test CA the broker's certificate is not trusted: a start-up error naming the cause.
    err = start_fails(kafka_flags(secure, "ssl", **{"ssl.ca.location": None}))
    assert "the broker refused the connection" in err and "certificate verify failed" in err, err[-2000:]


def test_config_print_masks_kafka_secrets(tmp_path):
    conf = tmp_path / "siemproc.conf"
    conf.write_text('kafka.ssl.key.password = "from-the-file-7f3a"\n')
    env = dict(su.s3_env(None), SIEMPROC_KAFKA_SASL_PASSWORD="from-the-env-9c1e")
    proc = subprocess.run([str(su.need_binary()), "config", "--print", "--config", str(conf),
                           "--set", "kafka.sasl.username=siemproc-test",
                           "--set", "kafka.producer.sasl.password=from-a-flag-2b8d",
                           "--opensearch-password", "os-secret-5e0f"],
                          capture_output=True, text=True, timeout=30, env=env, check=True)
    out = proc.stdout
    for secret in ("from-the-file-7f3a", "from-the-env-9c1e", "from-a-flag-2b8d", "os-secret-5e0f"):
        assert secret not in out
    masked = dict(re.findall(r"^(\S+)\s*=\s*(\S+)", out, re.M))
    assert masked["kafka.ssl.key.password"] == masked["kafka.sasl.password"] == "********"
    assert masked["kafka.producer.sasl.password"] == masked["opensearch_password"] == "********"
    assert masked["kafka.sasl.username"] == "siemproc-test"
