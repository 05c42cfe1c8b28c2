import threading

import numpy as np
import pytest
from PIL import Image

import golf_rt
from golf_rt.artifacts.engines import BuildOptions, Profile
from golf_rt.backends import precisions_here
from golf_rt.backends.gpu.door import standin_active
from golf_rt.contract import CPU_TILE_SIZE, TILE_SIZE, TOLERANCE
from golf_rt.deblur.deblurrer import Deblurrer, auto_backend, auto_backends
from golf_rt.errors import BackendUnavailableError, ConfigurationError, InvalidImageError

from .conftest import needs_torch
from .threads import results_from_threads

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


def test_a_runner_that_takes_any_shape_tiles_at_the_measured_cpu_tile_unless_told():
    """Tiles of 384 left their overlaps 0.18 dB worse on CPUs (gate: 0.1 dB); 768 passes, so CPU runners take it."""
    with Deblurrer(backend="openvino", precision="fp32") as deblurrer:
        assert deblurrer.tiling.size == CPU_TILE_SIZE and deblurrer.tiling.even
    with Deblurrer(backend="openvino", precision="fp32", tile=TILE_SIZE) as deblurrer:
        assert deblurrer.tiling.size == TILE_SIZE
    with Deblurrer(backend="openvino", precision="fp32", tile=0) as deblurrer:
        assert not deblurrer.tiling.size


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


SMALL_PROFILE = (Profile((1, 3, 8, 8), (1, 3, 64, 64), (2, 3, 96, 96)),)
"""What `golf-rt build-engine --profile 1x3x8x8:1x3x64x64:2x3x96x96` builds for: no 384 x 384 tile fits."""


def on_the_standin(monkeypatch, tmp_path) -> None:
    """TensorRT on the CPU stand-in of the GPU (GOLF_RT_GPU_STANDIN=1), with an engine cache of this test's own."""
    pytest.importorskip("onnxruntime", reason="the GPU stand-in runs engines with ONNX Runtime")
    monkeypatch.setenv("GOLF_RT_GPU_STANDIN", "1")
    monkeypatch.setenv("GOLF_RT_CACHE", str(tmp_path))
    if not standin_active():
        pytest.skip("TensorRT is installed here, so the real GPU is used, not the stand-in")


def test_a_cached_engine_that_cannot_take_the_tiles_is_passed_over(monkeypatch, tmp_path, caplog):
    """After `build-engine --profile` with a small profile, every tile of a 900 x 700 photo went to OpenVINO."""
    from golf_rt.artifacts.supply import ensure_onnx
    from golf_rt.backends.tensorrt.loader import engines_from_onnx_files

    on_the_standin(monkeypatch, tmp_path)
    engines_from_onnx_files({"fused": ensure_onnx("fused", 3)}, None, 3, BuildOptions("fp32", SMALL_PROFILE))
    assert Deblurrer("tensorrt", precision="fp32", tile=64).runner.profiles == SMALL_PROFILE, "it takes 64 px tiles"
    assert Deblurrer("tensorrt", precision="fp32", tile=0).runner.profiles == SMALL_PROFILE, "whole images: any"
    tiles = [(n, 3, 384, 384) for n in range(1, 5)]
    with caplog.at_level("WARNING"):
        named = Deblurrer("tensorrt", precision="fp32")
    assert all(named.runner.takes(shape) for shape in tiles) and "the tiles of 384 x 384" in caplog.text
    auto = Deblurrer(precision="fp32")
    assert auto.backend == "tensorrt" and all(auto.runner.takes(shape) for shape in tiles)
    auto.close()


def test_threads_outside_the_engines_profiles_start_one_fallback_runner(monkeypatch, tmp_path, caplog):
    """Two threads met a shape the engine does not take at once, and each started a runner of the next backend."""
    import golf_rt.deblur.deblurrer as deblurrer_module

    on_the_standin(monkeypatch, tmp_path)
    deblurrer = Deblurrer(precision="fp32", tile=0)  # whole images: a side over 384 is outside the default profile
    assert deblurrer.backend == "tensorrt"
    started, both_inside = [], threading.Barrier(2, timeout=0.3)
    start_first = deblurrer_module.start_first

    def counted(candidates, **settings):
        started.append(candidates)
        try:
            both_inside.wait()  # both threads starting a fallback at once: possible only without a lock
        except threading.BrokenBarrierError:
            pass
        return start_first(["onnxruntime"], **settings)  # which one does not matter here: the quickest to start

    monkeypatch.setattr(deblurrer_module, "start_first", counted)
    image = (np.random.default_rng(2).random((8, 390, 3)) * 255).astype(np.uint8)
    with caplog.at_level("WARNING"):
        results = results_from_threads(lambda: deblurrer.deblur(image), count=2)
    deblurrer.close()
    assert len(started) == 1 and all(result.shape == image.shape for result in results)
    assert "deblurring such batches with" in caplog.text
    assert "backend 'auto'" not in caplog.text, "the note advised the backend already in use"
