"""The best single linear filter for the synthetic blur: a yardstick for what the networks learn.

    python -m training.linear_baseline --pairs 400

Fits one filter per frequency by least squares, H = sum(S conj(Y)) / sum(|Y|^2), over
training pairs (native-scale crops of the training photos, the held-out blur strength with the
training trajectory model), then scores it on the held-out set like `training.evaluate`. What a
network gains beyond this number is deconvolution that depends on the image, not sharpening.
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

from golf_rt.quality.heldout import heldout_pairs
from golf_rt.quality.metrics import psnr, ssim, to_uint8
from training.data import SyntheticPairs, native_config, skimage_images

PAD = 64  # reflect padding against wrap-around, as wide as the largest kernels' support


def _spectrum(channel: np.ndarray) -> np.ndarray:
    return np.fft.fft2(np.pad(channel, PAD, mode="reflect"))


def fit_filter(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Least-squares frequency response from (blurry, sharp) HxWx3 pairs of one size."""
    numerator, denominator = 0.0, 0.0
    for blurry, sharp in tqdm(pairs, desc="fit", leave=False):
        for c in range(3):
            y, s = _spectrum(blurry[..., c]), _spectrum(sharp[..., c])
            numerator = numerator + s * np.conj(y)
            denominator = denominator + np.abs(y) ** 2
    return numerator / (denominator + 1e-9)


def apply_filter(image: np.ndarray, response: np.ndarray) -> np.ndarray:
    out = np.empty_like(image)
    for c in range(3):
        out[..., c] = np.real(np.fft.ifft2(_spectrum(image[..., c]) * response))[PAD:-PAD, PAD:-PAD]
    return np.clip(out, 0, 1)


def training_pairs(count: int, size: int = 256, seed: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    data = SyntheticPairs(skimage_images(), native_config(size), seed=seed, length=count)
    return [tuple(t.permute(1, 2, 0).numpy() for t in data[i]) for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.linear_baseline", description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=400, help="training pairs to fit on")
    args = parser.parse_args(argv)
    response = fit_filter(training_pairs(args.pairs))
    gains, ssim_gains = [], []
    for pair in heldout_pairs():
        target, blurry = to_uint8(pair.sharp), to_uint8(pair.blurry)
        output = to_uint8(apply_filter(pair.blurry, response))
        gains.append(psnr(output, target) - psnr(blurry, target))
        ssim_gains.append(ssim(output, target) - ssim(blurry, target))
    print(f"held-out, best linear filter: {np.mean(gains):+.2f} dB PSNR, {np.mean(ssim_gains):+.4f} SSIM, "
          f"worst {min(gains):+.2f} dB, best {max(gains):+.2f} dB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
