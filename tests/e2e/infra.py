"""Real services for the end-to-end tests, driven through tests/infra/*.sh.

The shell scripts own installing, starting and stopping; this module runs them,
reads the KEY=VALUE lines they print (addresses, credentials, pids) and offers
small client helpers: Kafka produce/consume (confluent-kafka), OpenSearch over
HTTP (requests), S3 via boto3 and via the stdlib SigV4 signer in tests/infra.

Client libraries come from the venv that tests/infra/pyenv.sh creates; they are
imported lazily so that a missing venv gives a clear message, not an import
error at collection.
"""
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO / "tests" / "infra"
sys.path.insert(0, str(INFRA_DIR))
import s3cli  # noqa: E402  (stdlib-only SigV4 signer shared with s3.sh)

# Backstops only: each script bounds its own downloads, builds and waits.
START_TIMEOUT = {"kafka": 1200, "opensearch": 1200, "s3": 2400}


class ServiceError(RuntimeError):
    pass


def _need(module, pip_name):
    try:
        return __import__(module)
    except ImportError as e:
        raise ServiceError(
            f"python module {module!r} ({pip_name}) missing: run tests/infra/pyenv.sh "
            f"and use the pytest of the venv it prints") from e


def unique(prefix):
    """A name no earlier run used: topics, indices, buckets."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run_script(script, *args, env=None, timeout=600, check=True):
    """Run tests/infra/SCRIPT ARGS; returns (returncode, {KEY: VALUE}, stderr)."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(["bash", str(INFRA_DIR / script), *args], env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    values = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isupper():
            values[key] = value
    if check and proc.returncode != 0:
        raise ServiceError(f"{script} {' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}{proc.stdout[-2000:]}")
    return proc.returncode, values, proc.stderr


@dataclass
class Service:
    name: str
    script: str
    env: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    started_here: bool = False

    def _run(self, *args, timeout=600, check=True):
        rc, values, err = run_script(self.script, *args, env=self.env, timeout=timeout, check=check)
        if values:
            self.info.update(values)
        return rc, err

    def is_running(self):
        return self._run("status", check=False)[0] == 0

    def start(self):
        already = self.is_running()
        self._run("start", timeout=START_TIMEOUT[self.name])
        self.started_here = self.started_here or not already
        return self

    def stop(self):
        self._run("stop", timeout=120)

    def kill9(self):
        """Crash the server (SIGKILL); data stays for restart()."""
        self._run("kill9", timeout=60)

    def restart(self):
        self._run("restart", timeout=START_TIMEOUT[self.name])

    @property
    def pid(self):
        return int(self.info.get(f"{self.name.upper()}_PID") or 0)


class Kafka(Service):
    def __init__(self, secure=True):
        super().__init__("kafka", "kafka.sh", env={"KAFKA_SECURE": "1" if secure else "0"})

    @property
    def bootstrap(self):
        return self.info["KAFKA_BOOTSTRAP"]

    @property
    def secure(self):
        return "KAFKA_SASL_SSL_BOOTSTRAP" in self.info

    def client_config(self, mode="plaintext"):
        """librdkafka settings for mode plaintext, sasl_ssl or ssl (mTLS client cert)."""
        if mode == "plaintext":
            return {"bootstrap.servers": self.bootstrap}
        if not self.secure:
            raise ServiceError("Kafka runs without KAFKA_SECURE=1: no SASL_SSL/SSL listeners")
        if mode == "sasl_ssl":
            return {"bootstrap.servers": self.info["KAFKA_SASL_SSL_BOOTSTRAP"],
                    "security.protocol": "SASL_SSL",
                    "sasl.mechanism": self.info["KAFKA_SASL_MECHANISM"],
                    "sasl.username": self.info["KAFKA_SASL_USERNAME"],
                    "sasl.password": self.info["KAFKA_SASL_PASSWORD"],
                    "ssl.ca.location": self.info["KAFKA_CA_PEM"]}
        if mode == "ssl":
            return {"bootstrap.servers": self.info["KAFKA_SSL_BOOTSTRAP"],
                    "security.protocol": "SSL",
                    "ssl.ca.location": self.info["KAFKA_CA_PEM"],
                    "ssl.certificate.location": self.info["KAFKA_CLIENT_CERT"],
                    "ssl.key.location": self.info["KAFKA_CLIENT_KEY"]}
        raise ValueError(mode)

    def create_topic(self, name, partitions=1, **configs):
        """Create (if missing) through the broker's own admin tool."""
        self._run("topic", name, str(partitions), *(f"{k}={v}" for k, v in configs.items()),
                  timeout=120)
        return name

    def produce(self, topic, messages, timeout=30, mode="plaintext", **conf):
        """Produce values, or (key, value) / (key, value, headers) tuples; waits for
        every delivery report and raises on any error. Returns the count."""
        ck = _need("confluent_kafka", "confluent-kafka")
        producer = ck.Producer({**self.client_config(mode), "enable.idempotence": True,
                                "linger.ms": 5, **conf})
        errors, count = [], 0

        def on_delivery(err, _msg):
            if err is not None:
                errors.append(err)

        for m in messages:
            key, headers = None, None
            if isinstance(m, tuple):
                key, value, *rest = m
                headers = rest[0] if rest else None
            else:
                value = m
            producer.produce(topic, value=_bytes(value), key=_bytes(key), headers=headers,
                             on_delivery=on_delivery)
            producer.poll(0)
            count += 1
        left = producer.flush(timeout)
        if left or errors:
            raise ServiceError(f"produce to {topic}: {left} undelivered, errors {errors[:5]}")
        return count

    def consume(self, topic, count, timeout=30, group_id=None, mode="plaintext", **conf):
        """Read count messages. Without group_id: every partition from the
        beginning, no group, no commits. With group_id: subscribe as that group
        (committed offsets apply). Raises if fewer arrive within timeout."""
        ck = _need("confluent_kafka", "confluent-kafka")
        consumer = ck.Consumer({**self.client_config(mode),
                                "group.id": group_id or unique("siemproc-e2e"),
                                "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                "enable.partition.eof": False, **conf})
        try:
            if group_id:
                consumer.subscribe([topic])
            else:
                md = consumer.list_topics(topic, timeout=10).topics[topic]
                if md.error is not None:
                    raise ServiceError(f"topic {topic}: {md.error}")
                consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING)
                                 for p in md.partitions])
            out, deadline = [], time.monotonic() + timeout
            while len(out) < count and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    raise ServiceError(f"consume {topic}: {msg.error()}")
                out.append(msg)
            if len(out) < count:
                raise ServiceError(f"consume {topic}: {len(out)} of {count} messages in {timeout}s")
            return out
        finally:
            consumer.close()

    def committed(self, group_id, topic):
        """{partition: committed offset} of a consumer group (-1001 = none)."""
        ck = _need("confluent_kafka", "confluent-kafka")
        consumer = ck.Consumer({**self.client_config(), "group.id": group_id})
        try:
            md = consumer.list_topics(topic, timeout=10).topics[topic]
            tps = [ck.TopicPartition(topic, p) for p in md.partitions]
            return {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=10)}
        finally:
            consumer.close()


