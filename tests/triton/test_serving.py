"""The real server, through the real client: same numbers as in process, clear errors, still serving."""

from __future__ import annotations

import asyncio
import http.client
import json

import numpy as np
import pytest

from golf_rt.client import AsyncGolfClient, GolfClient, ImageRejectedError, ModelNotReadyError
from golf_rt.contract import TOLERANCE
from golf_rt.images import prepare
from golf_rt.triton.server import TritonServer

from .conftest import MAX_TEST_PIXELS

pytestmark = pytest.mark.triton
PROTOCOLS = ["http", "grpc"]


def _url(server: TritonServer, protocol: str) -> str:
    return server.config.http_url if protocol == "http" else server.config.grpc_url


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_float_batch_equals_the_in_process_backend(ensemble_server, in_process, blurry_batch, protocol) -> None:
    with GolfClient(_url(ensemble_server, protocol)) as client:
        served = client.deblur_batch(blurry_batch)
    assert served.shape == blurry_batch.shape and served.dtype == np.float32
    np.testing.assert_allclose(served, in_process.deblur(blurry_batch), atol=TOLERANCE["fp32"], rtol=0)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_uint8_image_comes_back_uint8_within_one_level(ensemble_server, in_process, images, protocol) -> None:
    image = images[0]
    with GolfClient(_url(ensemble_server, protocol)) as client:
        served = client.deblur(image)
    prepared = prepare(image)
    expected = prepared.restore(in_process.deblur(prepared.batch))
    assert served.dtype == np.uint8 and served.shape == image.shape
    assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1
    assert not np.array_equal(served, image)  # the tiny model is not the identity


def test_grayscale_and_rgba_keep_their_kind(ensemble_server, images) -> None:
    from PIL import Image

    grey = images[1][:, :, 0]
    rgba = Image.fromarray(np.dstack([images[2], np.full(images[2].shape[:2], 200, np.uint8)]), "RGBA")
    with GolfClient(ensemble_server.config.http_url) as client:
        assert client.deblur(grey).shape == grey.shape
        result = client.deblur(rgba)
    assert result.mode == "RGBA" and np.all(np.asarray(result)[:, :, 3] == 200)


