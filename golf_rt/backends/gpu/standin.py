"""A CPU stand-in for the device behind `golf_rt.backends.gpu.door`, for CI and dry runs without a GPU.

It models what golf-rt's GPU code relies on, and checks it the way the real device would punish it:

- an "engine" is the ONNX file it was built from plus its profiles; it runs with ONNX Runtime on
  the CPU, so outputs are real (fp16 engines run the FP16 ONNX file);
- TensorRT's named-tensor API: a context starts on profile 0, `set_input_shape` refuses a shape
  outside the active profile, `set_tensor_address` takes device memory only, `execute_async_v3`
  needs every address and a buffer large enough for the shape, and one context run by two threads
  at once is an error (on a GPU: corrupt results);
- device memory as host arrays, with a capacity (`memory_limit_bytes`) that buffers and
  contexts share, failing where TensorRT and CUDA fail: an engine always builds; a context takes
  its activation memory when it is created (ON_PROFILE_CHANGE: the profile in use, again at each
  profile switch, which returns False when it does not fit; STATIC: the largest profile), and an
  allocation over the capacity fails as cudaMalloc does. `busy = True` makes the device refuse
  work as a GPU in exclusive-process mode held by another process does;
- ONNX Runtime's GPU providers as CPU sessions that report the provider asked for, given only the
  option names ONNX Runtime's parser takes (`PROVIDER_OPTIONS`); the TensorRT provider's cache
  folders must have an existing parent (the provider creates one level only), and it runs an fp32
  file only with NVIDIA_TF32_OVERRIDE=0 (otherwise TensorRT would compute it in TF32).

Anything else raises `StandInError` naming the call, so the stand-in cannot pass for a GPU where
golf-rt starts to use something it does not model.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.artifacts.engines import Machine, Profile
from golf_rt.backends.gpu.provider_options import PROVIDER_OPTIONS
from golf_rt.backends.gpu.stack import TENSORRT
from golf_rt.contract import INPUT_NAME, OUTPUT_NAME
from golf_rt.errors import ExportError, InferenceError, StandInError
from golf_rt.machine.environment import TF32_OVERRIDE, tf32_off_in_this_process
from golf_rt.machine.extras import require

PLAN_MAGIC = b"GOLF-RT-STANDIN-PLAN\n"
TIMING_MAGIC = b"GOLF-RT-STANDIN-TIMING\n"
STANDIN_MACHINE = Machine(f"{TENSORRT}+standin", "golf-rt CPU stand-in", "0.0", "0.0")
BYTES_PER_ACTIVATION = {"fp32": 4, "fp16": 2}
LIVE_FEATURE_MAPS = 4
"""Feature maps of 32 channels alive at once in F: the stand-in's estimate of activation memory."""
_OUT_OF_MEMORY = "CUDA error: out of memory"
_BUSY = "CUDA error: all CUDA-capable devices are busy or unavailable"


def profile_memory_estimate(profile: Profile, precision: str) -> int:
    """Activation bytes of one context at `profile`'s largest shape (the stand-in's model of TensorRT's)."""
    n, _, height, width = profile.max
    return n * height * width * 32 * LIVE_FEATURE_MAPS * BYTES_PER_ACTIVATION[precision]


def _checked_buffer(table: dict[int, np.ndarray], pointer: int, nbytes: int, kind: str) -> np.ndarray:
    """The allocation at `pointer` in `table`, holding at least `nbytes`; StandInError otherwise."""
    buffer = table.get(pointer)
    if buffer is None:
        raise StandInError(f"{pointer:#x} is not {kind}")
    if buffer.nbytes < nbytes:
        raise StandInError(f"buffer {pointer:#x} holds {buffer.nbytes} bytes; {nbytes} were needed")
    return buffer


def check_provider_options(providers: list) -> None:
    """StandInError for a provider the stand-in does not model, or an option its ONNX Runtime parser would refuse."""
    for provider in providers:
        name, options = provider if isinstance(provider, tuple) else (provider, {})
        if name not in PROVIDER_OPTIONS:
            raise StandInError(
                f"the GPU stand-in does not model {name}; it stands in for {', '.join(PROVIDER_OPTIONS)}"
            )
        unknown = sorted(set(options) - PROVIDER_OPTIONS[name])
        if unknown:
            raise StandInError(
                f"{name} has no option {', '.join(unknown)} (ONNX Runtime refuses it); "
                f"its options: {', '.join(sorted(PROVIDER_OPTIONS[name])) or 'none'}"
            )


