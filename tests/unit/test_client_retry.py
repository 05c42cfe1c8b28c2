"""The clients' retry loop against a scripted tritonclient: what is retried, how long it waits, what is raised.

`tests/triton/` runs the same loop against a real tritonserver (stopped, restarted, killed
mid-request); these tests cover each decision in milliseconds, for `GolfClient` and
`AsyncGolfClient` alike.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

pytest.importorskip("tritonclient.http", reason="tritonclient is not installed (pip install -e '.[client]')")

from tritonclient.utils import InferenceServerException  # noqa: E402

from golf_rt.client import (  # noqa: E402
    ClientTimeoutError,
    ImageRejectedError,
    ServerSideError,
    ServerUnreachableError,
)
from golf_rt.client.endpoint import RetryPolicy  # noqa: E402

from .client_harness import harness  # noqa: E402
from .fakes import FakeResult  # noqa: E402

BATCH = np.full((1, 3, 8, 8), 0.5, np.float32)
SHARP = np.full((1, 3, 8, 8), 0.25, np.float32)
REFUSED = ConnectionRefusedError(111, "Connection refused")
UNAVAILABLE = InferenceServerException("failed to connect to all addresses", status="StatusCode.UNAVAILABLE")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "grpc://127.0.0.1:8001"])
def test_a_request_is_sent_again_while_the_server_is_unreachable(face, monkeypatch, url):
    failure = REFUSED if url.startswith("http") else UNAVAILABLE
    h = harness(face, monkeypatch, url, infer=[failure, failure, FakeResult(SHARP)])
    np.testing.assert_array_equal(h.run("deblur_batch", BATCH), SHARP)
    assert h.script.calls == ["infer"] * 3
    assert h.waits == [0.2, 0.4], "the default policy waits 0.2 s, then twice as long"


def test_a_sync_client_reconnects_after_a_connection_error(monkeypatch):
    h = harness("sync", monkeypatch, infer=[REFUSED, FakeResult(SHARP)])
    h.run("deblur_batch", BATCH)
    first, second = h.script.connections
    assert first.closed and not second.closed, "the broken connection is closed and a new one made"


@pytest.mark.parametrize("failure", [REFUSED, UNAVAILABLE, socket.gaierror(-2, "Name or service not known")])
def test_the_client_gives_up_after_the_policys_attempts(face, monkeypatch, failure):
    policy = RetryPolicy(attempts=5, first_delay_s=0.5, max_delay_s=3.0)
    h = harness(face, monkeypatch, infer=[failure], settings={"retries": policy})
    with pytest.raises(ServerUnreachableError, match="cannot reach the Triton server at http://127.0.0.1:8000"):
        h.run("deblur_batch", BATCH)
    assert h.script.calls == ["infer"] * 5
    assert h.waits == [0.5, 1.0, 2.0, 3.0], "doubling, capped at max_delay_s"


def test_one_attempt_means_no_retry(face, monkeypatch):
    h = harness(face, monkeypatch, infer=[REFUSED, FakeResult(SHARP)], settings={"retries": 1})
    with pytest.raises(ServerUnreachableError):
        h.run("deblur_batch", BATCH)
    assert h.script.calls == ["infer"] and h.waits == []


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (TimeoutError("timed out"), ClientTimeoutError),
        (InferenceServerException("Deadline Exceeded", status="StatusCode.DEADLINE_EXCEEDED"), ClientTimeoutError),
        (InferenceServerException("expected 4 dims", status="400"), ImageRejectedError),
        (InferenceServerException("CUDA out of memory", status="500"), ServerSideError),
    ],
    ids=["socket-timeout", "grpc-deadline", "rejected", "server-failed"],
)
def test_a_request_that_reached_the_server_or_timed_out_is_not_retried(face, monkeypatch, failure, error):
    h = harness(face, monkeypatch, infer=[failure, FakeResult(SHARP)])
    with pytest.raises(error):
        h.run("deblur_batch", BATCH)
    assert h.script.calls == ["infer"] and h.waits == []


def test_an_exception_tritonclient_did_not_raise_comes_out_untouched(face, monkeypatch):
    bug = KeyError("a bug of ours")
    h = harness(face, monkeypatch, infer=[bug, FakeResult(SHARP)])
    with pytest.raises(KeyError) as raised:
        h.run("deblur_batch", BATCH)
    assert raised.value is bug and h.script.calls == ["infer"]


def test_the_async_client_times_out_a_request_that_hangs(monkeypatch):
    """The asyncio client bounds each request itself (`asyncio.wait_for`); a hang is not retried."""
    h = harness("async", monkeypatch, infer=[5.0, FakeResult(SHARP)], settings={"timeout": 0.05})
    with pytest.raises(ClientTimeoutError, match="within the timeout"):
        h.run("deblur_batch", BATCH)
    assert h.script.calls == ["infer"] and h.waits == []


def test_ready_is_false_while_unreachable_and_true_once_the_model_is_loaded(face, monkeypatch):
    h = harness(face, monkeypatch, is_server_ready=[REFUSED], is_model_ready=[True])
    assert h.run("ready") is False
    assert h.script.calls == ["is_server_ready"] * 3, "ready() retries like any call before it says no"
    h.script.answers["is_server_ready"] = [True]
    assert h.run("ready") is True


def test_metadata_is_retried_like_a_request(face, monkeypatch):
    h = harness(face, monkeypatch, get_model_metadata=[UNAVAILABLE, {"name": "golf"}])
    assert h.run("metadata") == {"name": "golf"}
    assert h.script.calls == ["get_model_metadata"] * 2 and h.waits == [0.2]
