"""Synthetic camera-shake blur: kernels, the blur convention, noise and procedural images.

Numpy only, so that demos and evaluation sets need neither torch nor scipy. Two trajectory
models exist on purpose: training draws from `shake_trajectory` (random acceleration with
impulsive jerks, after Boracchi and Foi 2012), held-out evaluation from `spline_trajectory`
(a smoothed random walk through control points), so that evaluation measures generalisation
to blur the model never saw. "wide-shake" is the shake model over Boracchi and Foi's full range
of shakiness, from straight sweeps to tangled paths, for training on a broad kernel model.
"streak" is the narrow family most photos show: a straight streak of a given length at any
angle (a short exposure of a hand's sweep or of a moving subject), anti-aliased, sometimes
slightly bent or swept at an uneven speed; for streaks the extent is the streak's length.

Border convention, used everywhere: the sharp image is reflect-padded by half the kernel
size, convolved, and cropped back, so blurry and sharp images have the same size and align.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TRAJECTORY_MODELS = ("shake", "wide-shake", "random-walk", "mixed", "spline", "streak")
HELD_OUT_MODELS = ("spline",)  # evaluation only: training never draws from these
TRAINING_MODELS = tuple(m for m in TRAJECTORY_MODELS if m not in HELD_OUT_MODELS)
MIXED_MODELS = ("shake", "wide-shake", "random-walk")  # what "mixed" draws from, equally often
WIDE_ANXIETY = (1e-3, 0.1)  # log-uniform; Boracchi and Foi draw 0.1 * U(0, 1)


def shake_trajectory(rng: np.random.Generator, steps: int = 1000, wide: bool = False) -> np.ndarray:
    """Random-acceleration camera path with occasional jerks; returns complex positions.

    The "anxiety" sets how much the path wanders: up to 0.005 gives mostly gentle curves; wide
    draws it log-uniformly over WIDE_ANXIETY, so straight and tangled paths are equally common.
    """
    length = 60.0
    step = length / (steps - 1)
    anxiety = np.exp(rng.uniform(*np.log(WIDE_ANXIETY))) if wide else 0.005 * rng.uniform()
    jerk_probability = 0.2 * rng.uniform()
    centripetal = 0.7 * rng.uniform()
    gaussian = 10.0 * rng.uniform()
    direction = np.exp(1j * rng.uniform(0, 2 * np.pi))
    velocity = direction * anxiety if anxiety > 0 else direction * step
    path = np.zeros(steps, dtype=np.complex128)
    for t in range(steps - 1):
        jerk = 0j
        if rng.uniform() < jerk_probability * anxiety:
            jerk = 2 * velocity * np.exp(1j * (np.pi + rng.uniform() - 0.5))
        shake = gaussian * complex(rng.normal(), rng.normal()) - centripetal * path[t]
        velocity = velocity + jerk + anxiety * shake * step
        velocity = velocity / (abs(velocity) + 1e-12) * step
        path[t + 1] = path[t] + velocity
    return path


def random_walk_trajectory(rng: np.random.Generator, steps: int = 256) -> np.ndarray:
    """Compact or tangled paths with uneven dwell: what the shake models rarely draw.

    The heading turns by a Gaussian angle each step (0.05 to 1.5 rad, log-uniform: nearly
    straight to a tangle that folds back on itself), the speed is gamma-distributed (shape 0.2
    to 5, log-uniform), and the camera holds still at one random moment for 0-80% of the
    exposure: that point keeps its share of the kernel's mass, so a kernel of a given extent can
    blur mildly as well as strongly.
    """
    turn = np.exp(rng.uniform(np.log(0.05), np.log(1.5)))
    shape = np.exp(rng.uniform(np.log(0.2), np.log(5.0)))
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, turn, steps))
    speed = rng.gamma(shape, 1.0 / shape, steps)
    path = np.concatenate([[0j], np.cumsum(speed * np.exp(1j * heading))])
    dwell = rng.uniform(0.0, 0.8)
    held = int(round(len(path) * dwell / (1.0 - dwell)))
    return np.insert(path, int(rng.integers(len(path))), np.full(held, path[rng.integers(len(path))]))


def trajectory(rng: np.random.Generator, model: str) -> np.ndarray:
    """A camera path from the named model; "mixed" picks one of MIXED_MODELS first."""
    if model not in TRAJECTORY_MODELS:
        raise ValueError(f"unknown trajectory model {model!r}; choose one of {TRAJECTORY_MODELS}")
    if model == "streak":
        raise ValueError("streaks are kernels, not camera paths: use camera_shake_kernel or straight_streak")
    if model == "mixed":
        model = MIXED_MODELS[rng.integers(len(MIXED_MODELS))]
    if model == "spline":
        return spline_trajectory(rng)
    if model == "random-walk":
        return random_walk_trajectory(rng)
    return shake_trajectory(rng, wide=model == "wide-shake")


def spline_trajectory(rng: np.random.Generator, steps: int = 512) -> np.ndarray:
    """Catmull-Rom curve through a Gaussian random walk of 4-8 control points, uneven speed."""
    points = rng.integers(4, 9)
    walk = np.cumsum(rng.normal(size=points) + 1j * rng.normal(size=points))
    walk = np.concatenate([[2 * walk[0] - walk[1]], walk, [2 * walk[-1] - walk[-2]]])
    speed = rng.uniform(0.3, 1.0, size=points - 1)
    counts = np.maximum(2, (steps * speed / speed.sum()).astype(int))
    segments = []
    for i, count in enumerate(counts):
        p0, p1, p2, p3 = walk[i : i + 4]
        t = np.linspace(0, 1, count, endpoint=False)[:, None]
        basis = np.hstack([-(t**3) + 2 * t**2 - t, 3 * t**3 - 5 * t**2 + 2, -3 * t**3 + 4 * t**2 + t, t**3 - t**2])
        segments.append(0.5 * basis @ np.array([p0, p1, p2, p3]))
    return np.concatenate(segments)


def rasterize(path: np.ndarray, extent: int) -> np.ndarray:
    """Scale a path so its longer side spans `extent` px and splat it into a normalised kernel."""
    if extent < 1:
        raise ValueError(f"kernel extent must be at least 1 px, got {extent}")
    size = extent + 2 if extent % 2 else extent + 3
    xs, ys = path.real - path.real.min(), path.imag - path.imag.min()
    span = max(xs.max(), ys.max(), 1e-9)
    scale = (extent - 1) / span if extent > 1 else 0.0
    xs = xs * scale + (size - 1 - xs.max() * scale) / 2
    ys = ys * scale + (size - 1 - ys.max() * scale) / 2
    return _bilinear(xs, ys, size)


def streak_kernel(length: float, angle: float, bend: float = 0.0, uneven: float = 0.0) -> np.ndarray:
    """An anti-aliased straight streak `length` px long at `angle` radians, as a normalised kernel.

    bend: how far the middle of the streak leaves the straight line, as a share of its length
    (a quadratic arc); uneven: the exposure's speed changes linearly by this share from start
    to end, so one end of the streak is denser than the other (0: even speed).
    """
    if length < 1:
        raise ValueError(f"streak length must be at least 1 px, got {length}")
    t = np.linspace(0.0, 1.0, max(64, int(8 * length)))
    if uneven:  # position against time for a speed going linearly from 1 - uneven/2 to 1 + uneven/2
        t = (1 - uneven / 2) * t + uneven / 2 * t**2
    along = (t - 0.5) * (length - 1)
    across = bend * length * 4 * t * (1 - t) if bend else np.zeros_like(t)
    direction = np.exp(1j * angle)
    return _splat(direction * (along + 1j * across))


def straight_streak(rng: np.random.Generator, extent: tuple[int, int], variations: bool = True) -> np.ndarray:
    """A streak of a length drawn in `extent` px at any angle; with `variations`, half bend or vary in speed."""
    length, angle = rng.uniform(extent[0], extent[1]), rng.uniform(0, np.pi)
    bend = uneven = 0.0
    if variations and rng.uniform() < 0.5:
        bend, uneven = rng.uniform(-0.08, 0.08), rng.uniform(-0.8, 0.8)
    return streak_kernel(length, angle, bend, uneven)


def _splat(path: np.ndarray) -> np.ndarray:
    """Bilinear splat of a path centred on the middle of the smallest odd square that holds it."""
    xs, ys = path.real - (path.real.max() + path.real.min()) / 2, path.imag - (path.imag.max() + path.imag.min()) / 2
    half = int(np.ceil(max(np.abs(xs).max(), np.abs(ys).max()))) + 1
    size = 2 * half + 1
    xs, ys = xs + half, ys + half
    return _bilinear(xs, ys, size)


def _bilinear(xs: np.ndarray, ys: np.ndarray, size: int) -> np.ndarray:
    """Points splatted bilinearly into a size x size kernel, normalised to sum 1."""
    kernel = np.zeros((size, size), dtype=np.float64)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), w)
    return (kernel / kernel.sum()).astype(np.float32)


def camera_shake_kernel(
    rng: np.random.Generator, extent: tuple[int, int] = (5, 31), model: str = "shake"
) -> np.ndarray:
    """A motion-blur kernel whose trajectory spans a random extent in the given px range."""
    if model == "streak":
        return straight_streak(rng, extent)
    path = trajectory(rng, model)
    return rasterize(path, int(rng.integers(extent[0], extent[1] + 1)))


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve an HxWxC float image with the project's reflect-border convention."""
    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    h, w = image.shape[:2]
    if ph >= h or pw >= w:
        raise ValueError(f"kernel {kernel.shape} is too large for an image of {h}x{w}")
    padded = np.pad(image, ((ph, ph), (pw, pw), (0, 0)), mode="reflect")
    shape = (padded.shape[0] + kh - 1, padded.shape[1] + kw - 1)
    spectrum = np.fft.rfft2(kernel, shape)[..., None]
    full = np.fft.irfft2(np.fft.rfft2(padded, shape, axes=(0, 1)) * spectrum, shape, axes=(0, 1))
    return full[2 * ph : 2 * ph + h, 2 * pw : 2 * pw + w].astype(np.float32)


