"""TensorRT engines without a GPU: their profiles, build options, sidecars and cache keys.

An engine is only valid for the ONNX file, TensorRT version and GPU that built it, so every
engine file `<name>.plan` has a JSON sidecar `<name>.plan.json` saying what built it. Engines
in the cache live under a folder named by TensorRT version, GPU and compute capability
(`Machine.key`) and carry the ONNX file's hash in their name; the runner rebuilds one whose
sidecar does not match (`stale_reasons`). The timing cache is keyed the same way, plus CUDA.

The default profile covers the tile (`golf_rt.contract.TILE_SIZE`, batches up to
`GPU_TILE_BATCH`) and anything smaller, from sides of 4 (the reflect padding of the 7x7
convolutions needs 4 pixels). Engines built with several profiles (`--profile`) pick one per
input (`golf_rt.backends.tensorrt.runner.choose_profile`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from golf_rt.artifacts.names import onnx_file_name
from golf_rt.catalog import ENGINE_PRECISIONS
from golf_rt.contract import CHANNELS, DEFAULT_ITERATIONS, GPU_TILE_BATCH, MAX_PIXELS, TILE_SIZE
from golf_rt.errors import ConfigurationError, EngineMismatchError
from golf_rt.machine.atomic_files import atomic_path
from golf_rt.machine.paths import cache_dir

Shape = tuple[int, int, int, int]
SIDECAR_FORMAT = "golf-rt-engine/2"
SMALLEST_SIDE = 4
"""Smallest side an engine takes: the 7x7 convolutions reflect-pad by 3, which needs 4 pixels (ONNX Runtime agrees)."""
_SHAPE_PATTERN = re.compile(r"^\s*(\d+)\s*[x,]\s*(\d+)\s*[x,]\s*(\d+)\s*[x,]\s*(\d+)\s*$")


def parse_shape(text: str) -> Shape:
    """'1x3x256x256' (or '1,3,256,256') -> (1, 3, 256, 256)."""
    match = _SHAPE_PATTERN.match(text)
    if not match:
        raise ConfigurationError(f"shape {text!r} is not of the form NxCxHxW, e.g. 1x3x256x256")
    n, c, h, w = (int(group) for group in match.groups())
    return n, c, h, w


def format_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


@dataclass(frozen=True)
class Profile:
    """One optimization profile over batch and resolution: min <= opt <= max in every dimension."""

    min: Shape
    opt: Shape
    max: Shape

    def __post_init__(self) -> None:
        for name in ("min", "opt", "max"):
            shape = tuple(int(d) for d in getattr(self, name))
            if len(shape) != 4 or shape[1] != CHANNELS:
                raise ConfigurationError(
                    f"profile {name} shape must be N x {CHANNELS} x H x W, got {format_shape(shape)}"
                )
            if shape[0] < 1 or shape[2] < SMALLEST_SIDE or shape[3] < SMALLEST_SIDE:
                raise ConfigurationError(
                    f"profile {name} shape {format_shape(shape)} needs batch >= 1 and sides >= {SMALLEST_SIDE}"
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
    def parse(cls, text: str) -> Profile:
        """'1x3x4x4:1x3x256x256:4x3x1024x1024' (min:opt:max) -> a Profile."""
        parts = text.split(":")
        if len(parts) != 3:
            raise ConfigurationError(f"profile {text!r} is not MIN:OPT:MAX, e.g. 1x3x4x4:1x3x256x256:4x3x1024x1024")
        return cls(*(parse_shape(part) for part in parts))

    def accepts(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == 4 and all(lo <= d <= hi for lo, d, hi in zip(self.min, shape, self.max, strict=True))

    def __str__(self) -> str:
        return f"{format_shape(self.min)}:{format_shape(self.opt)}:{format_shape(self.max)}"


def around_tile(tile: int) -> Profile:
    """The profile of batches of up to GPU_TILE_BATCH tiles of `tile` pixels a side, and of anything smaller."""
    most = (GPU_TILE_BATCH, CHANNELS, tile, tile)
    return Profile((1, CHANNELS, SMALLEST_SIDE, SMALLEST_SIDE), most, most)


DEFAULT_PROFILES = (around_tile(TILE_SIZE),)
"""One profile around the tile: images are deblurred in tiles (`golf_rt.images.tiles`), so an engine sees
batches of up to GPU_TILE_BATCH tiles, or one image smaller than a tile; its context reserves
memory for that shape only, whatever the photo's size."""


def tile_profiles(tile: int) -> tuple[Profile, ...]:
    """Profiles that take batches of up to GPU_TILE_BATCH tiles of `tile` pixels a side, and anything smaller.

    The default ones for tiles up to TILE_SIZE (`Deblurrer(tile=...)`), else one around the larger tile.
    """
    return DEFAULT_PROFILES if tile <= TILE_SIZE else (around_tile(tile),)


