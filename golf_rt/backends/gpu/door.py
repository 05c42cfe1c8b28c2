"""The one door to the GPU: every TensorRT, cuda-python and ONNX Runtime GPU-provider call goes through it.

golf-rt's GPU code above this door (engine caches and sidecars, profile choice, buffers, locks,
threads, fallback, Triton repositories) is plain Python. The door itself is small: a device
object with

- `machine()`: TensorRT version, GPU name, compute capability and CUDA version;
- `build_plan(...)`: a serialized engine and timing cache from an ONNX file (Polygraphy);
- `load_engine(plan, version_compatible)` and `create_context(engine)`: objects with TensorRT
  10's named-tensor API (`num_io_tensors`, `get_tensor_name`, `set_input_shape`,
  `set_tensor_address`, `execute_async_v3`, ...);
- device and pinned host memory, copies and streams (`malloc`, `malloc_host`, `copy_to_device`,
  `copy_to_host`, `create_stream`, `synchronize`, ...);
- `onnxruntime_session(...)`: an ONNX Runtime session on the CUDA or TensorRT provider.

Two devices implement it: `gpu_tensorrt.TensorRTDevice` (the real one) and
`gpu_standin.StandInDevice`, which runs the same ONNX files with ONNX Runtime on the CPU, keeps
"device" buffers in host memory and treats streams as no-ops. The stand-in is used only when
`GOLF_RT_GPU_STANDIN=1` is set and TensorRT is not installed: where TensorRT really is, the real
device is used and a warning says the variable was ignored. The stand-in raises `StandInError` on
any call it does not model, so it can stand in for a GPU in CI and on a laptop (a dry run of a GPU
deployment) but cannot hide a real failure.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from golf_rt.machine.environment import cuda_device_count, installed

logger = logging.getLogger(__name__)

STANDIN_VARIABLE = "GOLF_RT_GPU_STANDIN"
_lock = threading.Lock()
_devices: dict[str, Any] = {}


def standin_requested() -> bool:
    """Whether the user asked for the CPU stand-in of the GPU (GOLF_RT_GPU_STANDIN=1)."""
    return os.environ.get(STANDIN_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def standin_active() -> bool:
    """The stand-in is in use: asked for, and TensorRT is not really installed here."""
    if not standin_requested():
        return False
    if installed("tensorrt"):
        logger.warning("%s=1 is ignored: TensorRT is installed here, so the real GPU is used", STANDIN_VARIABLE)
        return False
    return True


def gpu_visible() -> bool:
    """An NVIDIA GPU that the CUDA driver finds, or the stand-in of one."""
    return standin_active() or cuda_device_count() > 0


def tensorrt_here() -> bool:
    """TensorRT can run here: installed with a GPU visible, or stood in for."""
    return standin_active() or (installed("tensorrt") and cuda_device_count() > 0)


def gpu() -> Any:
    """The device behind the door: the stand-in when `standin_active()`, else TensorRT and cuda-python."""
    kind = "standin" if standin_active() else "tensorrt"
    with _lock:
        if kind not in _devices:
            if kind == "standin":
                from golf_rt.backends.gpu.standin import StandInDevice

                _devices[kind] = StandInDevice()
            else:
                from golf_rt.backends.gpu.tensorrt_device import TensorRTDevice

                _devices[kind] = TensorRTDevice()
        return _devices[kind]