class _Named:
    """An enum member as TensorRT's Python enums look: `.name`."""

    def __init__(self, name: str) -> None:
        self.name = name


class _Strict:
    """Any attribute the stand-in does not define is a StandInError, not an AttributeError to guess around."""

    def __getattr__(self, name: str) -> Any:
        raise StandInError(f"the GPU stand-in does not model {type(self).__name__}.{name}; run this on a real GPU")


class StandInEngine(_Strict):
    """The subset of `tensorrt.ICudaEngine` golf-rt uses, over an ONNX Runtime CPU session."""

    def __init__(self, device: StandInDevice, onnx_bytes: bytes, profiles: tuple[Profile, ...], precision: str):
        ort = require("onnxruntime", "the GPU stand-in")
        self._device, self._profiles, self._precision = device, profiles, precision
        self._session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        self.num_io_tensors = 2
        self.num_optimization_profiles = len(profiles)

    def get_tensor_name(self, index: int) -> str:
        return (INPUT_NAME, OUTPUT_NAME)[index]

    def get_tensor_mode(self, name: str) -> _Named:
        return _Named({INPUT_NAME: "INPUT", OUTPUT_NAME: "OUTPUT"}[name])

    def get_tensor_dtype(self, name: str) -> _Named:
        self.get_tensor_mode(name)
        return _Named("FLOAT")

    def get_tensor_profile_shape(self, name: str, index: int) -> list[tuple[int, ...]]:
        profile = self._profiles[index]
        return [profile.min, profile.opt, profile.max]

    def get_device_memory_size_for_profile_v2(self, index: int) -> int:
        return profile_memory_estimate(self._profiles[index], self._precision)


class StandInContext(_Strict):
    """The subset of `tensorrt.IExecutionContext` golf-rt uses; checks what a GPU would punish."""

    def __init__(self, engine: StandInEngine, memory_bytes: int, resized: bool) -> None:
        self._engine, self._device = engine, engine._device
        self._profile, self._shape, self._addresses = 0, None, {}
        self._running = threading.Lock()
        self.memory_bytes, self._resized = memory_bytes, resized

    def set_optimization_profile_async(self, index: int, stream: Any) -> bool:
        """False, as TensorRT's, for an index out of range or (ON_PROFILE_CHANGE) memory that does not fit."""
        self._device.check_stream(stream)
        if not 0 <= index < self._engine.num_optimization_profiles:
            return False
        needed = self._engine.get_device_memory_size_for_profile_v2(index)
        if self._resized and not self._device.resize_context(self, needed):
            return False
        self._profile, self._shape = index, None
        return True

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        if name != INPUT_NAME:
            raise StandInError(f"{name!r} is not an input of a golf-rt engine")
        if not self._engine._profiles[self._profile].accepts(tuple(shape)):
            return False
        self._shape = tuple(int(d) for d in shape)
        return True

    def set_tensor_address(self, name: str, pointer: int) -> bool:
        self._engine.get_tensor_mode(name)
        self._device.device_buffer(pointer)  # a host pointer here would crash a GPU kernel
        self._addresses[name] = pointer
        return True

    def execute_async_v3(self, stream: Any) -> bool:
        self._device.check_stream(stream)
        if not self._running.acquire(blocking=False):
            raise StandInError("one execution context was run by two threads at once (on a GPU: corrupt results)")
        try:
            return self._execute()
        finally:
            self._running.release()

    def _execute(self) -> bool:
        if self._shape is None:
            raise StandInError("execute_async_v3 before set_input_shape for the active profile")
        missing = {INPUT_NAME, OUTPUT_NAME} - set(self._addresses)
        if missing:
            raise StandInError(f"execute_async_v3 without an address for {', '.join(sorted(missing))}")
        count = int(np.prod(self._shape))
        source = self._device.device_buffer(self._addresses[INPUT_NAME], count * 4)
        target = self._device.device_buffer(self._addresses[OUTPUT_NAME], count * 4)
        batch = source[: count * 4].view(np.float32).reshape(self._shape)
        output = self._engine._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
        target[: count * 4] = np.ascontiguousarray(output, dtype=np.float32).view(np.uint8).ravel()
        return True


class _StandInSession(_Strict):
    """An ONNX Runtime CPU session that reports the GPU providers it stands in for."""

    def __init__(self, session: Any, providers: list[str]) -> None:
        self._session, self._providers = session, providers

    def get_providers(self) -> list[str]:
        return list(self._providers)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.run(*args, **kwargs)

    def get_inputs(self) -> Any:
        return self._session.get_inputs()

    def get_outputs(self) -> Any:
        return self._session.get_outputs()

    def get_modelmeta(self) -> Any:
        return self._session.get_modelmeta()


