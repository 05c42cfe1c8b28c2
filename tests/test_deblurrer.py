import numpy as np
import pytest
from PIL import Image

import golf_rt
from golf_rt.backends import precisions_here
from golf_rt.contract import TOLERANCE
from golf_rt.deblur.deblurrer import Deblurrer, auto_backend, auto_backends
from golf_rt.errors import BackendUnavailableError, ConfigurationError, InvalidImageError

from .conftest import needs_torch

pytestmark = needs_torch


CPU_MACHINE = {"openvino": {"cpu": ("fp32",)}, "onnxruntime": {"cpu": ("fp32", "fp16")}, "torch": {"cpu": ("fp32",)}}
"""What each backend's loader says runs on a machine without a CUDA GPU (no native bf16)."""
GPU_MACHINE = {
    **CPU_MACHINE,
    "tensorrt": {"cuda": ("fp32", "fp16")},
    "torch": {"cuda": ("fp32", "fp16", "bf16"), "cpu": ("fp32",)},
}
"""The same with a CUDA GPU, TensorRT and a CUDA build of torch."""


def on_machine(monkeypatch, precisions: dict[str, dict[str, tuple[str, ...]]]) -> None:
    """Make every backend's `precisions_here()` answer as on that machine."""
    monkeypatch.setattr("golf_rt.backends.precisions_here", lambda backend: precisions.get(backend, {}))


def test_auto_on_a_cpu_machine_tries_openvino_then_onnxruntime_then_torch(monkeypatch):
    on_machine(monkeypatch, CPU_MACHINE)
    assert auto_backends() == ["openvino", "onnxruntime", "torch"]
    assert auto_backend() == "openvino"
    assert auto_backend("fp16") == "onnxruntime", "the first backend that runs the asked precision"
    assert auto_backend(skip=("openvino",)) == "onnxruntime"


def test_auto_on_a_gpu_machine_tries_tensorrt_then_torch_before_the_cpu_backends(monkeypatch):
    on_machine(monkeypatch, GPU_MACHINE)
    assert auto_backends() == ["tensorrt", "torch", "openvino", "onnxruntime"]
    assert auto_backend(skip=("tensorrt",)) == "torch", "images outside the engines' profiles go to torch on CUDA"
    assert auto_backend("bf16") == "torch"
    on_machine(monkeypatch, {**GPU_MACHINE, "tensorrt": {}})  # TensorRT not installed
    assert auto_backends() == ["torch", "openvino", "onnxruntime"]


def test_the_default_is_the_measured_auto_precision_and_an_explicit_one_wins(cached_onnx):
    from golf_rt.artifacts.precision_table import auto_precision

    deblurrer = Deblurrer()
    assert deblurrer.precision == auto_precision(deblurrer.backend).precision
    assert Deblurrer(precision="fp32").precision == "fp32"


@pytest.mark.skipif(
    "bf16" in precisions_here("torch").get("cuda", ()), reason="PyTorch runs bf16 on this machine's CUDA GPU"
)
def test_a_precision_the_backend_does_not_run_here_is_refused():
    with pytest.raises(BackendUnavailableError, match="this machine offers"):
        Deblurrer("torch", precision="bf16")


def test_no_backend_for_a_precision_is_explained(monkeypatch):
    monkeypatch.setattr("golf_rt.deblur.deblurrer.available_backends", lambda: {"torch": ("fp32",)})
    with pytest.raises(BackendUnavailableError, match="no backend here runs fp16; available: torch"):
        auto_backend("fp16")


def test_deblur_gives_back_the_callers_kind(checkpoint_path, cached_onnx, tmp_path):
    image = (np.random.default_rng(0).random((20, 24, 3)) * 255).astype(np.uint8)
    with Deblurrer(checkpoint=checkpoint_path) as deblurrer:
        assert deblurrer.backend == auto_backend() and deblurrer.precision == "fp32"  # no table for this checkpoint
        out = deblurrer.deblur(image)
        assert out.dtype == np.uint8 and out.shape == image.shape
        assert not np.array_equal(out, image), "the test model is not the identity"
        assert isinstance(deblurrer.deblur(Image.fromarray(image).convert("L")), Image.Image)
        path = golf_rt.images.save_image(tmp_path / "in.png", image)
        np.testing.assert_array_equal(deblurrer.deblur(path), out)
        batch = deblurrer.deblur(np.stack([image, image]))
        assert batch.shape == (2, 20, 24, 3)
        with pytest.raises(InvalidImageError, match="NaN"):
            deblurrer.deblur(np.full((8, 8, 3), np.nan, np.float32))


def test_a_raw_batch_is_checked_once_before_any_tile_runs(checkpoint_path, cached_onnx):
    batch = np.full((1, 3, 100, 130), 0.5, np.float32)
    batch[0, 1, 99, 129] = np.nan  # in the last tile only
    calls = []
    with Deblurrer("onnxruntime", precision="fp32", checkpoint=checkpoint_path, tile=64) as deblurrer:
        with pytest.raises(InvalidImageError, match="NaN"):
            deblurrer.deblur_batch(batch, progress=lambda done, total: calls.append(done))
        assert calls == [], "refused before the first tile, not after the tiles before the bad one"
        assert deblurrer.deblur_batch(np.nan_to_num(batch, nan=0.5), check_inputs=False).shape == batch.shape


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_deblurrer_matches_the_networks_run_directly(
    backend, checkpoint_path, cached_onnx, blurry_batch, reference_output
):
    images = blurry_batch.transpose(0, 2, 3, 1)  # N x H x W x 3 float32: returned as computed, not clipped
    out = Deblurrer(backend, precision="fp32", checkpoint=checkpoint_path).deblur(images)
    assert out.shape == images.shape and out.dtype == np.float32
    assert np.abs(out - reference_output.transpose(0, 2, 3, 1)).max() <= TOLERANCE["fp32"]


def test_bad_precision_is_named():
    with pytest.raises(ConfigurationError, match="choose one of"):
        Deblurrer(precision="int4")


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: (rng.random((150, 230, 3)) * 255).astype(np.uint8),
        lambda rng: (rng.random((150, 230, 4)) * 65535).astype(np.uint16),
        lambda rng: (rng.random((150, 230)) * 255).astype(np.uint8),
        lambda rng: rng.random((150, 230, 2)),
        lambda rng: Image.fromarray((rng.random((150, 230, 3)) * 255).astype(np.uint8)),
    ],
    ids=["rgb8", "rgba16", "grey-2d", "grey-alpha-float64", "pil"],
)
def test_one_photo_in_bands_of_rows_equals_the_whole_batch_in_tiles(make, checkpoint_path, cached_onnx):
    """`deblur` streams one large photo a band at a time; the result is the batch path's, value for value."""
    from golf_rt.images import prepare

    image = make(np.random.default_rng(3))
    with Deblurrer("onnxruntime", precision="fp32", checkpoint=checkpoint_path, tile=64) as deblurrer:
        streamed = deblurrer.deblur(image)
        prepared = prepare(image)
        batched = prepared.restore(deblurrer.deblur_batch(prepared.batch))
    assert type(streamed) is type(batched)
    np.testing.assert_array_equal(np.asarray(streamed), np.asarray(batched))
