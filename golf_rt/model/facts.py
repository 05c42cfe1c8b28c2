"""The model's fixed facts, computed from the architecture without torch.

Each convolution is stride 1 with no bias, so a weight is applied once per pixel: the
multiply-accumulates per pixel equal the conv parameter count.
"""

from __future__ import annotations

from golf_rt.contract import DEFAULT_ITERATIONS, F_FILTERS, G_FILTERS


def _block(cin: int, cout: int) -> tuple[int, int]:
    """(conv parameters, norm parameters) of one Basic-Block."""
    convs = cin * cout * 49 + cout * cout * 25 + (cin * cout if cin != cout else 0)
    norms = 4 * cout + (2 * cin if cin != cout else 0)
    return convs, norms


def _layers(filters: int) -> list[tuple[int, int]]:
    f = filters
    return [(f, f)] * 6 + [(f, 3), (3, 3)]


def conv_parameters(filters: int) -> int:
    return 3 * filters * 49 + sum(_block(a, b)[0] for a, b in _layers(filters)) + 3 * 3 * 49


def parameters(filters: int) -> int:
    return conv_parameters(filters) + sum(_block(a, b)[1] for a, b in _layers(filters))


PAPER = {
    "params": {"F": 466_348, "G": 120_188},
    "size_mb": {"F": 1.78, "G": 0.46, "total": 2.24},
    "gopro": {"psnr": 28.06, "ssim": 0.85},
    "ms_256": {
        "GTX 1080 Ti": (26.87, 10.91, 16.94),
        "GTX 1080": (28.52, 15.83, 17.30),
        "GT 750M": (106.17, 35.97, 40.66),
    },
    "other_methods_s_256": {"DeblurGAN": 0.85, "Gong et al.": 0.72},
}


def fp32_mib(count: int) -> float:
    return count * 4 / 2**20


def gflop(filters: int, height: int, width: int) -> float:
    """Forward FLOPs (2 per multiply-accumulate) of one network, in GFLOP."""
    return 2 * conv_parameters(filters) * height * width / 1e9


def summary(iterations: int = DEFAULT_ITERATIONS) -> dict:
    f, g = parameters(F_FILTERS), parameters(G_FILTERS)
    return {
        "params": {"F": f, "G": g, "total": f + g},
        "size_mib_fp32": {"F": round(fp32_mib(f), 2), "G": round(fp32_mib(g), 2), "total": round(fp32_mib(f + g), 2)},
        "gflop_256": round(gflop(F_FILTERS, 256, 256) + iterations * gflop(G_FILTERS, 256, 256), 1),
        "iterations": iterations,
    }
