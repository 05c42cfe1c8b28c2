"""A large photo through a real server over HTTP and gRPC against in process, and the server's memory under load.

    python -m benchmarks.served_photos --megapixels 12 --concurrent 4 --output docs/results/served.json

Starts the shipped model's CPU repository on free loopback ports (as `golf-rt serve` does),
deblurs one synthetic photo in process (`Deblurrer` on the repository's runtime and precision)
and through `GolfClient` over HTTP and over gRPC (tiled on the client, four tiles per request),
and reports how far apart they are (PSNR, dB). Then `--concurrent` clients send the photo at
once while the server's resident memory (server and backend stubs) is sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.load import server_rss_mib, start
from benchmarks.sizes import shape_of
from golf_rt.client import GolfClient
from golf_rt.deblur.deblurrer import Deblurrer
from golf_rt.quality.metrics import psnr
from golf_rt.triton.repository import RepositorySpec


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A uint8 RGB photo with edges and texture at every scale: smooth gradients plus blocks plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.5 + 0.25 * np.sin(x / 97.0)[..., None] * np.cos(y / 61.0)[..., None] * np.array([1.0, 0.7, 0.4])
    blocks = rng.random((height // 64 + 1, width // 64 + 1, 3), dtype=np.float32)
    base += 0.2 * np.kron(blocks, np.ones((64, 64, 1), np.float32))[:height, :width] - 0.1
    base += rng.normal(0, 0.03, (height, width, 3)).astype(np.float32)
    return (np.clip(base, 0, 1) * 255).astype(np.uint8)


class MemorySampler:
    """Peak of a callable's value, sampled on a thread until stopped."""

    def __init__(self, read, every_s: float = 0.2) -> None:
        self.read, self.every_s, self.peak = read, every_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.read())
            self._stop.wait(self.every_s)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def _timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def measure(megapixels: float, concurrent: int) -> dict:
    height, width = shape_of(megapixels)
    image = photo(height, width)
    spec = RepositorySpec()
    server = start(None)
    try:
        with Deblurrer(spec.runtime, precision="auto") as deblurrer:
            local, local_s = _timed(lambda: deblurrer.deblur(image))
            runner = f"{deblurrer.backend} {deblurrer.precision}"
        report: dict = {"megapixels": round(height * width / 1e6, 2), "shape": [height, width], "in_process": runner,
                        "in_process_s": round(local_s, 1), "cpu_count": os.cpu_count()}  # fmt: skip
        for protocol, url in (("http", server.config.http_url), ("grpc", server.config.grpc_url)):
            with GolfClient(url, timeout=600) as client:
                served, seconds = _timed(lambda client=client: client.deblur(image))
            report[protocol] = {"seconds": round(seconds, 1), "psnr_vs_in_process_db": round(psnr(served, local), 2)}
        rest = server_rss_mib(server)
        with MemorySampler(lambda: server_rss_mib(server)) as sampler, ThreadPoolExecutor(concurrent) as pool:

            def one(_):
                with GolfClient(server.config.grpc_url, timeout=1800) as client:
                    return client.deblur(image)

            outputs, seconds = _timed(lambda: list(pool.map(one, range(concurrent))))
        report["concurrent"] = {
            "requests": concurrent, "seconds": round(seconds, 1), "server_rss_at_rest_mib": round(rest),
            "server_rss_peak_mib": round(sampler.peak), "over_rest_mib": round(sampler.peak - rest),
            "outputs_identical": all(np.array_equal(out, outputs[0]) for out in outputs),
        }  # fmt: skip
    finally:
        server.stop()
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.served_photos", description=__doc__.split("\n")[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    text = json.dumps(measure(args.megapixels, args.concurrent), indent=1)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
