"""Keep a `TritonServer` serving: when its process dies, log why and start it again, with backoff.

Triton cannot be patched from here, and one request can abort it (an HTTP JSON request that
declares a huge tensor makes tritonserver 2.51 throw std::bad_alloc; see docs/reliability.md).
`Supervisor` watches the process from one thread of its own: when the server exits without
being asked to, it logs the exit code and cause, removes what the dead server left (its
shared-memory regions) and starts it again on the same ports: at once after a server that was
serving, so that one deadly request costs one start-up; with backoff (1 s, 2 s, 4 s ... at most
30 s) only while the restarts themselves fail, the server dying before it is ready.
`restarts` counts the restarts.

A Python-backend stub that dies (killed, out of memory) is not started again by Triton 2.51:
its model answers every later request with "Stub process ... is not healthy" while the server
still reports itself and the model ready. So the supervisor also counts the stubs, and a server
that lost one is restarted like a dead one.

This is the one watch loop: `golf-rt serve` makes a supervisor, hears of restarts through
`on_restart` and calls `run_until_signal()`, which starts it, waits until it gives up or SIGINT or
SIGTERM arrives, and stops the server.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from golf_rt.errors import ConfigurationError, GolfError, ServerError
from golf_rt.triton.server import TritonServer
from golf_rt.triton.server_log import exit_cause

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    """How often and how soon a dead server is started again.

    `max_restarts`: None restarts forever; after that many restarts the supervisor gives up.
    A server that died after it was ready is started again at once; after k restarts in a row
    that failed (the server died or was not ready within `ready_timeout_s`), the next waits
    `first_delay_s` * 2^(k-1), at most `max_delay_s`.
    """

    max_restarts: int | None = None
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    ready_timeout_s: float = 180.0

    def __post_init__(self) -> None:
        if self.max_restarts is not None and self.max_restarts < 0:
            raise ConfigurationError(f"max_restarts must be >= 0 or None, got {self.max_restarts}")
        if not 0 <= self.first_delay_s <= self.max_delay_s:
            raise ConfigurationError(f"restart delays need 0 <= first <= max, got {self}")

    def delay(self, failed_starts: int) -> float:
        """Seconds to wait before the next restart, after `failed_starts` restarts in a row that failed."""
        return 0.0 if failed_starts == 0 else min(self.max_delay_s, self.first_delay_s * 2 ** (failed_starts - 1))


class Supervisor:
    """Start a server, restart it whenever it dies, stop it for good on `stop()`; a context manager."""

    def __init__(
        self,
        server: TritonServer,
        policy: RestartPolicy | None = None,
        on_restart: Callable[[int], None] | None = None,
    ) -> None:
        """Nothing starts until `start()`; the watch thread calls `on_restart(restarts)` after each restart."""
        self.server = server
        self.policy = policy or RestartPolicy()
        self.on_restart = on_restart
        self._restarts = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: str | None = None

    @property
    def restarts(self) -> int:
        """How many times the server was started again after it died."""
        return self._restarts

    @property
    def failure(self) -> str | None:
        """Why the supervisor gave up (restarts exhausted), or None while it keeps the server up."""
        return self._failure

    def running(self) -> bool:
        """True while the supervisor watches (the server may be between a death and its restart)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout_s: float = 180.0) -> Supervisor:
        """Start the server, wait until ready, then watch it."""
        self.server.start(timeout_s=timeout_s)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._watch, name="golf-rt-supervisor", daemon=True)
        self._thread.start()
        return self

    def _healthy(self, stubs: int) -> bool:
        return self.server.is_alive() and len(self.server.backend_processes()) >= stubs

    def _watch(self) -> None:
        failed_starts = 0
        stubs = len(self.server.backend_processes())
        while not self._stopping.wait(0.5):
            if self._healthy(stubs):
                continue
            if self.server.is_alive():
                what = f"a backend stub died ({len(self.server.backend_processes())} of {stubs} left)"
            else:
                code = self.server.exit_code
                what = f"tritonserver exited (code {code}: {exit_cause(self.server.logs(this_run=True), code)})"
            limit = self.policy.max_restarts
            if limit is not None and self._restarts >= limit:
                self._failure = f"{what} after {self._restarts} restarts; giving up"
                LOGGER.error("%s (log: %s)", self._failure, self.server.log_path)
                self.server.stop()
                return
            delay = self.policy.delay(failed_starts)
            LOGGER.warning("%s; restart %d in %.1f s (log: %s)", what, self._restarts + 1, delay, self.server.log_path)
            self.server.stop()  # reaps it and removes its shared memory
            if self._stopping.wait(delay):
                return
            self._restarts += 1
            try:
                self.server.start(timeout_s=self.policy.ready_timeout_s)
            except GolfError as exc:  # ServerError: it died or was not ready in time; OutputError: no log
                failed_starts += 1
                LOGGER.error("restart %d failed: %s", self._restarts, exc)
                continue
            failed_starts = 0
            stubs = len(self.server.backend_processes())
            LOGGER.warning("tritonserver is serving again (restart %d, pid %s)", self._restarts, self.server.pid)
            if self.on_restart is not None:
                self.on_restart(self._restarts)

    def wait(self, timeout_s: float | None = None) -> str | None:
        """Block until the supervisor stops watching (it gave up, or `stop()`), at most `timeout_s`; its `failure`.

        Waits in short slices, so Ctrl-C (or a SIGTERM handler that raises) interrupts it at once.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self.running() and (deadline is None or time.monotonic() < deadline):
            thread = self._thread
            if thread is not None:
                thread.join(0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic())))
        return self._failure

    def wait_serving(self, timeout_s: float) -> bool:
        """Wait until the server is up and ready (after a restart, say); False if not within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.server.is_alive():
                try:
                    self.server.wait_ready(timeout_s=max(0.1, deadline - time.monotonic()))
                    return True
                except ServerError:
                    pass
            time.sleep(0.2)
        return False

    def run_until_signal(
        self,
        timeout_s: float = 180.0,
        on_ready: Callable[[], None] | None = None,
        on_stopping: Callable[[int], None] | None = None,
    ) -> None:
        """Start, call `on_ready()`, and serve until SIGINT or SIGTERM; the server is stopped on the way out.

        Returns after a signal (having called `on_stopping(restarts)` before stopping); raises
        `ServerError` when the supervisor gives up. Call it from the main thread (it sets a SIGTERM
        handler, and restores the previous one).
        """

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, interrupt)
        try:
            self.start(timeout_s=timeout_s)
            if on_ready is not None:
                on_ready()
            failure = self.wait()
            raise ServerError(f"{failure or 'tritonserver exited'}; see {self.server.log_path}")
        except KeyboardInterrupt:
            if on_stopping is not None:
                on_stopping(self._restarts)
        finally:
            self.stop()
            signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        """Stop watching, then stop the server."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.server.stop()

    def __enter__(self) -> Supervisor:
        """Start unless already running."""
        if not self.running():
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Stop, always."""
        self.stop()
