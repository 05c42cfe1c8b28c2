"""Checked-in result files: a real run on this 2-core CPU and a made-up GPU server sample."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "benchmarks"
CPU_SAMPLE = FIXTURES / "cpu-amd-epyc-2-cores.json"
GPU_SAMPLE = FIXTURES / "gpu-made-up-sample.json"