def test_ensemble_and_fused_layouts_agree(ensemble_server, fused_server, blurry_batch) -> None:
    with GolfClient(ensemble_server.config.grpc_url) as a, GolfClient(fused_server.config.grpc_url) as b:
        np.testing.assert_allclose(
            a.deblur_batch(blurry_batch), b.deblur_batch(blurry_batch), atol=TOLERANCE["fp32"], rtol=0
        )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sixteen_concurrent_requests_all_succeed_in_order(ensemble_server, in_process, images, protocol) -> None:
    with GolfClient(_url(ensemble_server, protocol)) as client:
        results = client.deblur_many(images, concurrency=16)
    assert len(results) == 16
    for image, result in zip(images, results, strict=True):
        prepared = prepare(image)
        expected = prepared.restore(in_process.deblur(prepared.batch))
        assert result.shape == image.shape
        assert np.abs(result.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize(("face", "protocol"), [("sync", "http"), ("async", "grpc")])
def test_a_list_larger_than_the_servers_max_batch_goes_in_batches(ensemble_server, in_process, images, face, protocol):
    import tritonclient.http

    config = tritonclient.http.InferenceServerClient(ensemble_server.config.http_url[len("http://") :])
    max_batch = config.get_model_config("golf")["max_batch_size"]
    batch = [images[0]] * 10 + [images[3]] * 3  # one size, more than the server takes at once
    assert len(batch) > max_batch
    if face == "sync":
        with GolfClient(_url(ensemble_server, protocol)) as client:
            results = client.deblur(batch)
    else:

        async def run() -> list:
            async with AsyncGolfClient(_url(ensemble_server, protocol)) as client:
                return await client.deblur(batch)

        results = asyncio.run(run())
    prepared = prepare(batch)
    expected = prepared.restore(in_process.deblur(prepared.batch))
    assert len(results) == len(batch)
    for got, want in zip(results, expected, strict=True):
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_async_client_keeps_requests_in_flight_and_in_order(ensemble_server, images, protocol) -> None:
    async def run() -> tuple[list, bool, dict]:
        async with AsyncGolfClient(_url(ensemble_server, protocol)) as client:
            return await client.deblur_many(images[:6], concurrency=3), await client.ready(), await client.metadata()

    results, ready, metadata = asyncio.run(run())
    with GolfClient(_url(ensemble_server, protocol)) as client:
        expected = [client.deblur(image) for image in images[:6]]
    assert ready and metadata["name"] == "golf"
    for got, want in zip(results, expected, strict=True):  # batched by Triton or not: within one level
        assert got.shape == want.shape and np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_shared_memory_gives_the_same_result_as_plain(ensemble_server, blurry_batch) -> None:
    url = ensemble_server.config.http_url
    with GolfClient(url, shared_memory=True) as shm, GolfClient(url, shared_memory=False) as plain:
        np.testing.assert_array_equal(shm.deblur_batch(blurry_batch), plain.deblur_batch(blurry_batch))
        np.testing.assert_array_equal(shm.deblur_batch(blurry_batch[:1]), plain.deblur_batch(blurry_batch[:1]))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_ready_and_metadata(ensemble_server, protocol) -> None:
    with GolfClient(_url(ensemble_server, protocol)) as client:
        assert client.ready()
        metadata = client.metadata()
        assert not GolfClient(_url(ensemble_server, protocol), model="nope").ready()
    assert metadata["name"] == "golf"
    assert [i["name"] for i in metadata["inputs"]] == ["BLURRY"]
    assert [int(d) for d in metadata["inputs"][0]["shape"]] == [-1, 3, -1, -1]


def test_unknown_model_is_reported_as_not_ready(ensemble_server, blurry_batch) -> None:
    with GolfClient(ensemble_server.config.http_url, model="nope") as client, pytest.raises(ModelNotReadyError):
        client.deblur_batch(blurry_batch)


def _nan_batch() -> np.ndarray:
    batch = np.full((1, 3, 16, 16), 0.5, np.float32)
    batch[0, 1, 3, 4] = np.nan
    return batch


BAD_INPUTS = {
    "wrong rank": (np.zeros((1, 3, 16), np.float32), "shape"),
    "wrong channel count": (np.zeros((1, 4, 16, 16), np.float32), "shape"),
    "wrong dtype": (np.zeros((1, 3, 16, 16), np.float64), "FP64"),
    "zero size": (np.zeros((1, 3, 0, 16), np.float32), "at least 4"),
    "NaN": (_nan_batch(), "NaN"),
    "Inf": (np.full((1, 3, 16, 16), np.inf, np.float32), "NaN or Inf"),
    "over the size limit": (np.zeros((1, 3, 97, 96), np.float32), f"over the limit of {MAX_TEST_PIXELS:,}"),
    "batch too large": (np.zeros((9, 3, 8, 8), np.float32), "batch-size must be <= 8"),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_a_clear_error_and_the_server_keeps_serving(ensemble_server, blurry_batch, protocol, case):
    batch, reason = BAD_INPUTS[case]
    with GolfClient(_url(ensemble_server, protocol)) as client:
        with pytest.raises(ImageRejectedError, match=reason) as caught:
            client.deblur_batch(batch)
        assert reason in caught.value.reason
        assert client.deblur_batch(blurry_batch).shape == blurry_batch.shape
    assert ensemble_server.is_alive()


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"\x00\xff\xfegarbage\x00", {"Content-Type": "application/octet-stream"}, "failed to parse the request JSON"),
        (b'{"inputs": [{"name": "BLURRY", "shape": [1, 3, 2, 2], "datatype": "FP32", "data": [1]}]}', {}, "shape"),
        (b"{}" + bytes(range(256)), {"Inference-Header-Content-Length": "2"}, "inputs"),
        (b"{not json", {"Inference-Header-Content-Length": "900"}, "inference header size"),
    ],
    ids=["binary-garbage", "too-few-values", "header-without-inputs", "bad-header-length"],
)
def test_garbage_bytes_to_the_raw_http_endpoint_get_an_error(ensemble_server, blurry_batch, body, headers, reason):
    config = ensemble_server.config
    connection = http.client.HTTPConnection(config.client_host, config.http_port, timeout=30)
    connection.request("POST", "/v2/models/golf/infer", body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    assert response.status in (400, 500)  # Triton answers malformed JSON with 500, bad sizes with 400
    assert reason in json.loads(payload)["error"]
    with GolfClient(config.http_url) as client:
        assert client.deblur_batch(blurry_batch).shape == blurry_batch.shape


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_photo_over_the_servers_limit_goes_as_tiles_and_matches_in_process(ensemble_server, in_process, protocol):
    """The server takes at most MAX_TEST_PIXELS per image: the client sends the photo as tiles and blends them."""
    from golf_rt.images.tiles import Tiling, run_in_tiles

    photo = np.random.default_rng(5).integers(0, 256, (150, 230, 3), dtype=np.uint8)
    assert photo.shape[0] * photo.shape[1] > MAX_TEST_PIXELS
    with GolfClient(_url(ensemble_server, protocol), tile=64) as client:
        served = client.deblur(photo)
    with GolfClient(_url(ensemble_server, protocol), tile=0) as client, pytest.raises(ImageRejectedError):
        client.deblur(photo)
    prepared = prepare(photo)
    expected = prepared.restore(run_in_tiles(in_process.deblur, prepared.batch, Tiling(64, 16), 4))
    assert served.shape == photo.shape and np.abs(served.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_async_client_sends_a_photo_over_the_limit_as_tiles_like_the_sync_client(ensemble_server, protocol):
    """Both faces share one core: the same tiles, the same blend, the same pixels; many photos at once stay in order."""
    rng = np.random.default_rng(6)
    photos = [rng.integers(0, 256, (150 + 10 * i, 230, 3), dtype=np.uint8) for i in range(3)]
    assert photos[0].shape[0] * photos[0].shape[1] > MAX_TEST_PIXELS
    url = _url(ensemble_server, protocol)

    async def run() -> list[np.ndarray]:
        async with AsyncGolfClient(url, tile=64) as client:
            return await client.deblur_many(photos, concurrency=3)

    served = asyncio.run(run())
    with GolfClient(url, tile=64) as client:
        expected = [client.deblur(photo) for photo in photos]
    for photo, got, want in zip(photos, served, expected):
        assert got.shape == photo.shape and got.dtype == np.uint8
        # the same tiles and blend; Triton may batch concurrent tiles differently, which can move a
        # rounding by one level (OpenVINO compiles each batch shape on its own)
        difference = np.abs(got.astype(np.int16) - want)
        assert difference.max() <= 1 and (difference > 0).mean() < 1e-3

    async def whole() -> np.ndarray:
        async with AsyncGolfClient(url, tile=0) as client:
            return await client.deblur(photos[0])

    with pytest.raises(ImageRejectedError):
        asyncio.run(whole())
