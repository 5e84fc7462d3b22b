"""Session fixtures for the real services the e2e tests run against.

kafka, opensearch and s3 each start their service once per session through
tests/infra/*.sh and stop it at the end, unless SIEMPROC_KEEP_SERVICES=1 or it
was already running before the session (then it is left as found).

SIEMPROC_NO_SERVICES=1 makes these fixtures skip. Otherwise a service that does
not start is a test ERROR, never a skip: CI must not go green on an empty run.
Kafka starts with its SASL_SSL and SSL listeners unless KAFKA_SECURE=0.
"""
import os

import pytest

import infra


def _service_fixture(make):
    if os.environ.get("SIEMPROC_NO_SERVICES") == "1":
        pytest.skip("SIEMPROC_NO_SERVICES=1: e2e tests that need real services are disabled")
    svc = make()
    svc.start()
    yield svc
    if svc.started_here and os.environ.get("SIEMPROC_KEEP_SERVICES") != "1":
        svc.stop()


@pytest.fixture(scope="session")
def kafka():
    yield from _service_fixture(lambda: infra.Kafka(secure=os.environ.get("KAFKA_SECURE", "1") == "1"))


@pytest.fixture(scope="session")
def opensearch():
    yield from _service_fixture(infra.OpenSearch)


@pytest.fixture(scope="session")
def s3():
    yield from _service_fixture(infra.S3)
