"""The TensorRT loader and runner: what needs no GPU runs here on real files; the rest is marked gpu."""

import threading

import numpy as np
import pytest

from golf_rt.artifacts.engines import DEFAULT_PROFILES, BuildOptions, Profile, write_sidecar
from golf_rt.backends.gpu.door import tensorrt_here
from golf_rt.errors import BackendUnavailableError, EngineMismatchError, ModelFileError
from tests.sidecars import sidecar
from tests.threads import results_from_threads

HAS_GPU = tensorrt_here()
gpu = pytest.mark.gpu
needs_gpu = pytest.mark.skipif(
    not HAS_GPU, reason="needs an NVIDIA GPU with TensorRT and cuda-python, or GOLF_RT_GPU_STANDIN=1"
)
SMALL = (
    Profile((1, 3, 8, 8), (2, 3, 40, 56), (2, 3, 64, 64)),
    Profile((1, 3, 8, 8), (1, 3, 96, 128), (1, 3, 128, 128)),
)


def fake_engine(tmp_path, **changes):
    engine = tmp_path / "fused_x3_fp16.plan"
    engine.write_bytes(b"not an engine")
    mismatch = {"tensorrt_version": "0.0.0", "gpu_name": "no GPU", "compute_capability": "0.0"}
    write_sidecar(engine, sidecar(**{**mismatch, **changes}))
    return engine


def plan_runner(engine_path):
    """The runner `create_runner` makes of an engine file, without asking whether TensorRT runs here."""
    from golf_rt.backends.tensorrt import loader
    from golf_rt.backends.tensorrt.runner import TensorRTOptions, TensorRTRunner

    sidecar, options = loader.plan_sidecar(engine_path), TensorRTOptions()
    load = loader.loader_of(engine_path, part="fused", iterations=3, device="cuda", options=options)
    return TensorRTRunner(load, precision=sidecar.precision, options=options, **loader.runner_keywords(engine_path))


def test_runner_reads_precision_and_profiles_from_the_sidecar_without_a_gpu(tmp_path):
    from golf_rt.backends.tensorrt.loader import precisions_of_file

    runner = plan_runner(fake_engine(tmp_path))
    assert runner.precision == "fp16" and runner.profiles == DEFAULT_PROFILES
    assert precisions_of_file(fake_engine(tmp_path)) == ("fp16",)


def test_missing_engine_or_sidecar(tmp_path):
    with pytest.raises(ModelFileError, match="build-engine --output"):
        plan_runner(tmp_path / "missing.plan")
    (tmp_path / "lonely.plan").write_bytes(b"x")
    with pytest.raises(EngineMismatchError, match="missing"):
        plan_runner(tmp_path / "lonely.plan")


@pytest.mark.skipif(HAS_GPU, reason="this machine has TensorRT and a GPU")
def test_activation_without_tensorrt_is_one_clear_error(tmp_path):
    runner = plan_runner(fake_engine(tmp_path))
    with pytest.raises(BackendUnavailableError, match="needs tensorrt|needs cuda-python|no CUDA device"):
        runner.deblur(np.zeros((1, 3, 64, 64), np.float32))


def test_engine_io_is_checked_against_the_contract():
    from golf_rt.backends.tensorrt.loader import engine_io_problems

    assert engine_io_problems([("BLURRY", "INPUT", "FLOAT"), ("SHARP", "OUTPUT", "FLOAT")]) == []
    assert engine_io_problems([("input", "INPUT", "FLOAT"), ("SHARP", "OUTPUT", "HALF")]) == [
        "no input tensor 'BLURRY'",
        "unexpected tensor 'input'",
        "'SHARP' is output HALF, expected output FLOAT",
    ]


class _Config:
    """The two IBuilderConfig calls `apply_timing_cache` makes, as TensorRT answers them (it needs a GPU here)."""

    def __init__(self, accepts: bool) -> None:
        self.accepts, self.caches = accepts, []

    def create_timing_cache(self, data: bytes) -> bytes:
        return data

    def set_timing_cache(self, cache: bytes, ignore_mismatch: bool) -> bool:
        assert ignore_mismatch is False
        self.caches.append(cache)
        return self.accepts or cache == b""


def test_a_rejected_timing_cache_is_replaced_by_an_empty_one():
    from golf_rt.backends.gpu.tensorrt_device import apply_timing_cache

    accepted, rejected, empty = _Config(True), _Config(False), _Config(False)
    assert apply_timing_cache(accepted, b"timings") and accepted.caches == [b"timings"]
    assert not apply_timing_cache(rejected, b"timings") and rejected.caches == [b"timings", b""]
    assert apply_timing_cache(empty, b"") and empty.caches == [b""]


@gpu
@needs_gpu
def test_engine_from_another_machine_is_refused(tmp_path):
    with pytest.raises(EngineMismatchError, match="not portable"):
        plan_runner(fake_engine(tmp_path)).activate()


