"""GPU latency and memory of the PyTorch path at the tile shape, as a result file `golf-rt report` reads.

    PYTHONPATH=. python benchmarks/gpu_torch.py --output $OUT/gpu_torch.json --seconds 40

By default F + G x3 on a batch of GPU_TILE_BATCH tiles of TILE_SIZE (what `Deblurrer` hands the
GPU runners), fp32 (TF32 off), fp16 and bf16, timed two ways (see `training.gpu_timing`): the
torch module alone, its GPU time by CUDA events ("torch module cuda ..."), with and without a
CUDA graph, and golf-rt's `TorchRunner.deblur` end to end, numpy in and out, by the wall clock
("golf-rt torch cuda ... (numpy in and out ...)"). Then the peak GPU memory of `TorchRunner` with
CUDA graphs per tile size (`--memory-tiles`). Everything, set-up and warm-ups included, shares
`--seconds`: what does not fit is left out, with a warning.

Each measurement is appended to OUTPUT with the suffix .jsonl as it is made, so a run that is
killed keeps what it measured; OUTPUT itself is written at the end, or when the run is stopped
with SIGTERM (`timeout`'s signal). Without a GPU it exits with code 2 and a sentence (`--device
cpu` times the CPU instead, for tests); the report's GPU rows then stay "not measured".
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from golf_rt.contract import GPU_TILE_BATCH, TILE_SIZE

MEMORY_SHARE = 0.2  # of --seconds, for the memory per tile size


def append_line(path: Path, record: dict) -> None:
    """One JSON line appended and flushed: it stays whatever happens to the process next."""
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def graph_memory(checkpoint: Path | None, tile: int, batch: int, precision: str) -> dict:
    """Peak GPU memory of a TorchRunner with CUDA graphs deblurring `batch` tiles of `tile` px."""
    import numpy as np
    import torch

    from golf_rt.backends import create_runner
    from golf_rt.backends.torch.runner import TorchOptions

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    images = np.random.default_rng(0).random((batch, 3, tile, tile), dtype=np.float32)
    options = TorchOptions(cuda_graph=True)
    with create_runner("torch", precision=precision, checkpoint=checkpoint, device="cuda", options=options) as runner:
        for _ in range(2):  # capture, then replay
            runner.deblur(images)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - before
    return {"kind": "memory", "tile": tile, "batch": batch, "precision": precision, "cuda_graph": True,
            "peak_mib": round(peak / 2**20, 1)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="Result JSON file for `golf-rt report`.")
    parser.add_argument("--seconds", type=float, default=40.0, help="Time for everything, set-up included.")
    parser.add_argument("--checkpoint", type=Path, default=None, help="Checkpoint; default: the shipped one.")
    parser.add_argument("--sizes", default=f"{TILE_SIZE}x{TILE_SIZE}", help="HxW[,HxW...] (default: the tile).")
    parser.add_argument("--batch", type=int, default=GPU_TILE_BATCH, help="Images per call (default: the tiles).")
    parser.add_argument("--precisions", default="fp32,fp16,bf16", help="Comma-separated.")
    parser.add_argument("--memory-tiles", default="256,384,512", help="Tile sizes for the memory (empty: none).")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help="cpu: for tests only.")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.seconds

    import torch

    import golf_rt.model.checkpoint as checkpoint
    from training.gpu_timing import markdown, result_document, time_model, time_runner

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here (or this torch has no CUDA): nothing measured", file=sys.stderr)
        return 2
    sizes = [tuple(int(v) for v in item.split("x")) for item in args.sizes.split(",")]
    precisions = tuple(args.precisions.split(","))
    device = torch.device(args.device)
    lines, timings, memory = args.output.with_suffix(".jsonl"), [], []
    args.output.parent.mkdir(parents=True, exist_ok=True)
    lines.write_text("")
    note = ("benchmarks/gpu_torch.py: PyTorch on CUDA, the module's GPU time and TorchRunner.deblur end to end "
            "(numpy in and out), each with and without CUDA graphs")  # fmt: skip

    def keep(timing) -> None:
        timings.append(timing)
        append_line(lines, {"kind": "timing", "shape": [timing.batch, 3, *timing.size], "precision": timing.precision,
                            "cuda_graph": timing.cuda_graph, "timed": timing.timed, "mean_ms": timing.mean,
                            "rounds": len(timing.ms)})  # fmt: skip

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        model, began = checkpoint.load(args.checkpoint), time.monotonic()
        phases = [(time_model, model, True), (time_model, model, False), (time_runner, args.checkpoint, False),
                  (time_runner, args.checkpoint, True)]  # fmt: skip
        for index, (timer, source, graphs) in enumerate(phases):  # each ends at its share of the timed seconds
            end = began + (deadline - began) * (1 - MEMORY_SHARE) * (index + 1) / len(phases)
            timer(source, device, sizes, precisions, max(0.0, end - time.monotonic()), cuda_graph=graphs,
                  batch=args.batch, on_timing=keep)  # fmt: skip
        for tile in [int(t) for t in args.memory_tiles.split(",") if t] if device.type == "cuda" else []:
            for precision in precisions:
                if time.monotonic() >= deadline:
                    print(f"memory: no time left for {tile} px {precision}", file=sys.stderr)
                    continue
                memory.append(graph_memory(args.checkpoint, tile, args.batch, precision))
                append_line(lines, memory[-1])
    finally:
        document = result_document(timings, checkpoint.resolve(args.checkpoint), note)
        args.output.write_text(json.dumps(document, indent=2) + "\n")
        print(markdown(timings))
        rows = [
            f"| {m['tile']} x {m['tile']} x {m['batch']} | {m['precision']} | {m['peak_mib']:.0f} |" for m in memory
        ]
        if rows:
            print("\n| tiles (CUDA graph) | precision | peak MiB |\n|---|---|---:|\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