class OpenSearch(Service):
    def __init__(self):
        super().__init__("opensearch", "opensearch.sh")
        self._session = None

    @property
    def url(self):
        return self.info["OPENSEARCH_URL"]

    def request(self, method, path, **kw):
        if self._session is None:
            self._session = _need("requests", "requests").Session()
        kw.setdefault("timeout", 30)
        return self._session.request(method, self.url + path, **kw)

    def _ok(self, resp):
        if resp.status_code >= 300:
            raise ServiceError(f"OpenSearch {resp.request.method} {resp.url}: "
                               f"{resp.status_code} {resp.text[:2000]}")
        return resp.json()

    def index_doc(self, index, doc, doc_id=None, refresh=True):
        path = f"/{index}/_doc" + (f"/{doc_id}" if doc_id else "")
        return self._ok(self.request("POST", path, json=doc,
                                     params={"refresh": "true"} if refresh else None))

    def search(self, index, query=None, size=100):
        body = {"query": query or {"match_all": {}}, "size": size}
        return self._ok(self.request("POST", f"/{index}/_search", json=body))["hits"]["hits"]

    def refresh(self, index):
        return self._ok(self.request("POST", f"/{index}/_refresh"))

    def count(self, index):
        resp = self.request("GET", f"/{index}/_count")
        return 0 if resp.status_code == 404 else self._ok(resp)["count"]

    def wait_for_count(self, index, n, timeout=30):
        """Poll until the index holds at least n documents; returns the count."""
        deadline = time.monotonic() + timeout
        while True:
            self.request("POST", f"/{index}/_refresh")
            c = self.count(index)
            if c >= n or time.monotonic() > deadline:
                return c
            time.sleep(0.5)

    def delete_index(self, index):
        self.request("DELETE", f"/{index}")


class S3(Service):
    def __init__(self):
        super().__init__("s3", "s3.sh")

    endpoint = property(lambda self: self.info["S3_ENDPOINT"])
    access_key = property(lambda self: self.info["S3_ACCESS_KEY"])
    secret_key = property(lambda self: self.info["S3_SECRET_KEY"])
    region = property(lambda self: self.info["S3_REGION"])

    def client(self, access_key=None, secret_key=None):
        """boto3 client (path-style, SigV4); pass a wrong secret_key to get 403s."""
        boto3 = _need("boto3", "boto3")
        from botocore.config import Config as botocore_config
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=access_key or self.access_key,
                            aws_secret_access_key=secret_key or self.secret_key,
                            config=botocore_config(signature_version="s3v4",
                                                   s3={"addressing_style": "path"},
                                                   retries={"max_attempts": 1},
                                                   # boto3's default CRC trailers are
                                                   # not understood by s3proxy.
                                                   request_checksum_calculation="when_required",
                                                   response_checksum_validation="when_required"))

    def make_bucket(self, bucket):
        self._run("mb", bucket, timeout=60)
        return bucket

    def put(self, bucket, key, data):
        self.client().put_object(Bucket=bucket, Key=key, Body=_bytes(data))

    def get(self, bucket, key):
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def raw_request(self, method, path, body=b"", sign=True, secret_key=None):
        """One request through the stdlib signer: (status, headers, body)."""
        return s3cli.request(method, path, body=body, endpoint=self.endpoint,
                             access_key=self.access_key, secret_key=secret_key or self.secret_key,
                             region=self.region, sign=sign)


def _bytes(v):
    if v is None or isinstance(v, bytes):
        return v
    return str(v).encode()
