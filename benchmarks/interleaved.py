"""golf-rt's defaults against plain libraries with theirs, interleaved round by round in one process.

    python -m benchmarks.interleaved [--rounds 20] [--size 256x256]

Each round runs every path once, in turn, so that a slower or faster minute of a shared machine
falls on all of them alike. Prints a Markdown table: median and p95 ms, achieved GFLOP/s, the
fraction of this CPU's peak at the path's precision, and the PSNR cost the precision table
(`golf-rt verify --write-table`) measured for that backend and precision.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from golf_rt.contract import F_FILTERS, G_FILTERS, INPUT_NAME

from .conftest import ITERATIONS, real_image


def _paths() -> dict[str, tuple[str, str, Callable[[np.ndarray], np.ndarray]]]:
    """Label -> (backend, precision run, call) of each path, on the shipped model's fused ONNX file."""
    import onnxruntime as ort
    import openvino as ov

    from golf_rt.artifacts.supply import ensure_onnx
    from golf_rt.backends import create_runner
    from golf_rt.deblur.deblurrer import Deblurrer

    path = str(ensure_onnx("fused", ITERATIONS))
    default = Deblurrer()
    fp32 = create_runner(default.backend, precision="fp32").activate()
    bf16 = create_runner("openvino", precision="bf16").activate() if default.precision == "int8" else None
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    core = ov.Core()
    plain = core.compile_model(path, "CPU").create_infer_request()
    plain_f32 = core.compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}).create_infer_request()
    picked = str(plain.get_compiled_model().get_property("INFERENCE_PRECISION_HINT"))
    plain_precision = "bf16" if "bfloat16" in picked else "fp32"
    return {
        f"golf-rt default: `Deblurrer()` ({default.backend} {default.precision})": (
            default.backend, default.precision, default.runner.deblur,
        ),
        "plain `onnxruntime.InferenceSession`, default options": (
            "onnxruntime", "fp32", lambda x: session.run(None, {INPUT_NAME: x})[0],
        ),
        f"plain OpenVINO `compile_model(path, 'CPU')` (picks {plain_precision})": (
            "openvino", plain_precision, lambda x: plain.infer({0: x})[0].copy(),
        ),
        f"golf-rt {default.backend} fp32 (explicit `--precision fp32`)": (default.backend, "fp32", fp32.deblur),
        "plain OpenVINO, f32 hint only": ("openvino", "fp32", lambda x: plain_f32.infer({0: x})[0].copy()),
        **({"golf-rt openvino bf16 (explicit `--precision bf16`)": ("openvino", "bf16", bf16.deblur)} if bf16 else {}),
    }  # fmt: skip


def main() -> None:
    from golf_rt.artifacts.precision_table import measured_rows, read_table
    from golf_rt.machine.environment import cpu_peak_gflops, device_name
    from golf_rt.model.facts import gflop

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--size", default="256x256")
    args = parser.parse_args()
    height, width = (int(side) for side in args.size.split("x"))
    batch = real_image(height, width)
    paths = _paths()
    for _, _, run in paths.values():  # compilation, first-call allocations
        run(batch), run(batch)
    times: dict[str, list[float]] = {label: [] for label in paths}
    for _ in range(args.rounds):
        for label, (_, _, run) in paths.items():
            started = time.perf_counter()
            run(batch)
            times[label].append((time.perf_counter() - started) * 1000)
    work = gflop(F_FILTERS, height, width) + ITERATIONS * gflop(G_FILTERS, height, width)
    peaks = cpu_peak_gflops()
    costs = {(r.backend, r.precision): r.psnr_delta for r in measured_rows(read_table() or {"rows": []})}
    reference = np.median(times["plain `onnxruntime.InferenceSession`, default options"])
    print(f"{device_name(False)}, 1x3x{height}x{width}, F + G x{ITERATIONS} ({work:.1f} GFLOP), {args.rounds} rounds")
    print("| path | median (ms) | p95 (ms) | vs plain ONNX Runtime | GFLOP/s | % of peak | dB cost |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, (backend, precision, _) in paths.items():
        median, p95 = np.median(times[label]), np.percentile(times[label], 95)
        achieved = work / median * 1000
        peak = peaks.get(precision, peaks.get("fp32"))
        cost = costs.get((backend, precision))
        print(
            f"| {label} | {median:.0f} | {p95:.0f} | {reference / median:.2f}x | {achieved:.0f} | "
            f"{100 * achieved / peak:.0f}% of {precision} | {'-' if cost is None else f'{cost:+.4f}'} |"
        )


if __name__ == "__main__":
    main()
