"""Deblurring quality on RGB uint8 images: PSNR (data range 255) and SSIM (Wang et al.).

scikit-image does the arithmetic; SSIM uses its Gaussian window with sigma 1.5 and the
population covariance, as in Wang et al. 2004.
"""

from __future__ import annotations

import numpy as np

from golf_rt.images.pixels import to_uint8

__all__ = ["border_and_interior_psnr", "psnr", "ssim", "to_uint8"]


def psnr(output: np.ndarray, target: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(target, output, data_range=255))


def ssim(output: np.ndarray, target: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(
        structural_similarity(
            target,
            output,
            data_range=255,
            channel_axis=2,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )  # fmt: skip
    )


def border_and_interior_psnr(output: np.ndarray, target: np.ndarray, band: int = 16) -> tuple[float, float]:
    """PSNR of the `band`-pixel frame along the edges, and of the rest, for uint8 HxWxC images.

    Padding artefacts live in the frame; averaging them with the interior hides them.
    """
    h, w = target.shape[:2]
    if 2 * band >= min(h, w):
        raise ValueError(f"a {band} px border band leaves no interior in a {h}x{w} image")
    frame = np.ones((h, w), dtype=bool)
    frame[band : h - band, band : w - band] = False
    return psnr(output[frame], target[frame]), psnr(output[~frame], target[~frame])
