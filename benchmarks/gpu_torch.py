"""GPU latency of the PyTorch path: F + G x3 at 1x3x256x256 and 1x3x720x1280, fp32 (TF32 off), fp16 and bf16,
with and without CUDA graphs, as a result file `golf-rt report` reads (the layout of benchmarks/conftest.py).

    PYTHONPATH=. python benchmarks/gpu_torch.py --output $OUT/gpu_torch.json --seconds 60

Two timings share the seconds (see `training.gpu_timing`): the torch module alone, its GPU time by
CUDA events ("torch module cuda ..." in the report), and golf-rt's `TorchRunner.deblur` end to
end, numpy in and out, by the wall clock ("golf-rt torch cuda ... (numpy in and out ...)"); the
difference is what the runner adds. One image per call. Without a GPU it exits with code 2 and a
sentence; the report's GPU rows then stay "not measured".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="Result JSON file for `golf-rt report`.")
    parser.add_argument("--seconds", type=float, default=60.0, help="Time shared between all cases.")
    parser.add_argument("--checkpoint", type=Path, default=None, help="Checkpoint; default: the shipped one.")
    parser.add_argument("--sizes", default="256x256,720x1280", help="HxW[,HxW...].")
    args = parser.parse_args(argv)

    import torch

    import golf_rt.model.checkpoint as checkpoint
    from training.gpu_timing import markdown, result_document, time_model, time_runner

    if not torch.cuda.is_available():
        print("no CUDA device here (or this torch has no CUDA): nothing measured", file=sys.stderr)
        return 2
    sizes = [tuple(int(v) for v in item.split("x")) for item in args.sizes.split(",")]
    model = checkpoint.load(args.checkpoint)
    device = torch.device("cuda")
    precisions = ("fp32", "fp16", "bf16")
    share = args.seconds / 4
    timings = []
    for graphs in (True, False):
        timings += time_model(model, device, sizes, precisions, share, cuda_graph=graphs)
    for graphs in (False, True):
        timings += time_runner(args.checkpoint, device, sizes, precisions, share, cuda_graph=graphs)
    path = checkpoint.resolve(args.checkpoint)
    note = ("benchmarks/gpu_torch.py: PyTorch on CUDA, the module's GPU time and TorchRunner.deblur end to end "
            "(numpy in and out), each with and without CUDA graphs")  # fmt: skip
    document = result_document(timings, path, note)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(markdown(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
