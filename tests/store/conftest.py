"""Fixtures of the correction-store tests: a local store, a loopback-only S3 server."""

from __future__ import annotations

import ipaddress
import logging
import socket
import uuid

import pytest

from active_learning.store import CorrectionStore, open_store


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "corrections.zarr"


@pytest.fixture
def store(store_path) -> CorrectionStore:
    return open_store(store_path)


@pytest.fixture
def loopback_only(monkeypatch):
    """Make any connection to a non-loopback address fail loudly, for the test's duration."""
    original = socket.socket.connect

    def connect(self, address):
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise AssertionError(f"test tried to reach {address}; only loopback is allowed")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(scope="module")
def moto_endpoint():
    """A real S3 API server (moto) on 127.0.0.1 and a free port, for this module's tests."""
    server_module = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint, monkeypatch, loopback_only):
    """(bucket name, storage_options) of a fresh bucket; AWS settings exist only inside the test."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask 169.254.169.254
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    boto3 = pytest.importorskip("boto3")
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    options = {"endpoint_url": moto_endpoint, "key": "testing", "secret": "testing"}
    return bucket, options
