"""golf-rt's GPU code against the NVIDIA stack it pins (`golf_rt.backends.gpu.stack`), on a machine without a GPU.

- The pins: pyproject's `gpu` and `dev` extras, the backend record and the Triton image agree with
  the stack module, and the docs name the pinned versions.
- The manifest (`TENSORRT_NAMES`, `CUDA_RUNTIME_NAMES`, `POLYGRAPHY_CALLS`) holds every name the
  GPU code uses, read from its source (`library_names`), and nothing it no longer uses.
- TensorRT: every name of the manifest is in the compiled bindings of the pinned version
  (`tensorrt-cu13-bindings`, in the dev extra), read as a file and never loaded: they link
  libnvinfer, which only a GPU machine has. pybind11 keeps each name it registers (class,
  method, property, enum member, keyword) as a NUL-terminated C string, so a name this TensorRT
  lacks is not in the file. Names TensorRT 10 removed are not found: the check can fail. Its
  limit: the linker may keep a name only as the tail of a longer one (`serialize` inside
  `deserialize`), so a removed name that is the tail of another name still passes.
- CUDA: cuda-bindings imports without a GPU or driver; each runtime name is looked up in it.
- Polygraphy (pure Python): each call golf-rt makes binds to the installed signature.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from golf_rt.backends.gpu.stack import (
    BINDINGS_DISTRIBUTION,
    BINDINGS_MARKER,
    CUDA,
    CUDA_RUNTIME_NAMES,
    POLYGRAPHY_CALLS,
    TENSORRT,
    TENSORRT_DISTRIBUTION,
    TENSORRT_NAMES,
    TRITON_RELEASE,
)
from golf_rt.catalog import backend_record
from golf_rt.errors import BackendUnavailableError, InferenceError
from golf_rt.machine.environment import cuda_device_count, installed

ROOT = Path(__file__).resolve().parents[1]
GPU_SOURCES = (
    ROOT / "golf_rt/backends/gpu/tensorrt_device.py",
    *sorted((ROOT / "golf_rt/backends/tensorrt").glob("*.py")),
)
REMOVED_IN_TENSORRT_10 = ("execute_async_v2", "num_bindings", "get_binding_index")
INSTALL = 'pip install -e ".[dev]"'


# -- the pins


def _extra(name: str) -> dict[str, Requirement]:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {(r := Requirement(text)).name: r for text in extras[name]}


def test_the_gpu_extra_installs_the_pinned_tensorrt_and_cuda_major():
    gpu, major = _extra("gpu"), int(CUDA.split(".")[0])
    assert str(gpu[TENSORRT_DISTRIBUTION].specifier) == f"=={TENSORRT}"
    assert gpu["cuda-python"].specifier == f">={major},<{major + 1}"
    assert not [name for name in gpu if name.startswith("tensorrt") and name != TENSORRT_DISTRIBUTION]
    assert backend_record("tensorrt").distributions[0] == TENSORRT_DISTRIBUTION  # what a missing TensorRT names


def test_the_dev_extra_brings_the_bindings_of_the_pinned_stack_where_nvidia_publishes_them():
    dev, major = _extra("dev"), int(CUDA.split(".")[0])
    bindings = dev[BINDINGS_DISTRIBUTION]
    assert str(bindings.specifier) == f"=={TENSORRT}" and bindings.marker == Marker(BINDINGS_MARKER)
    assert dev["cuda-bindings"].specifier == f">={major},<{major + 1}"
    assert str(dev["cuda-bindings"].marker) == 'sys_platform == "linux" and platform_machine == "x86_64"'


def test_the_triton_image_and_the_docs_name_the_pinned_stack():
    from golf_rt.triton.kubernetes import TRITON_IMAGE

    assert TRITON_IMAGE == f"nvcr.io/nvidia/tritonserver:{TRITON_RELEASE}-py3"
    for doc in ("README.md", "docs/engines.md", "docs/serving.md"):
        text = (ROOT / doc).read_text()
        assert TENSORRT in text and TRITON_RELEASE in text, doc
    assert "--extra-index-url https://pypi.nvidia.com" in (ROOT / "docs/engines.md").read_text()


# -- the manifest against the source


@dataclass(frozen=True)
class Library:
    """How the GPU code reaches one library: the call that returns its module, and what else holds its objects."""

    is_root: Callable[[ast.Call], bool]
    receivers: tuple[str, ...] = ()  # names (or `self.` attributes) that hold its objects wherever they appear
    passes: tuple[str, ...] = ()  # functions of ours that hand a library value back (`check_cuda` unwraps a result)


def _called(call: ast.Call) -> str | None:
    return getattr(call.func, "id", None)


LIBRARIES = {
    "tensorrt": Library(lambda call: _called(call) == "tensorrt",
                        receivers=("engine", "context", "config", "self._engine", "self._context")),
    "cuda": Library(lambda call: _called(call) == "cudart", passes=("check_cuda",)),
    "polygraphy": Library(lambda call: _called(call) == "require" and bool(call.args)
                          and getattr(call.args[0], "value", None) == "polygraphy.backend.trt"),
}  # fmt: skip


def _holds(node: ast.AST, library: Library, bound: set[str]) -> bool:
    """Whether the expression `node` is an object of `library`."""
    if isinstance(node, (ast.Name, ast.Attribute)) and ast.unparse(node) in bound:
        return True
    if isinstance(node, ast.Attribute):
        return _holds(node.value, library, bound)
    if isinstance(node, ast.Call):
        if library.is_root(node):
            return True
        if _called(node) == "getattr" or _called(node) in library.passes:
            return bool(node.args) and _holds(node.args[0], library, bound)
        # calling what a call returned runs a Polygraphy loader, whose result is TensorRT's
        return not isinstance(node.func, ast.Call) and _holds(node.func, library, bound)
    return False


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.Tuple, ast.List)):
        return [name for element in node.elts for name in _targets(element)]
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return [ast.unparse(node)] if isinstance(node, (ast.Name, ast.Attribute)) else []


def library_names(path: Path, library: Library) -> set[str]:
    """Every name of `library` that the functions in `path` use.

    The rule, per function: the library's objects are what its root call returns (`tensorrt()`,
    `cudart()`, `require("polygraphy.backend.trt", ...)`), its receivers (golf-rt calls an
    ICudaEngine `engine`, an IExecutionContext `context`, an IBuilderConfig `config`), any name
    assigned one of them in that function, an attribute of one, what calling one returns (but
    not what calling a call's result returns: that runs a Polygraphy loader, and its result is
    TensorRT's), `getattr(one, ...)` and what a passing function returns. The names used are
    the attributes read or written on those objects, the literal name in `getattr(one, "NAME")`
    and the keywords passed to their methods; dunders and the methods of bytes (a library
    call's bytes, `.decode()`) are Python's.
    """
    names: set[str] = set()
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        bound = set(library.receivers)
        assignments = [node for node in ast.walk(function) if isinstance(node, ast.Assign)]
        while new := {t for a in assignments if _holds(a.value, library, bound) for n in a.targets
                      for t in _targets(n)} - bound:  # fmt: skip
            bound |= new
        for node in ast.walk(function):
            if isinstance(node, ast.Attribute) and _holds(node.value, library, bound):
                names.add(node.attr)
            if not isinstance(node, ast.Call):
                continue
            literal = node.args[1] if _called(node) == "getattr" and len(node.args) > 1 else None
            if isinstance(literal, ast.Constant) and _holds(node.args[0], library, bound):
                names.add(literal.value)
            if isinstance(node.func, ast.Attribute) and _holds(node.func.value, library, bound):
                names.update(keyword.arg for keyword in node.keywords if keyword.arg)
    return {name for name in names if not name.startswith("__") and not hasattr(bytes, name)}


def _manifest(library: str) -> tuple[str, ...]:
    """The manifest of `library` as dotted names; a Polygraphy call's keywords as `Call.keyword`."""
    if library == "polygraphy":
        return tuple(f"{call}.{keyword}" if keyword else call for call, _, keywords in POLYGRAPHY_CALLS
                     for keyword in ("", *keywords))  # fmt: skip
    return {"tensorrt": TENSORRT_NAMES, "cuda": CUDA_RUNTIME_NAMES}[library]


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_the_manifest_names_every_name_the_gpu_code_uses(library):
    used = set().union(*(library_names(path, LIBRARIES[library]) for path in GPU_SOURCES))
    declared = {part for name in _manifest(library) for part in name.split(".")}
    assert used and used - declared == set(), f"add them to golf_rt/backends/gpu/stack.py ({library})"


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_the_manifest_names_nothing_the_gpu_code_no_longer_uses(library):
    """Each entry's last name is used as above, or compared as a string ("INPUT", "FLOAT": enum member names)."""
    used = set().union(*(library_names(path, LIBRARIES[library]) for path in GPU_SOURCES))
    strings = {node.value for path in GPU_SOURCES for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)}  # fmt: skip
    assert [name for name in _manifest(library) if name.split(".")[-1] not in used | strings] == []


def test_the_rule_follows_assignments_receivers_and_getattr_but_not_a_loaders_result(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "def f(engine, plan):\n"
        "    trt = tensorrt()\n"
        "    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))\n"
        "    strategy = getattr(trt, 'ExecutionContextAllocationStrategy', None)\n"
        "    other = runtime.deserialize_cuda_engine(plan).name.decode()\n"
        "    return engine.create_execution_context(strategy.ON_PROFILE_CHANGE, flag=1), len(plan), plan.hex()\n"
        "def g():\n"
        "    runtime = cudart()\n"
        "    return check_cuda(runtime.cudaGetDeviceProperties(0)).major, runtime.cudaGetErrorString(1)[1].decode()\n"
        "def h():\n"
        "    polygraphy_trt = require('polygraphy.backend.trt', 'building')\n"
        "    config = polygraphy_trt.CreateConfig(tf32=False)(1, 2)\n"
        "    return config.get_timing_cache()\n"
    )
    assert library_names(source, LIBRARIES["tensorrt"]) == {
        "Runtime", "Logger", "WARNING", "ExecutionContextAllocationStrategy", "deserialize_cuda_engine", "name",
        "ON_PROFILE_CHANGE", "create_execution_context", "flag", "get_timing_cache",
    }  # fmt: skip
    assert library_names(source, LIBRARIES["cuda"]) == {"cudaGetDeviceProperties", "major", "cudaGetErrorString"}
    assert library_names(source, LIBRARIES["polygraphy"]) == {"CreateConfig", "tf32"}


# -- the manifest against the libraries


@pytest.fixture(scope="module")
def tensorrt_bindings() -> bytes:
    """The compiled TensorRT bindings of the pinned version, as bytes (they are never imported)."""
    if not Marker(BINDINGS_MARKER).evaluate():
        pytest.skip(f"NVIDIA publishes no {BINDINGS_DISTRIBUTION} wheel for this machine ({BINDINGS_MARKER})")
    try:
        found = distribution(BINDINGS_DISTRIBUTION)
    except PackageNotFoundError:
        pytest.fail(
            f"TensorRT's bindings are not installed, so golf-rt's TensorRT names cannot be checked: {INSTALL} "
            f"(or pip install {BINDINGS_DISTRIBUTION}=={TENSORRT})"
        )
    assert found.version == TENSORRT, f"{BINDINGS_DISTRIBUTION} {found.version} is installed, the pin is {TENSORRT}"
    (library,) = [f for f in found.files or () if f.parts[0] == "tensorrt_bindings" and f.name.startswith("tensorrt.")
                  and f.suffix in (".so", ".pyd")]  # fmt: skip
    return Path(found.locate_file(library)).read_bytes()


def _missing(data: bytes, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if any(part.encode() + b"\0" not in data for part in name.split("."))]


def test_every_tensorrt_name_golf_rt_uses_is_in_the_pinned_bindings(tensorrt_bindings):
    assert _missing(tensorrt_bindings, TENSORRT_NAMES) == []


def test_names_tensorrt_10_removed_are_not_found_so_the_check_can_fail(tensorrt_bindings):
    assert _missing(tensorrt_bindings, REMOVED_IN_TENSORRT_10) == list(REMOVED_IN_TENSORRT_10)


def test_the_bindings_module_is_not_taken_for_an_installed_tensorrt(tensorrt_bindings):
    assert not installed("tensorrt")  # the wheel's module is tensorrt_bindings: golf-rt still sees no TensorRT


def _cuda_runtime():
    try:
        return importlib.import_module("cuda.bindings.runtime")
    except ModuleNotFoundError:
        major = CUDA.split(".")[0]
        pytest.fail(
            f"cuda-bindings is not installed, so golf-rt's CUDA names cannot be checked: {INSTALL} "
            f"(or pip install 'cuda-bindings=={major}.*')"
        )


def test_every_cuda_runtime_name_golf_rt_uses_is_in_cuda_bindings():
    runtime = _cuda_runtime()

    def found(name: str) -> bool:
        owner = runtime
        for part in name.split("."):
            if not hasattr(owner, part):
                return False
            owner = getattr(owner, part)
        return True

    assert [name for name in CUDA_RUNTIME_NAMES if not found(name)] == []


@pytest.mark.skipif(cuda_device_count() > 0, reason="a CUDA driver answers here: the GPU tests run the real device")
def test_the_real_device_without_a_driver_says_there_is_no_gpu():
    from golf_rt.backends.gpu.tensorrt_device import TensorRTDevice, check_cuda, cudart

    runtime = _cuda_runtime()
    assert cudart() is runtime
    with pytest.raises(BackendUnavailableError, match="no CUDA device found"):
        TensorRTDevice().machine()
    with pytest.raises(InferenceError, match="CUDA error: .*driver"):
        check_cuda(runtime.cudaGetDeviceCount())


@pytest.mark.parametrize(("call", "positional", "keywords"), POLYGRAPHY_CALLS, ids=[c[0] for c in POLYGRAPHY_CALLS])
def test_polygraphy_takes_each_call_golf_rt_makes(call, positional, keywords):
    target = importlib.import_module("polygraphy.backend.trt")
    for part in call.split("."):
        target = getattr(target, part)
    positional += call.count(".")  # a method looked up on its class takes `self` first
    inspect.signature(target).bind(*[None] * positional, **dict.fromkeys(keywords))