def check_profiles(profiles: tuple[Profile, ...]) -> tuple[Profile, ...]:
    profiles = tuple(profiles)
    if not profiles:
        raise ConfigurationError("an engine needs at least one optimization profile")
    return profiles


@dataclass(frozen=True)
class Machine:
    """What an engine is bound to: TensorRT version, GPU and its compute capability (and CUDA, for timing caches)."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "9.0"
    cuda_version: str = ""  # "13.0"

    @property
    def key(self) -> str:
        """trt10.13.3.9-nvidia-h100-80gb-hbm3-sm90: the engine cache folder of this machine."""
        gpu = re.sub(r"[^a-z0-9]+", "-", self.gpu_name.lower()).strip("-") or "gpu"
        return f"trt{self.tensorrt_version}-{gpu}-sm{self.compute_capability.replace('.', '')}"

    @property
    def timing_key(self) -> str:
        return f"{self.key}-cuda{self.cuda_version or 'unknown'}"


@dataclass(frozen=True)
class BuildOptions:
    """How to build an engine: precision, profiles, timing cache, workspace and version compatibility."""

    precision: str = "fp32"
    profiles: tuple[Profile, ...] = DEFAULT_PROFILES
    timing_cache: Path | None = None  # None = default_timing_cache_path(machine)
    workspace_mib: int = 4096
    version_compatible: bool = False

    def __post_init__(self) -> None:
        if self.precision not in ENGINE_PRECISIONS:
            raise ConfigurationError(
                f"engine precision must be one of {', '.join(ENGINE_PRECISIONS)}, got {self.precision!r}"
            )
        if self.workspace_mib < 16:
            raise ConfigurationError(f"workspace must be at least 16 MiB, got {self.workspace_mib}")
        object.__setattr__(self, "profiles", check_profiles(self.profiles))
        if self.timing_cache is not None:
            object.__setattr__(self, "timing_cache", Path(self.timing_cache))

    def timing_cache_path(self, machine: Machine) -> Path:
        return self.timing_cache if self.timing_cache is not None else default_timing_cache_path(machine)


@dataclass(frozen=True)
class Sidecar:
    """What built an engine: compared with the running machine and the ONNX file before the engine is used."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    cuda_version: str
    precision: str
    profiles: tuple[Profile, ...]
    version_compatible: bool
    onnx_sha256: str  # the fp32 ONNX file of the model part: the model's identity
    onnx_name: str
    built_from: str  # the ONNX file parsed (the FP16 one for fp16)
    build_seconds: float
    built_at: str  # ISO 8601, UTC
    format: str = SIDECAR_FORMAT
    engine_sha256: str = ""  # the plan's own bytes: a truncated or damaged plan is rebuilt, not loaded
    profile_memory_bytes: tuple[int, ...] = ()  # device memory of one context at each profile, from TensorRT

    @property
    def context_memory_bytes(self) -> int:
        """Device memory one execution context may take: its largest profile's (0 when not recorded)."""
        return max(self.profile_memory_bytes, default=0)

    @property
    def machine(self) -> Machine:
        return Machine(self.tensorrt_version, self.gpu_name, self.compute_capability, self.cuda_version)

    def to_json(self) -> str:
        data = asdict(self)
        data["profiles"] = [str(p) for p in self.profiles]
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Sidecar:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EngineMismatchError(f"engine sidecar is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise EngineMismatchError(f"engine sidecar has format {found!r}, expected {SIDECAR_FORMAT!r}: rebuild it")
        try:
            data["profiles"] = tuple(Profile.parse(p) for p in data["profiles"])
            data["profile_memory_bytes"] = tuple(int(b) for b in data.get("profile_memory_bytes", ()))
            return cls(**data)
        except (KeyError, TypeError, ConfigurationError) as exc:
            raise EngineMismatchError(f"engine sidecar is incomplete: {exc}") from exc


def sidecar_path(engine_path: str | Path) -> Path:
    return Path(f"{engine_path}.json")


def write_sidecar(engine_path: str | Path, sidecar: Sidecar) -> Path:
    path = sidecar_path(engine_path)
    with atomic_path(path) as temporary:
        temporary.write_text(sidecar.to_json() + "\n")
    return path


def read_sidecar(engine_path: str | Path) -> Sidecar:
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise EngineMismatchError(f"{path} is missing: rebuild the engine with `golf-rt build-engine`")
    return Sidecar.from_json(path.read_text())


def machine_mismatches(built: Machine, running: Machine, version_compatible: bool = False) -> list[str]:
    """Why an engine built on `built` cannot run on `running` ([] when it can).

    A version-compatible engine runs under the same or a later TensorRT of the same major version.
    """
    problems = []
    if built.tensorrt_version != running.tensorrt_version:
        later = _version(running.tensorrt_version) >= _version(built.tensorrt_version)
        same_major = _version(running.tensorrt_version)[:1] == _version(built.tensorrt_version)[:1]
        if not (version_compatible and later and same_major):
            problems.append(f"TensorRT {built.tensorrt_version} (running {running.tensorrt_version})")
    if built.compute_capability != running.compute_capability:
        problems.append(f"compute capability {built.compute_capability} (running {running.compute_capability})")
    if built.gpu_name != running.gpu_name:
        problems.append(f"GPU {built.gpu_name!r} (running {running.gpu_name!r})")
    return problems


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def check_sidecar(sidecar: Sidecar, running: Machine) -> None:
    """Refuse an engine built for another GPU or TensorRT version: engines are not portable."""
    problems = machine_mismatches(sidecar.machine, running, sidecar.version_compatible)
    if problems:
        raise EngineMismatchError(
            f"engine was built for {', '.join(problems)}; engines are not portable: rebuild it here with "
            f"`golf-rt build-engine` (engines in golf-rt's cache are rebuilt on their own)"
        )


def stale_reasons(
    sidecar: Sidecar, running: Machine, onnx_sha256: str, options: BuildOptions, engine_sha256: str | None = None
) -> list[str]:
    """Why a cached engine must be rebuilt for this machine, ONNX file and options ([] when it is current).

    `engine_sha256`, the plan file's hash now, is compared with the one recorded when it was built.
    """
    reasons = machine_mismatches(sidecar.machine, running, sidecar.version_compatible)
    if engine_sha256 is not None and sidecar.engine_sha256 and sidecar.engine_sha256 != engine_sha256:
        reasons.append(f"a plan file whose bytes changed since it was built ({engine_sha256[:12]})")
    if sidecar.onnx_sha256 != onnx_sha256:
        reasons.append(f"ONNX file {sidecar.onnx_sha256[:12]} (now {onnx_sha256[:12]})")
    if sidecar.precision != options.precision:
        reasons.append(f"precision {sidecar.precision} (asked {options.precision})")
    if sidecar.profiles != options.profiles:
        built, asked = (", ".join(map(str, p)) for p in (sidecar.profiles, options.profiles))
        reasons.append(f"profiles {built} (asked {asked})")
    if sidecar.version_compatible != options.version_compatible:
        reasons.append(f"version compatible {sidecar.version_compatible} (asked {options.version_compatible})")
    return reasons


def engine_file_name(part: str, iterations: int = DEFAULT_ITERATIONS, precision: str = "fp32") -> str:
    """fused_x3_fp16.plan, f_fp32.plan, ...: the ONNX stem plus the precision (what Triton repositories hold)."""
    if precision not in ENGINE_PRECISIONS:
        raise ConfigurationError(f"engine precision must be one of {', '.join(ENGINE_PRECISIONS)}, got {precision!r}")
    return f"{Path(onnx_file_name(part, iterations)).stem}_{precision}.plan"


def default_engine_dir() -> Path:
    return cache_dir() / "engines"


def cached_engine_path(onnx_path: str | Path, onnx_sha256: str, machine: Machine, options: BuildOptions) -> Path:
    """Where the runner and `golf-rt build-engine` (without --output) keep the engine of one ONNX file.

    `<cache>/engines/<machine key>/<onnx stem>-<onnx hash>_<precision>[_vc]-p<profiles hash>.plan`:
    engines of other profiles sit side by side instead of replacing each other.
    """
    suffix = "_vc" if options.version_compatible else ""
    profiles = hashlib.sha256(",".join(map(str, options.profiles)).encode()).hexdigest()[:8]
    name = f"{Path(onnx_path).stem}-{onnx_sha256[:12]}_{options.precision}{suffix}-p{profiles}.plan"
    return default_engine_dir() / machine.key / name


def sibling_engine_paths(path: Path) -> list[Path]:
    """The cached engines of the same ONNX file, precision and compatibility as `path`, for any profiles."""
    stem = path.name.rsplit("-p", 1)[0]
    return sorted(path.parent.glob(f"{stem}-p*.plan")) if path.parent.is_dir() else []


def default_timing_cache_path(machine: Machine) -> Path:
    """One timing cache per TensorRT version, GPU and CUDA version: timings are valid for those only."""
    return cache_dir() / "tensorrt" / f"timing-{machine.timing_key}.cache"


def tensorrt_ep_profile_options(input_name: str, profiles: tuple[Profile, ...]) -> dict[str, str]:
    """ONNX Runtime's TensorRT execution provider options for `profiles`.

    The provider groups repeated `name:shape` entries of one option by input name, in order, so the
    k-th entry of each input is its k-th profile: one entry per profile, comma-separated.
    """
    return {
        f"trt_profile_{bound}_shapes": ",".join(f"{input_name}:{format_shape(getattr(p, bound))}" for p in profiles)
        for bound in ("min", "opt", "max")
    }


ENGINE_PARTS = ("fused", "f", "g_unrolled")
"""What `golf-rt build-engine` builds: the fused model, and F and G unrolled for the Triton ensemble."""
