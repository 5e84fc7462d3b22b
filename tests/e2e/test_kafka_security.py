"""Kafka security against the real broker's secured listeners
(tests/infra/kafka.sh: SASL_SSL with SCRAM-SHA-512, SSL with client auth
requested, both with a test CA): the normalize stage and `siemproc lag`
configured through the kafka.* pass-through (flags, a config file, SIEMPROC_KAFKA_*
variables) move records to documents and read the lag; credentials or
certificates the broker refuses stop the stage at start-up with the broker's
reason, in seconds; `siemproc config --print` never shows a secret.

librdkafka before 2.6.1 (Debian 12 ships 2.0.2) sends a SCRAM proof that
Kafka 4.x rejects as invalid credentials (confluentinc/librdkafka#4895). When
the binary links such a version, the SCRAM test checks that siemproc says so,
then runs the same binary on the librdkafka of the confluent-kafka wheel of
the test venv (2.16: same ABI, soname librdkafka.so.1) to test the rest of
the path."""
import ctypes
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

import stage_util as su
from infra import unique

SCRAM_FIXED = 0x02060100      # librdkafka 2.6.1


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
    """(version as rd_kafka_version() returns it, version string) of the librdkafka siemproc loads."""
    ldd = subprocess.run(["ldd", str(su.need_binary())], capture_output=True, text=True, check=True).stdout
    path = re.search(r"librdkafka\.so\.1 => (\S+)", ldd).group(1)
    lib = ctypes.CDLL(path)
    lib.rd_kafka_version_str.restype = ctypes.c_char_p
    return lib.rd_kafka_version(), lib.rd_kafka_version_str().decode()


def wheel_librdkafka(tmp_path):
    """A directory holding librdkafka.so.1 from the confluent-kafka wheel, or None."""
    import confluent_kafka
    libs = sorted((Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs").glob("librdkafka*.so*"))
    if not libs:
        return None
    d = tmp_path / "librdkafka"
    d.mkdir()
    (d / "librdkafka.so.1").symlink_to(libs[0])
    return d


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


def test_sasl_ssl_scram_records_in_documents_out_and_lag(secure, tmp_path, monkeypatch):
    flags = kafka_flags(secure, "sasl_ssl")
    version, version_str = linked_librdkafka()
    if version < SCRAM_FIXED:
        # The right password is refused too, and siemproc names the cause.
        err = start_fails(flags)
        assert f"librdkafka {version_str}, linked here, cannot log in with SCRAM to Kafka 4.x" in err, err[-2000:]
        newer = wheel_librdkafka(tmp_path)
        if newer is None:
            pytest.skip(f"librdkafka {version_str} cannot do SCRAM with Kafka 4.x and the venv has no newer one")
        monkeypatch.setenv("LD_LIBRARY_PATH", str(newer))
        assert linked_librdkafka()[0] >= SCRAM_FIXED
    group = records_in_documents_out(secure, tmp_path, flags, "sasl_ssl", seed=11)
    proc, _ = run_lag(flags, group)           # the environment carries LD_LIBRARY_PATH, if set above
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
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=intruder", "-days", "1",
                    "-keyout", str(tmp_path / "bogus.key"), "-out", str(tmp_path / "bogus.pem")],
                   check=True, capture_output=True, timeout=60)
    bogus = kafka_flags(secure, "ssl", **{"ssl.certificate.location": tmp_path / "bogus.pem",
                                          "ssl.key.location": tmp_path / "bogus.key"})
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
