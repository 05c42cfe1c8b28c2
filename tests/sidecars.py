"""Engine sidecars for the TensorRT tests: one set of plausible values, changed per test."""

from golf_rt.artifacts.engines import DEFAULT_PROFILES, Machine, Sidecar

H100 = Machine("10.13.3.9", "NVIDIA H100 80GB HBM3", "9.0", "13.0")


def sidecar(**changes) -> Sidecar:
    """A sidecar of an H100 fp16 build with the default profiles; keyword arguments replace fields."""
    fields = dict(
        tensorrt_version=H100.tensorrt_version, gpu_name=H100.gpu_name, compute_capability=H100.compute_capability,
        cuda_version=H100.cuda_version, precision="fp16", profiles=DEFAULT_PROFILES, version_compatible=False,
        onnx_sha256="ab" * 32, onnx_name="fused_x3.onnx", built_from="fused_x3_fp16.onnx", build_seconds=12.5,
        built_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    fields.update(changes)
    return Sidecar(**fields)
