"""Inputs that natural photos never show but users send: where reduced precision errs the most.

A 1-pixel checkerboard (the largest gradients the network can see), black text on white, a flat
grey field (Instance Norm divides by a variance near zero), horizontal and diagonal ramps, and
pure black and white. `golf_rt.quality.verify` runs every backend and precision on them beside the
held-out photos and reports the worst absolute error against fp32 PyTorch (`HARD_TOLERANCE`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

HARD_SIZE = 64


def hard_inputs(size: int = HARD_SIZE) -> dict[str, np.ndarray]:
    """Name -> size x size x 3 float32 image in [0, 1]."""
    y, x = np.mgrid[0:size, 0:size]
    checker = ((x + y) % 2).astype(np.float32)
    text = Image.new("L", (size, size), 255)
    ImageDraw.Draw(text).text((2, size // 3), "golf-rt 0123", fill=0)
    images = {
        "checkerboard": checker,
        "text": np.asarray(text, np.float32) / 255,
        "flat": np.full((size, size), 0.5, np.float32),
        "ramp": np.broadcast_to(x / (size - 1), (size, size)).astype(np.float32),
        "diagonal ramp": ((x + y) / (2 * size - 2)).astype(np.float32),
        "black": np.zeros((size, size), np.float32),
        "white": np.ones((size, size), np.float32),
    }
    return {name: np.repeat(image[:, :, None], 3, axis=2).copy() for name, image in images.items()}