@gpu
@needs_gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_built_engine_matches_pytorch_and_picks_its_profile(
    precision, onnx_files, tmp_path, blurry_batch, reference_output
):
    """fp32 within 1e-4 of PyTorch: TF32 (TensorRT's default) would miss it. Two profiles, chosen per shape."""
    from golf_rt.artifacts.engines import read_sidecar
    from golf_rt.backends import TOLERANCE
    from golf_rt.backends.tensorrt.loader import engines_from_onnx_files

    options = BuildOptions(precision, SMALL, tmp_path / "t.cache")
    parts = {part: onnx_files[part] for part in ("fused", "f", "g_unrolled")}
    engines = engines_from_onnx_files(parts, tmp_path, 3, options)
    assert (tmp_path / "t.cache").stat().st_size > 0
    assert read_sidecar(engines["fused"]).precision == precision
    large = np.random.default_rng(0).random((1, 3, 120, 100), dtype=np.float32)
    with plan_runner(engines["fused"]) as runner:
        out = runner.deblur(blurry_batch)
        assert runner._profile == 0
        assert runner.deblur(large).shape == large.shape and runner._profile == 1
        again = runner.deblur(blurry_batch[:1])  # back to profile 0, buffers reused
    assert np.abs(out - reference_output).max() <= TOLERANCE[precision]
    assert np.abs(again - reference_output[:1]).max() <= TOLERANCE[precision]


@gpu
@needs_gpu
def test_cached_engine_is_rebuilt_when_stale_and_runs_from_threads(checkpoint_path, cached_onnx, blurry_batch):
    from golf_rt.artifacts.engines import read_sidecar
    from golf_rt.artifacts.supply import plan_file
    from golf_rt.backends import create_runner

    options = BuildOptions("fp32", SMALL)
    first = plan_file("fused", 3, checkpoint_path, "fp32", options)
    built_at = first.stat().st_mtime_ns
    write_sidecar(first, sidecar(**{**read_sidecar(first).__dict__, "onnx_sha256": "0" * 64}))
    assert plan_file("fused", 3, checkpoint_path, "fp32", options) == first and first.stat().st_mtime_ns != built_at
    runner = create_runner("tensorrt", precision="fp32", iterations=3, checkpoint=checkpoint_path, build=options)
    assert runner.profiles == SMALL
    expected = runner.deblur(blurry_batch)
    results = [None] * 4

    def work(i):
        results[i] = runner.deblur(blurry_batch)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(r, expected) for r in results)
    runner.deactivate()


@gpu
@needs_gpu
def test_version_compatible_engine_loads_and_says_so(onnx_files, tmp_path, blurry_batch):
    from golf_rt.artifacts.engines import read_sidecar
    from golf_rt.backends.tensorrt.loader import engine_from_onnx

    engine = engine_from_onnx(
        onnx_files["f"], tmp_path / "f_fp32.plan", BuildOptions(profiles=SMALL[:1], version_compatible=True)
    )
    assert read_sidecar(engine).version_compatible
    with plan_runner(engine) as runner:
        assert runner.deblur(blurry_batch).shape == blurry_batch.shape


@gpu
@needs_gpu
def test_deblurrer_on_tensorrt_is_shared_by_threads_and_closes(cached_onnx, checkpoint_path):
    from golf_rt.deblur.deblurrer import Deblurrer

    image = np.random.default_rng(1).integers(0, 256, (100, 140, 3), dtype=np.uint8)
    deblurrer = Deblurrer(backend="tensorrt", checkpoint=checkpoint_path, tile=64)  # fits any engine left cached
    expected = deblurrer.deblur(image)
    assert all(np.array_equal(r, expected) for r in results_from_threads(lambda: deblurrer.deblur(image)))
    closing = threading.Thread(target=deblurrer.close, daemon=True)
    closing.start()
    closing.join(60)
    assert not closing.is_alive(), "close() hung"


@gpu
@needs_gpu
def test_build_engine_command_writes_plans_whose_sidecars_hold_device_memory(onnx_dir_of_checkpoint, tmp_path):
    import subprocess
    import sys

    from golf_rt.artifacts.engines import read_sidecar

    command = [sys.executable, "-m", "golf_rt.cli", "build-engine", "--onnx-dir", str(onnx_dir_of_checkpoint),
               "--output", str(tmp_path), "--profile", "1x3x8x8:2x3x64x64:2x3x96x96"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    plans = sorted(p.name for p in tmp_path.glob("*.plan"))
    assert plans == ["f_fp32.plan", "fused_x3_fp32.plan", "g_x3_fp32.plan"]
    assert all(read_sidecar(tmp_path / name).context_memory_bytes > 0 for name in plans)


@gpu
@needs_gpu
def test_gpu_repository_reports_the_memory_of_its_contexts(onnx_dir_of_checkpoint, tmp_path, caplog):
    from golf_rt.artifacts.supply import engine_sources
    from golf_rt.backends.tensorrt.loader import engines_from_onnx_files
    from golf_rt.triton.repository import RepositorySpec, write_repository

    engines_from_onnx_files(
        engine_sources(onnx_dir_of_checkpoint, 3), tmp_path / "plans", 3, BuildOptions("fp16", SMALL)
    )
    with caplog.at_level("INFO"):
        write_repository(RepositorySpec(target="gpu", instances=2, max_batch_size=1), tmp_path / "repo",
                         models=tmp_path / "plans")  # fmt: skip
    assert "golf_f: 2 instance(s) x (" in caplog.text and "2 profile context(s)" in caplog.text
    assert "in all" in caplog.text


@pytest.fixture
def onnx_dir_of_checkpoint(onnx_files):
    return onnx_files["fused"].parent
