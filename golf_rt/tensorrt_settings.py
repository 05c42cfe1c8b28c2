"""TensorRT engine settings that need no GPU: profiles, build options, sidecars, file locations.

An engine is only valid on the GPU model and TensorRT version that built it, so every engine
file `<name>.plan` has a JSON sidecar `<name>.plan.json` saying what built it; loading
compares it with the running machine (`check_sidecar`) and refuses a mismatch.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from golf_rt.contract import CHANNELS, DEFAULT_ITERATIONS, MAX_PIXELS, MIN_SIDE
from golf_rt.errors import ConfigurationError, EngineMismatchError
from golf_rt.onnx_files import onnx_file_name
from golf_rt.paths import cache_dir

Shape = tuple[int, int, int, int]
ENGINE_PRECISIONS = ("fp32", "fp16")
SIDECAR_FORMAT = "golf-rt-engine/1"
_SHAPE_PATTERN = re.compile(r"^\s*(\d+)\s*[x,]\s*(\d+)\s*[x,]\s*(\d+)\s*[x,]\s*(\d+)\s*$")


def parse_shape(text: str) -> Shape:
    """'1x3x256x256' (or '1,3,256,256') -> (1, 3, 256, 256)."""
    match = _SHAPE_PATTERN.match(text)
    if not match:
        raise ConfigurationError(f"shape {text!r} is not of the form NxCxHxW, e.g. 1x3x256x256")
    n, c, h, w = (int(group) for group in match.groups())
    return n, c, h, w


def format_shape(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


@dataclass(frozen=True)
class Profile:
    """One optimization profile over batch and resolution: min <= opt <= max in every dimension."""

    min: Shape = (1, 3, 64, 64)
    opt: Shape = (1, 3, 256, 256)
    max: Shape = (4, 3, 720, 1280)

    def __post_init__(self) -> None:
        for name in ("min", "opt", "max"):
            shape = tuple(int(d) for d in getattr(self, name))
            if len(shape) != 4 or shape[1] != CHANNELS:
                raise ConfigurationError(
                    f"profile {name} shape must be N x {CHANNELS} x H x W, got {format_shape(shape)}"
                )
            if shape[0] < 1 or shape[2] < MIN_SIDE or shape[3] < MIN_SIDE:
                raise ConfigurationError(
                    f"profile {name} shape {format_shape(shape)} needs batch >= 1 and sides >= {MIN_SIDE}"
                )
            object.__setattr__(self, name, shape)
        if not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max, strict=True)):
            raise ConfigurationError(
                f"profile needs min <= opt <= max in every dimension, got min {format_shape(self.min)}, "
                f"opt {format_shape(self.opt)}, max {format_shape(self.max)}"
            )
        if self.max[2] * self.max[3] > MAX_PIXELS:
            raise ConfigurationError(
                f"profile max {format_shape(self.max)} is over the image maximum of {MAX_PIXELS:,} pixels"
            )

    @classmethod
    def from_strings(cls, min: str | None = None, opt: str | None = None, max: str | None = None) -> Profile:
        """A profile from 'NxCxHxW' strings; None keeps the default of that bound."""
        default = cls()
        return cls(
            parse_shape(min) if min else default.min,
            parse_shape(opt) if opt else default.opt,
            parse_shape(max) if max else default.max,
        )

    def accepts(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == 4 and all(lo <= d <= hi for lo, d, hi in zip(self.min, shape, self.max, strict=True))


@dataclass(frozen=True)
class BuildOptions:
    """How to build an engine: precision, profile, timing cache and builder workspace."""

    precision: str = "fp32"
    profile: Profile = field(default_factory=Profile)
    timing_cache: Path | None = None  # None = default_timing_cache_path()
    workspace_mib: int = 2048

    def __post_init__(self) -> None:
        if self.precision not in ENGINE_PRECISIONS:
            raise ConfigurationError(
                f"engine precision must be one of {', '.join(ENGINE_PRECISIONS)}, got {self.precision!r}"
            )
        if self.workspace_mib < 16:
            raise ConfigurationError(f"workspace must be at least 16 MiB, got {self.workspace_mib}")
        if self.timing_cache is not None:
            object.__setattr__(self, "timing_cache", Path(self.timing_cache))

    @property
    def timing_cache_path(self) -> Path:
        return self.timing_cache if self.timing_cache is not None else default_timing_cache_path()


@dataclass(frozen=True)
class Sidecar:
    """What built an engine: compared with the running GPU and TensorRT before the engine is loaded."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "9.0"
    precision: str
    profile_min: Shape
    profile_opt: Shape
    profile_max: Shape
    onnx_sha256: str
    onnx_name: str
    build_seconds: float
    built_at: str  # ISO 8601, UTC
    format: str = SIDECAR_FORMAT

    @property
    def profile(self) -> Profile:
        return Profile(self.profile_min, self.profile_opt, self.profile_max)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Sidecar:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EngineMismatchError(f"engine sidecar is not valid JSON: {exc}") from exc
        if data.get("format") != SIDECAR_FORMAT:
            raise EngineMismatchError(f"engine sidecar has format {data.get('format')!r}, expected {SIDECAR_FORMAT!r}")
        try:
            for key in ("profile_min", "profile_opt", "profile_max"):
                data[key] = tuple(data[key])
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise EngineMismatchError(f"engine sidecar is incomplete: {exc}") from exc


def sidecar_path(engine_path: str | Path) -> Path:
    return Path(f"{engine_path}.json")


def write_sidecar(engine_path: str | Path, sidecar: Sidecar) -> Path:
    path = sidecar_path(engine_path)
    path.write_text(sidecar.to_json() + "\n")
    return path


def read_sidecar(engine_path: str | Path) -> Sidecar:
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise EngineMismatchError(f"{path} is missing: rebuild the engine with `golf-rt build-engine`")
    return Sidecar.from_json(path.read_text())


def check_sidecar(sidecar: Sidecar, tensorrt_version: str, gpu_name: str, compute_capability: str) -> None:
    """Refuse an engine built for another GPU or TensorRT version: engines are not portable."""
    problems = []
    if sidecar.tensorrt_version != tensorrt_version:
        problems.append(f"TensorRT {sidecar.tensorrt_version} (running {tensorrt_version})")
    if sidecar.compute_capability != compute_capability:
        problems.append(f"compute capability {sidecar.compute_capability} (running {compute_capability})")
    if sidecar.gpu_name != gpu_name:
        problems.append(f"GPU {sidecar.gpu_name!r} (running {gpu_name!r})")
    if problems:
        raise EngineMismatchError(
            f"engine was built for {', '.join(problems)}; engines are not portable: "
            f"rebuild it here with `golf-rt build-engine`"
        )


def engine_file_name(part: str, iterations: int = DEFAULT_ITERATIONS, precision: str = "fp32") -> str:
    """fused_x3_fp16.plan, f_fp32.plan, ...: the ONNX stem plus the precision."""
    if precision not in ENGINE_PRECISIONS:
        raise ConfigurationError(f"engine precision must be one of {', '.join(ENGINE_PRECISIONS)}, got {precision!r}")
    return f"{Path(onnx_file_name(part, iterations)).stem}_{precision}.plan"


def default_engine_dir() -> Path:
    return cache_dir() / "engines"


def default_timing_cache_path() -> Path:
    return cache_dir() / "tensorrt" / "timing.cache"
