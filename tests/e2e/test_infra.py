"""Smoke tests of the e2e service infrastructure itself: each service really
answers, and S3 really checks signatures (the processor's SigV4 code must not
pass against a server that accepts anything)."""
import pytest

from infra import unique


def test_kafka_produce_consume(kafka):
    topic = kafka.create_topic(unique("e2e-smoke"), partitions=3)
    sent = {f"key-{i}": f"value-{i}" for i in range(10)}
    assert kafka.produce(topic, sent.items()) == 10
    got = kafka.consume(topic, 10, timeout=30)
    assert {m.key().decode(): m.value().decode() for m in got} == sent
    assert {m.partition() for m in got} <= {0, 1, 2}


def test_kafka_sasl_ssl_and_mtls(kafka):
    if not kafka.secure:
        pytest.skip("Kafka was started without KAFKA_SECURE=1")
    topic = kafka.create_topic(unique("e2e-secure"))
    kafka.produce(topic, [b"over-sasl-ssl"], mode="sasl_ssl")
    kafka.produce(topic, [b"over-ssl"], mode="ssl")
    got = kafka.consume(topic, 2, mode="sasl_ssl")
    assert sorted(m.value() for m in got) == [b"over-sasl-ssl", b"over-ssl"]


def test_kafka_rejects_bad_scram_password(kafka):
    if not kafka.secure:
        pytest.skip("Kafka was started without KAFKA_SECURE=1")
    import time

    import confluent_kafka

    errors = []
    conf = dict(kafka.client_config("sasl_ssl"), **{"sasl.password": "wrong", "log_level": 0,
                                                    "error_cb": errors.append})
    producer = confluent_kafka.Producer(conf)
    deadline = time.monotonic() + 15
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
    assert errors and errors[0].code() == confluent_kafka.KafkaError._AUTHENTICATION, errors


def test_opensearch_index_and_search(opensearch):
    index = unique("e2e-smoke")
    try:
        opensearch.index_doc(index, {"message": "failed login for alice", "n": 1}, doc_id="d1")
        opensearch.index_doc(index, {"message": "accepted login for bob", "n": 2}, doc_id="d2")
        hits = opensearch.search(index, {"match": {"message": "failed"}})
        assert [h["_id"] for h in hits] == ["d1"]
        assert opensearch.count(index) == 2
    finally:
        opensearch.delete_index(index)


def test_s3_signed_put_get(s3):
    bucket = s3.make_bucket(unique("e2e-smoke"))
    s3.put(bucket, "logs/2026/a b+c.json.gz", b"\x1f\x8b payload")
    assert s3.get(bucket, "logs/2026/a b+c.json.gz") == b"\x1f\x8b payload"
    # The stdlib signer in tests/infra (used by s3.sh) must agree with the server too.
    status, _, body = s3.raw_request("GET", f"/{bucket}/logs/2026/a b+c.json.gz")
    assert (status, body) == (200, b"\x1f\x8b payload")


def test_s3_rejects_bad_signature_and_anonymous(s3):
    import botocore.exceptions

    bucket = s3.make_bucket(unique("e2e-auth"))
    s3.put(bucket, "obj", b"secret data")

    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.client(secret_key="not-the-secret").get_object(Bucket=bucket, Key="obj")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"

    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.client(secret_key="not-the-secret").put_object(Bucket=bucket, Key="obj", Body=b"x")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    status, _, _ = s3.raw_request("GET", f"/{bucket}/obj", secret_key="not-the-secret")
    assert status == 403
    status, _, _ = s3.raw_request("GET", f"/{bucket}/obj", sign=False)
    assert status == 403
    status, _, _ = s3.raw_request("PUT", f"/{bucket}/obj", body=b"x", sign=False)
    assert status == 403
    assert s3.get(bucket, "obj") == b"secret data"
