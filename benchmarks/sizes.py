"""Time and peak memory of the default path by image size, read against a compute peak measured in the same run.

    python benchmarks/sizes.py --output docs/results/sizes.json --markdown docs/results/sizes.md
    python benchmarks/sizes.py --sizes 256x256,12 --tilings 384/32,384/16 --output tilings.json

With several tilings (SIZE/OVERLAP), each size runs once per tiling back to back, so that their
times come from the same minutes of a shared machine, and the table compares them.

Each size runs `Deblurrer().deblur` on a synthetic photo in a fresh process (so its peak RSS is its
own, over the process at rest after start-up), after warm-up calls on a 256x256 image and on one
tile of the shape this photo's tiles have (OpenVINO compiles each new input shape once per
process; a folder of such photos pays it once, so the table gives the steady state). The
peak is a float32 matrix product through numpy's BLAS on every core, measured in this run before
the sizes; the model's work is 1.65 MFLOP per pixel (108.1 GFLOP per 256x256 image, F + 3 G). The
default path runs int8 convolutions on VNNI CPUs, whose peak is up to 4x the fp32 one, so the
int8 peak is measured too (uint8 x int8 matrix products through ONNX Runtime's MatMulInteger)
and the fraction is given against both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from golf_rt.contract import TILE_OVERLAP, TILE_SIZE

SIZES = ("256x256", "0.25", "1", "4", "12", "24", "50", "100")
"""A size is HxW, or megapixels of a 4:3 photo."""
FLOP_PER_PIXEL = 108.1e9 / (256 * 256)
_CHILD = r"""
import json, resource, sys, time
import numpy as np
from golf_rt.deblur.deblurrer import Deblurrer
from golf_rt.images.tiles import WHOLE, Tiling
side, width, tile, overlap = map(int, sys.argv[1:5])
deblurrer = Deblurrer(tile=Tiling(tile, overlap) if tile else WHOLE)
deblurrer.deblur(np.zeros((256, 256, 3), np.uint8))
if tile:  # this photo's tile shape is compiled once per process, as in a folder of such photos: not timed
    from golf_rt.images.tiles import tile_span
    deblurrer.deblur(np.zeros((tile_span(side, tile, overlap), tile_span(width, tile, overlap), 3), np.uint8))
rest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rng = np.random.default_rng(0)
image = rng.integers(0, 256, (side, width, 3), dtype=np.uint8)  # no float copy: its peak is the run's
runs = 5 if side * width <= 300_000 else 1
times = []
for _ in range(runs):
    start = time.perf_counter(); deblurrer.deblur(image); times.append(time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": sorted(times)[len(times) // 2], "rss_over_rest_gib": (peak - rest) / 2**20,
                  "peak_rss_gib": peak / 2**20, "backend": f"{deblurrer.backend} {deblurrer.precision}"}))
"""


def sgemm_gflops(n: int = 2048, seconds: float = 3.0) -> float:
    """float32 matrix products on every core through numpy's BLAS: the compute peak this run reaches."""
    import numpy as np

    a, b = (np.random.default_rng(0).random((n, n), dtype=np.float32) for _ in range(2))
    a @ b
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def int8_gemm_gops(n: int = 1024, seconds: float = 3.0) -> float:
    """uint8 x int8 matrix products (ONNX Runtime's MatMulInteger, VNNI where the CPU has it): the int8 peak here."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]),
              helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])]  # fmt: skip
    output = helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "int8", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {"a": rng.integers(0, 256, (n, n), dtype=np.uint8), "b": rng.integers(-128, 128, (n, n), dtype=np.int8)}
    session.run(None, feeds)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        session.run(None, feeds)
        best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def shape_of(megapixels: float) -> tuple[int, int]:
    """Height and width of a 4:3 photo of about `megapixels`."""
    height = round((megapixels * 1e6 * 3 / 4) ** 0.5)
    return height, round(height * 4 / 3)


def measure(size: str, tiling: tuple[int, int] = (TILE_SIZE, TILE_OVERLAP)) -> dict:
    height, width = map(int, size.split("x")) if "x" in size else shape_of(float(size))
    megapixels = round(height * width / 1e6, 3)
    command = [sys.executable, "-c", _CHILD, str(height), str(width), *map(str, tiling)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{megapixels} MP failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    pixels = height * width
    result.update(megapixels=megapixels, height=height, width=width, us_per_pixel=result["seconds"] / pixels * 1e6,
                  gflops=FLOP_PER_PIXEL * pixels / result["seconds"] / 1e9, tiling=tiling_name(tiling))  # fmt: skip
    return result


def tiling_name(tiling: tuple[int, int]) -> str:
    return f"{tiling[0]}/{tiling[1]}" if tiling[0] else "whole"


def parse_tilings(text: str) -> list[tuple[int, int]]:
    """ "384/32,384/16" -> [(384, 32), (384, 16)]; "0" is whole images."""
    tilings = []
    for part in text.split(","):
        size, _, overlap = part.partition("/")
        tilings.append((int(size), int(overlap or (min(TILE_OVERLAP, int(size) // 4) if int(size) else 0))))
    return tilings


def markdown(peak: float, int8_peak: float, rows: list[dict], machine: str) -> str:
    tilings = list(dict.fromkeys(r["tiling"] for r in rows))
    first = {t: next(r for r in rows if r["tiling"] == t)["us_per_pixel"] for t in tilings}
    lines = [
        f"Default path (`Deblurrer()`, {rows[0]['backend']}; tiles SIZE/OVERLAP: {', '.join(tilings)}) on {machine}, "
        f"{time.strftime('%Y-%m-%d')}; peaks measured in the same run: fp32 SGEMM {peak:.0f} GFLOP/s, "
        f"int8 GEMM (u8 x s8, ONNX Runtime) {int8_peak:.0f} GOP/s.",
        "",
        f"| size | pixels | tiles | time | per pixel | vs {rows[0]['width']} x {rows[0]['height']} "
        "| peak RSS over rest | GFLOP/s | of int8 peak | of fp32 peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['megapixels']} MP | {r['width']} x {r['height']} | {r['tiling']} | {r['seconds']:.2f} s | "
            f"{r['us_per_pixel']:.2f} us | {r['us_per_pixel'] / first[r['tiling']]:.2f}x | "
            f"{r['rss_over_rest_gib']:.2f} GiB | {r['gflops']:.0f} | {r['gflops'] / int8_peak:.0%} | "
            f"{r['gflops'] / peak:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help="HxW or megapixels, comma-separated.")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument(
        "--tilings",
        default=f"{TILE_SIZE}/{TILE_OVERLAP}",
        help="SIZE/OVERLAP, comma-separated (0: whole images); each size runs once per tiling.",
    )
    args = parser.parse_args(argv)
    from golf_rt.machine.environment import device_name

    peak, int8_peak = sgemm_gflops(), int8_gemm_gops()
    rows = []
    for size in args.sizes.split(","):
        for tiling in parse_tilings(args.tilings):
            rows.append(measure(size, tiling))
            print(json.dumps(rows[-1]), flush=True)
    machine = device_name(on_gpu=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine, "sgemm_fp32_gflops": peak, "int8_gemm_gops": int8_peak, "tilings": args.tilings,
              "rows": rows}  # fmt: skip
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(peak, int8_peak, rows, machine)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
