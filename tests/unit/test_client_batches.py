"""A list of images goes in batches the server takes: its `max_batch_size`, read once per client, order kept."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tritonclient.http", reason="tritonclient is not installed (pip install -e '.[client]')")

from .client_harness import harness  # noqa: E402
from .fakes import echo  # noqa: E402

IMAGES = [np.full((8, 8, 3), 10 * i, np.uint8) for i in range(10)]


@pytest.mark.parametrize(
    ("url", "config"),
    [("http://127.0.0.1:8000", {"max_batch_size": 4}), ("grpc://127.0.0.1:8001", {"config": {"max_batch_size": 4}})],
)
def test_a_list_goes_in_batches_of_the_servers_max_batch_size_in_order(face, monkeypatch, url, config):
    h = harness(face, monkeypatch, url, get_model_config=[config], infer=[echo])
    results = h.run("deblur", IMAGES)
    assert h.script.batch_sizes == [4, 4, 2]
    assert [int(r[0, 0, 0]) for r in results] == [32] * 4 + [64] * 4 + [96] * 2, "request k answers k / 8"
    h.run("deblur", IMAGES)
    assert h.script.calls.count("get_model_config") == 1, "the limit is read once per client"


def test_one_image_or_a_batch_within_the_limit_asks_nothing_more(face, monkeypatch):
    h = harness(face, monkeypatch, get_model_config=[{"max_batch_size": 4}], infer=[echo])
    h.run("deblur", IMAGES[0])
    assert h.script.calls == ["infer"], "one image per request needs no limit"
    h.run("deblur", IMAGES[:4])
    assert h.script.batch_sizes == [1, 4]


def test_tiles_per_request_stay_within_the_servers_limit(face, monkeypatch):
    h = harness(face, monkeypatch, get_model_config=[{"max_batch_size": 2}], infer=[echo], settings={"tile": 64})
    h.run("deblur", np.zeros((60, 250, 3), np.uint8))
    assert h.script.batch_sizes == [2, 2, 1], "one row of five tiles, two per request (four unless the server says)"
