"""Engine sidecars for the TensorRT tests: one set of plausible values, changed per test."""

from golf_rt.tensorrt_settings import Sidecar


def sidecar(**changes) -> Sidecar:
    """A sidecar of an H100 fp16 build; keyword arguments replace fields."""
    fields = dict(
        tensorrt_version="10.9.0", gpu_name="NVIDIA H100 80GB HBM3", compute_capability="9.0", precision="fp16",
        profile_min=(1, 3, 64, 64), profile_opt=(1, 3, 256, 256), profile_max=(4, 3, 720, 1280),
        onnx_sha256="ab" * 32, onnx_name="fused_x3.onnx", build_seconds=12.5, built_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    fields.update(changes)
    return Sidecar(**fields)
