"""Shared fixtures (a small perturbed checkpoint and its ONNX files, made once per session) and the test tiers.

Tiers, by the markers in pyproject.toml: `triton` tests start a real tritonserver, `slow` ones
take more than ~5 s on 2 CPU cores, `gpu` ones need an NVIDIA GPU. Every tier runs by default
(what CI runs); `-m "not slow and not triton"` is the fast loop. A tier this machine cannot run
is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from golf_rt.backends.gpu.door import gpu_visible
from golf_rt.machine.environment import cuda_device_count, installed

needs_torch = pytest.mark.skipif(not installed("torch"), reason="torch is not installed")
needs_cuda_torch = pytest.mark.skipif(
    not cuda_device_count(), reason="needs PyTorch on a real CUDA GPU (the GPU stand-in models TensorRT, not PyTorch)"
)


def _tier_skips() -> dict[str, str]:
    """Marker -> why its tests cannot run here (absent when they can)."""
    skips = {}
    if not gpu_visible():
        skips["gpu"] = (
            "needs an NVIDIA GPU, and the CUDA driver finds none here "
            "(GOLF_RT_GPU_STANDIN=1 runs them on the CPU stand-in)"
        )
    missing = [name for name in ("pytriton", "tritonclient") if not installed(name)]
    if missing:
        skips["triton"] = f"needs tritonserver and its client ({', '.join(missing)} missing: pip install -e '.[serve]')"
    return skips


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, the tests of a tier this machine cannot run."""
    skips = _tier_skips()
    for item in items:
        for marker, reason in skips.items():
            on_standin = marker == "gpu" and "standin" in getattr(item, "fixturenames", ())  # its own CPU device
            if marker in item.keywords and not on_standin:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test writes its cache (ONNX exports, timing caches) into a temporary folder."""
    cache = tmp_path_factory.mktemp("golf-rt-cache")
    os.environ["GOLF_RT_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def tiny_model():
    """F and G with random weights and a small non-zero last layer, so the model is not the identity."""
    pytest.importorskip("torch", reason="the test model is built with torch")
    from golf_rt.model.networks import seeded_random_model

    return seeded_random_model(0, 3)


@pytest.fixture(scope="session")
def checkpoint_path(tiny_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_model` saved as a checkpoint."""
    from golf_rt.model import checkpoint

    return checkpoint.save(tiny_model, tmp_path_factory.mktemp("ckpt") / "tiny.safetensors", {})


@pytest.fixture(scope="session")
def onnx_files(checkpoint_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The four ONNX files of the checkpoint, exported and verified once per session."""
    from golf_rt.artifacts.export import export_onnx

    return export_onnx(checkpoint_path, 3, tmp_path_factory.mktemp("onnx"))


@pytest.fixture(scope="session")
def cached_onnx(checkpoint_path: Path, onnx_files: dict[str, Path]) -> Path:
    """The same files placed where `ensure_onnx` looks for this checkpoint, so runners need no new export."""
    from golf_rt.artifacts.names import cached_models_dir
    from golf_rt.model.checkpoint import file_sha256

    folder = cached_models_dir(file_sha256(checkpoint_path))
    folder.mkdir(parents=True, exist_ok=True)
    for path in onnx_files.values():
        shutil.copy(path, folder / path.name)
    if installed("nncf"):  # int8 files from a small calibration set: seconds, not the minute of the default
        from golf_rt.artifacts.quantize import int8_onnx_files

        int8_onnx_files(onnx_files, folder, 3, folder / "f.onnx", images=4, size=64)
    return folder


@pytest.fixture(scope="session")
def blurry_batch() -> np.ndarray:
    """Two blurred natural-like 40x56 images as a 2 x 3 x H x W float32 batch."""
    from golf_rt.images.synthetic import BlurSpec, dead_leaves, degrade

    rng = np.random.default_rng(7)
    images = []
    for _ in range(2):
        blurry, _ = degrade(dead_leaves(rng, 56, shapes=120), rng, BlurSpec(extent=(5, 11), quantize=True))
        images.append(np.clip(blurry[:40], 0, 1).transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(images), dtype=np.float32)


@pytest.fixture(scope="session")
def reference_output(tiny_model, blurry_batch: np.ndarray) -> np.ndarray:
    """The fp32 output for `blurry_batch` of the networks themselves, x = F(y) then x = G(x) three times.

    Made from the modules in memory, not through the checkpoint file or any runner, so that every
    runner, the torch one included, is compared with something it did not compute.
    """
    import torch

    with torch.no_grad():
        x = tiny_model.f(torch.from_numpy(blurry_batch))
        for _ in range(3):
            x = tiny_model.g(x)
    return x.numpy()