def dead_leaves(rng: np.random.Generator, size: int, shapes: int = 600) -> np.ndarray:
    """A dead-leaves image: occluding disks with power-law radii, natural-image-like statistics."""
    image = np.full((size, size, 3), rng.uniform(0, 1, 3), dtype=np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    rmin, rmax = 2.0, size / 3
    u = rng.uniform(size=shapes)
    radii = (rmin**-2 + u * (rmax**-2 - rmin**-2)) ** -0.5
    for r in np.sort(radii)[::-1]:
        cy, cx = rng.uniform(-r, size + r, 2)
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        colour = rng.uniform(0, 1, 3).astype(np.float32)
        if rng.uniform() < 0.3:  # a gradient or stripes give the leaves texture
            phase = rng.uniform(0, 2 * np.pi)
            freq = rng.uniform(0.05, 0.6)
            wave = 0.5 + 0.5 * np.sin(freq * (xx * np.cos(phase) + yy * np.sin(phase)))
            image[mask] = colour * wave[mask, None] + (1 - wave[mask, None]) * colour[::-1]
        else:
            image[mask] = colour
    return image


@dataclass(frozen=True)
class BlurSpec:
    """How to degrade a sharp image; None noise means no noise.

    sharp_fraction: share of images left unblurred (noise only), so that a model trained on
    them learns to leave sharp input alone.
    kernel_bank: 0 draws a new kernel for every image; N > 0 draws from N fixed kernels, which a
    network learns to invert far faster (a curriculum grows N from run to run).
    """

    extent: tuple[int, int] = (5, 31)
    model: str = "shake"
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    quantize: bool = False
    sharp_fraction: float = 0.0
    kernel_bank: int = 0

    def __post_init__(self) -> None:
        if self.model not in TRAJECTORY_MODELS:
            raise ValueError(f"unknown trajectory model {self.model!r}; choose one of {TRAJECTORY_MODELS}")
        if not 1 <= self.extent[0] <= self.extent[1]:
            raise ValueError(f"kernel extent range must satisfy 1 <= low <= high, got {self.extent}")
        if not 0.0 <= self.sharp_fraction <= 1.0:
            raise ValueError(f"sharp_fraction must be in [0, 1], got {self.sharp_fraction}")
        if self.kernel_bank < 0:
            raise ValueError(f"kernel_bank must be 0 (no bank) or a positive count, got {self.kernel_bank}")


def kernel_bank(spec: BlurSpec) -> tuple[np.ndarray, ...]:
    """The spec's fixed kernels; kernel i depends on i alone, so banks of growing size are nested."""
    return _bank(spec.extent, spec.model, spec.kernel_bank)


@lru_cache(maxsize=4)
def _bank(extent: tuple[int, int], model: str, count: int) -> tuple[np.ndarray, ...]:
    return tuple(camera_shake_kernel(np.random.default_rng([7919, i]), extent, model) for i in range(count))


def draw_kernel(rng: np.random.Generator, spec: BlurSpec) -> np.ndarray:
    if spec.kernel_bank:
        return kernel_bank(spec)[rng.integers(spec.kernel_bank)]
    return camera_shake_kernel(rng, spec.extent, spec.model)


def degrade(sharp: np.ndarray, rng: np.random.Generator, spec: BlurSpec) -> tuple[np.ndarray, np.ndarray]:
    """Blur, add noise and optionally quantise; returns (blurry, kernel), both float32."""
    unblurred = spec.sharp_fraction > 0 and rng.uniform() < spec.sharp_fraction
    kernel = np.ones((1, 1), np.float32) if unblurred else draw_kernel(rng, spec)
    blurry = sharp if unblurred else blur(sharp, kernel)  # add_noise returns a new array either way
    return add_noise(blurry, rng, rng.uniform(*spec.noise_sigma), spec.quantize), kernel


def add_noise(image: np.ndarray, rng: np.random.Generator, sigma: float, quantize: bool) -> np.ndarray:
    """The sensor half of `degrade`: Gaussian noise of std sigma, then optionally 8 bits."""
    if sigma > 0:
        image = image + rng.normal(0, sigma, image.shape).astype(np.float32)
    if quantize:
        image = np.round(np.clip(image, 0, 1) * 255) / 255
    return image.astype(np.float32)
