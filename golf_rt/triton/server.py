"""One class owns the `tritonserver` process: start, readiness, logs, stop, and death with its parent.

`TritonServer` starts the server that the nvidia-pytriton wheel ships (found and laid out by
`golf_rt.triton.pytriton_wheel`) in its own process group, so stopping it also stops the backend
stub processes; the child dies with its parent; and a failed start ends in one sentence read from
the server's log (`golf_rt.triton.server_log`): a port in use, a broken repository, a missing backend.

What it listens on, with which API key and certificates, is `golf_rt.triton.server_config`'s
`ServerConfig`. A stopped server leaves no shared-memory region of its Python backend in /dev/shm
(each server names its regions with its own prefix and removes them), a start first removes what
servers whose owner was killed left (`golf_rt.triton.workdirs`), and the log folder in the cache
keeps the last `KEPT_LOGS` logs. `golf_rt.triton.supervisor` restarts a server that dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from golf_rt.contract import API_KEY_HEADER
from golf_rt.errors import OutputError, ServerError
from golf_rt.machine.paths import cache_dir
from golf_rt.triton.ports import port_in_use
from golf_rt.triton.pytriton_wheel import backend_dir_from_pytriton, server_environment, tritonserver_binary
from golf_rt.triton.server_config import ServerConfig
from golf_rt.triton.server_log import cause_from_log, last_line
from golf_rt.triton.workdirs import (
    make_workdir,
    process_group_members,
    process_group_running,
    prune_logs,
    remove_dead_leftovers,
    remove_regions,
    shared_memory_regions,
    shm_prefix,
)

LOGGER = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1
KEPT_LOGS = 5
"""Logs the cache's log folder keeps (the newest); a log given with `log_file` is the caller's."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class TritonServer:
    """Start, wait for, stop and inspect one `tritonserver` process; a context manager.

    The child is killed if this process dies (PR_SET_PDEATHSIG, tied to the thread that started
    it: start servers from a thread that outlives them, such as the main thread).
    """

    def __init__(self, config: ServerConfig) -> None:
        """Keep the config; nothing starts until `start()`."""
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log_handle = None
        self._shm_prefix = ""
        self._starts = 0
        self._log_offset = 0

    @property
    def log_path(self) -> Path:
        """Where the server's output goes (the caller's file, else one per HTTP port in the cache)."""
        if self.config.log_file is not None:
            return self.config.log_file
        return cache_dir() / "logs" / f"tritonserver-{self.config.http_port}.log"

    def logs(self, tail_chars: int = 20_000, this_run: bool = False) -> str:
        """The end of the server log (`this_run`: only what the last start wrote, after a restart)."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(self._log_offset if this_run else 0, handle.tell() - tail_chars))
                return handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def workdir(self) -> Path | None:
        """The running server's temporary folder (its backend folder), removed on stop."""
        return self._workdir

    @property
    def pid(self) -> int | None:
        """Process id of the running server, or None."""
        return self._process.pid if self._process is not None else None

    @property
    def exit_code(self) -> int | None:
        """The exit status of a server that has stopped by itself (negative: killed by that signal), or None."""
        return self._process.poll() if self._process is not None else None

    def backend_processes(self) -> list[int]:
        """Process ids of the running server's Python-backend stubs (one per model instance)."""
        if not self.is_alive():
            return []
        stubs = []
        for pid in process_group_members(self.pid):
            with contextlib.suppress(OSError):
                if b"triton_python_backend_stub" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    stubs.append(pid)
        return stubs

    def is_alive(self) -> bool:
        """True while the server process runs."""
        return self._process is not None and self._process.poll() is None

    def _check_before_start(self) -> None:
        if self.is_alive():
            raise ServerError(f"tritonserver is already running (pid {self.pid}); stop it first")
        if not self.config.repository.is_dir():
            raise ServerError(
                f"model repository {self.config.repository} is not a directory; build one with golf-rt repository"
            )
        for name, port in (("http", self.config.http_port), ("grpc", self.config.grpc_port),
                           ("metrics", self.config.metrics_port)):  # fmt: skip
            host = self.config.http_host if name == "http" else self.config.host
            if port_in_use(host, port):
                raise ServerError(
                    f"{name} port {port} on {host} is already in use; stop what holds it or pick another"
                    f" with --{name}-port"
                )

    def start(self, timeout_s: float = 120.0) -> TritonServer:
        """Start the server and wait until it and every model in `ready_models` are ready."""
        self._check_before_start()
        binary, env = tritonserver_binary(), server_environment()
        self._open_log()
        self._starts += 1
        try:
            remove_dead_leftovers()
            self._workdir = make_workdir()
            self._shm_prefix = shm_prefix(self._workdir)
            backends = backend_dir_from_pytriton(self._workdir / "backends")
            args = self.config.arguments(binary, backends, self._shm_prefix)
            LOGGER.info("starting %s (log: %s)", self.config.shown(args), self.log_path)
            self._process = subprocess.Popen(
                args,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log_handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PR_SET_PDEATHSIG
            )
            self.wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _open_log(self) -> None:
        """Open the log for this start (a restart appends: the last run's end is its cause of death)."""
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_handle = open(self.log_path, "ab" if self._starts else "wb")  # noqa: SIM115 - closed in stop()
        except OSError as exc:
            raise OutputError(
                f"cannot write the server log {self.log_path} ({exc.strerror or exc}); give --log-file a writable place"
            ) from exc
        if self.config.log_file is None:
            prune_logs(self.log_path.parent, keep=KEPT_LOGS)
        self._log_offset = self._log_handle.tell()

    def _ready(self, path: str) -> bool:
        url = f"{self.config.http_url}{path}"
        headers = {API_KEY_HEADER: self.config.api_key} if self.config.api_key else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as response:  # noqa: S310 - loopback URL we built
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Block until the server answers and the models are ready; ServerError with the cause otherwise."""
        deadline = time.monotonic() + timeout_s
        paths = ["/v2/health/live", *(f"/v2/models/{m}/ready" for m in self.config.ready_models)]
        while time.monotonic() < deadline:
            if not self.is_alive():
                code = self._process.returncode if self._process is not None else None
                cause = cause_from_log(self.logs(this_run=True), self.config)
                raise ServerError(f"{cause} (exit code {code}; log: {self.log_path})")
            if all(self._ready(p) for p in paths):
                LOGGER.info("tritonserver ready at %s", self.config.http_url)
                return
            time.sleep(0.2)
        raise ServerError(
            f"tritonserver was not ready within {timeout_s:.0f} s (models {list(self.config.ready_models)}); "
            f"last log line: {last_line(self.logs())!r} (log: {self.log_path})"
        )

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGINT to the whole process group, then SIGKILL after `timeout_s`; no stub process survives."""
        process = self._process
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                LOGGER.warning("tritonserver did not stop within %.0f s after SIGINT; killing it", timeout_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # stragglers in the group (backend stubs)
            process.wait()
            deadline = time.monotonic() + 10
            while process_group_running(process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            self._process = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        self.remove_shared_memory()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def shared_memory_regions(self) -> list[Path]:
        """The Python backend's regions of this server in /dev/shm (its own prefix)."""
        return shared_memory_regions(self._shm_prefix)

    def remove_shared_memory(self) -> None:
        """Remove this server's regions: a stub that was killed, or a server that aborted, leaves them."""
        if self.is_alive():
            raise ServerError("the server is running; stop it before removing its shared memory")
        remove_regions(self.shared_memory_regions())

    def __enter__(self) -> TritonServer:
        """Start unless already running."""
        if not self.is_alive():
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Stop, always."""
        self.stop()
