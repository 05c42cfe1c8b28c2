"""Load and soak a real `golf` server with Triton's own load generator, perf_analyzer, bounded in requests and time.

    python -m benchmarks.load sweep --size 256 --requests 24 --output load.json    # c = 1, 2, 4, 8; HTTP and gRPC
    python -m benchmarks.load soak --minutes 5 --size 64 --output soak.json        # c = 2, RSS and leftovers

Each command starts its own server on free loopback ports (the shipped model's CPU repository,
or `--repository`). One load level (perf_analyzer found or fetched, valid input data, the
server's failure count before and after) is `golf_rt.tuning.load`, which `golf-rt tune` uses too.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from golf_rt.triton.server import TritonServer
from golf_rt.triton.workdirs import SHM_DIR, process_group_members
from golf_rt.tuning.load import input_data, loopback_server, run_load


def server_rss_mib(server: TritonServer) -> float:
    """Resident memory of the server and its backend stubs, MiB."""
    total = 0
    for pid in process_group_members(server.pid) if server.pid else []:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def leftovers() -> dict[str, int]:
    """What servers can leave behind: Python-backend regions in /dev/shm, server work folders in the temp folder."""
    temp = Path(tempfile.gettempdir())
    return {
        "shm_regions": len(list(SHM_DIR.glob("golf_rt_*"))) + len(list(SHM_DIR.glob("triton_python_backend_shm_*"))),
        "work_folders": len(list(temp.glob("golf-rt-triton-*"))),
    }


def start(repository: Path | None, log_file: Path | None = None) -> TritonServer:
    """A server on free loopback ports: `repository`, else the shipped model's CPU repository."""
    from golf_rt.triton.repository import cached_repository

    return loopback_server(repository or cached_repository(), log_file=log_file)


def sweep(server: TritonServer, data: Path, protocols=("http", "grpc"), levels=(1, 2, 4, 8), requests: int = 24):
    """perf_analyzer at each concurrency level over each protocol (after one warm-up run per protocol)."""
    results = []
    for protocol in protocols:
        run_load(server.config, protocol, 1, 2, data)
        results += [run_load(server.config, protocol, c, max(requests, 2 * c), data) for c in levels]
    return results


def soak(server: TritonServer, data: Path, minutes: float, concurrency: int = 2, chunk: int = 50) -> dict:
    """Load at `concurrency` for `minutes` (chunks of `chunk` requests): requests, failures, RSS at start and end."""
    run_load(server.config, "grpc", concurrency, chunk, data)  # warm-up before the first RSS reading
    rss_start, runs = server_rss_mib(server), []
    deadline = time.monotonic() + minutes * 60
    while time.monotonic() < deadline:
        runs.append(run_load(server.config, "http" if len(runs) % 2 else "grpc", concurrency, chunk, data))
    return {
        "minutes": minutes, "concurrency": concurrency, "runs": len(runs),
        "requests": sum(r.requests for r in runs), "failed": sum(r.failed for r in runs),
        "perf_analyzer_errors": sum(r.exit_code != 0 for r in runs),
        "rss_start_mib": round(rss_start, 1), "rss_end_mib": round(server_rss_mib(server), 1),
        "throughput_per_s": round(sum(r.throughput_per_s for r in runs) / max(1, len(runs)), 2),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """`sweep` or `soak`, printed as JSON and written to --output."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["sweep", "soak"])
    parser.add_argument("--repository", type=Path, default=None)
    parser.add_argument("--size", type=int, default=256, help="Image side.")
    parser.add_argument("--requests", type=int, default=24, help="Requests per concurrency level (sweep).")
    parser.add_argument("--minutes", type=float, default=5.0, help="Soak length.")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    before = leftovers()
    with tempfile.TemporaryDirectory(prefix="golf-rt-load-") as scratch:
        data = input_data(Path(scratch), args.size, args.size)
        server = start(args.repository)
        try:
            if args.mode == "sweep":
                report: dict = {
                    "size": args.size,
                    "results": [asdict(r) for r in sweep(server, data, requests=args.requests)],
                }
            else:
                report = {"size": args.size, **soak(server, data, args.minutes)}
        finally:
            server.stop()
    report.update(leftovers_before=before, leftovers_after=leftovers(), cpu_count=os.cpu_count())
    text = json.dumps(report, indent=1)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