class StandInDevice(_Strict):
    """The GPU door on the CPU: same methods as `gpu_tensorrt.TensorRTDevice`."""

    name = "standin"

    def __init__(self, memory_limit_bytes: int = 80 * 2**30) -> None:
        self.memory_limit_bytes = memory_limit_bytes
        self.busy = False
        self._lock = threading.Lock()
        self._device: dict[int, np.ndarray] = {}
        self._host: dict[int, np.ndarray] = {}
        self._streams: set[int] = set()
        self._contexts: weakref.WeakSet[StandInContext] = weakref.WeakSet()  # a context's memory goes with it
        self._next = itertools.count(1)

    # -- the machine, engines and contexts

    def machine(self) -> Machine:
        return STANDIN_MACHINE

    def build_plan(
        self, onnx_path: Path, profiles: tuple[Profile, ...], workspace_mib: int, version_compatible: bool,
        timing_cache: bytes,
    ) -> tuple[bytes, bytes]:  # fmt: skip
        self._refuse_when_busy()
        onnx_bytes = Path(onnx_path).read_bytes()
        precision = "fp16" if Path(onnx_path).stem.endswith("_fp16") else "fp32"
        ort = require("onnxruntime", "the GPU stand-in")
        try:
            ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime's parse errors share no base class
            raise ExportError(f"TensorRT failed to build an engine from {Path(onnx_path).name}: {exc}") from exc
        header = {"profiles": [str(p) for p in profiles], "version_compatible": version_compatible,
                  "precision": precision}  # fmt: skip
        plan = PLAN_MAGIC + json.dumps(header).encode() + b"\n" + onnx_bytes
        known = timing_cache.startswith(TIMING_MAGIC)
        entries = json.loads(timing_cache[len(TIMING_MAGIC):]) if known else []  # fmt: skip
        entries.append(hashlib.sha256(onnx_bytes).hexdigest()[:12])
        return plan, TIMING_MAGIC + json.dumps(entries).encode()

    def load_engine(self, plan: bytes, version_compatible: bool) -> StandInEngine | None:
        if not plan.startswith(PLAN_MAGIC):
            return None  # what TensorRT's deserialize_cuda_engine gives for bytes it cannot read
        header_line, _, onnx_bytes = plan[len(PLAN_MAGIC):].partition(b"\n")  # fmt: skip
        try:
            header = json.loads(header_line)
            profiles = tuple(Profile.parse(text) for text in header["profiles"])
        except (ValueError, KeyError, TypeError):
            return None
        if header["version_compatible"] and not version_compatible:
            return None  # a version-compatible plan needs engine_host_code_allowed
        return StandInEngine(self, onnx_bytes, profiles, header["precision"])

    def create_context(self, engine: StandInEngine, strategy: str = "ON_PROFILE_CHANGE") -> StandInContext:
        """A context whose activation memory is taken now, as TensorRT's `create_execution_context(strategy)` does.

        `strategy`, a member of TensorRT's ExecutionContextAllocationStrategy: ON_PROFILE_CHANGE
        (what `TensorRTDevice.create_context` asks for) takes the memory of the profile in use
        (0 at first) and again at each switch; STATIC takes the largest profile's at once.
        InferenceError, as the real device's for a None context, when it does not fit.
        """
        self._refuse_when_busy()
        if strategy not in ("ON_PROFILE_CHANGE", "STATIC"):
            raise StandInError(f"the GPU stand-in does not model ExecutionContextAllocationStrategy.{strategy}")
        profiles = range(engine.num_optimization_profiles) if strategy == "STATIC" else [0]
        needed = max(engine.get_device_memory_size_for_profile_v2(i) for i in profiles)
        with self._lock:
            if not self._fits(needed):
                raise InferenceError(
                    "TensorRT could not create an execution context (see the TensorRT log): "
                    f"{needed >> 20} MiB of activation memory, {self._free() >> 20} MiB free: {_OUT_OF_MEMORY}"
                )
            context = StandInContext(engine, needed, resized=strategy == "ON_PROFILE_CHANGE")
            self._contexts.add(context)
        return context

    def resize_context(self, context: StandInContext, nbytes: int) -> bool:
        """Give `context` `nbytes` of activation memory instead of what it holds; False when they do not fit."""
        with self._lock:
            if not self._fits(nbytes - context.memory_bytes):
                return False
            context.memory_bytes = nbytes
            return True

    def activation_bytes(self) -> int:
        """Activation memory of the contexts alive now."""
        return sum(context.memory_bytes for context in list(self._contexts))

    def _free(self) -> int:
        return self.memory_limit_bytes - self.allocated_bytes() - self.activation_bytes()

    def _fits(self, nbytes: int) -> bool:
        return nbytes <= self._free()

    # -- memory and streams

    def malloc(self, nbytes: int) -> int:
        with self._lock:
            self._refuse_when_busy()
            if not self._fits(nbytes):
                raise InferenceError(_OUT_OF_MEMORY)
            pointer = next(self._next) << 20
            self._device[pointer] = np.zeros(nbytes, np.uint8)
            return pointer

    def free(self, pointer: int) -> None:
        with self._lock:
            if self._device.pop(pointer, None) is None:
                raise StandInError(f"cudaFree of {pointer:#x}, which is not device memory (freed twice?)")

    def malloc_host(self, nbytes: int) -> int:
        array = np.zeros(nbytes, np.uint8)
        with self._lock:
            self._host[array.ctypes.data] = array
        return array.ctypes.data

    def free_host(self, pointer: int) -> None:
        with self._lock:
            if self._host.pop(pointer, None) is None:
                raise StandInError(f"cudaFreeHost of {pointer:#x}, which is not pinned host memory")

    def host_array(self, pointer: int, count: int) -> np.ndarray:
        return self._host_buffer(pointer, count * 4)[: count * 4].view(np.float32)

    def device_buffer(self, pointer: int, nbytes: int = 0) -> np.ndarray:
        return _checked_buffer(self._device, pointer, nbytes, "device memory from malloc")

    def _host_buffer(self, pointer: int, nbytes: int) -> np.ndarray:
        return _checked_buffer(self._host, pointer, nbytes, "pinned host memory from malloc_host")

    def copy_to_device(self, device: int, host: int, nbytes: int, stream: Any) -> None:
        self.check_stream(stream)
        self.device_buffer(device, nbytes)[:nbytes] = self._host_buffer(host, nbytes)[:nbytes]

    def copy_to_host(self, host: int, device: int, nbytes: int, stream: Any) -> None:
        self.check_stream(stream)
        self._host_buffer(host, nbytes)[:nbytes] = self.device_buffer(device, nbytes)[:nbytes]

    def create_stream(self) -> int:
        self._refuse_when_busy()
        stream = next(self._next)
        self._streams.add(stream)
        return stream

    def check_stream(self, stream: Any) -> None:
        if stream not in self._streams:
            raise StandInError(f"stream {stream!r} was not created, or was destroyed")

    def synchronize(self, stream: Any) -> None:
        self.check_stream(stream)

    def destroy_stream(self, stream: Any) -> None:
        self.check_stream(stream)
        self._streams.discard(stream)

    def allocated_bytes(self) -> int:
        """Device memory held now: what a test reads to find a leak."""
        return sum(b.nbytes for b in self._device.values())

    def pinned_bytes(self) -> int:
        return sum(b.nbytes for b in self._host.values())

    def _refuse_when_busy(self) -> None:
        if self.busy:
            raise InferenceError(_BUSY)

    # -- ONNX Runtime's GPU providers

    def onnxruntime_session(self, path: Path, options: Any, providers: list) -> _StandInSession:
        ort = require("onnxruntime", "the GPU stand-in")
        fail = ort.capi.onnxruntime_pybind11_state.Fail
        names = [p[0] if isinstance(p, tuple) else p for p in providers]
        check_provider_options(providers)
        if self.busy:
            raise fail(f"{names[0]}: {_BUSY}")
        for provider in providers:
            if isinstance(provider, tuple) and provider[0] == "TensorrtExecutionProvider":
                fp16 = Path(path).stem.endswith("_fp16") or str(provider[1].get("trt_fp16_enable")) in ("True", "1")
                if not fp16 and not tf32_off_in_this_process():
                    raise StandInError(
                        f"TensorrtExecutionProvider would run {Path(path).name} in TF32, not fp32 (TensorRT's "
                        f"default, with no provider option against it): start the process with {TF32_OVERRIDE}=0"
                    )
                for key in ("trt_engine_cache_path", "trt_timing_cache_path"):
                    folder = provider[1].get(key)
                    if folder and not Path(folder).parent.is_dir():
                        raise fail(
                            f"TensorrtExecutionProvider: cannot create {key} {folder}: its parent does not exist"
                        )
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return _StandInSession(session, names)
