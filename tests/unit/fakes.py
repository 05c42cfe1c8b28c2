"""Stand-ins for the unit tier: a scripted tritonclient `InferenceServerClient` and a scripted server process.

`FakeTritonClient` answers each call from a script shared by every connection a client opens:
an exception in the script is raised, anything else is returned. `FakeServer` has the small
surface of `golf_rt.triton.server.TritonServer` that `Supervisor` uses; a test makes it die,
lose a backend stub or fail its next starts, and waits on its counters with `wait_until`.
Either raises AttributeError on anything it does not model.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from golf_rt.contract import OUTPUT_NAME
from golf_rt.errors import ServerError


class Script:
    """What each call of a method answers, in order; the last answer repeats. Records every call.

    `batch_sizes` lists the batch of every `infer` call in order; a callable answer is called with
    the script, so `echo` answers each request with an output of its own shape.
    """

    def __init__(self, **answers: list[Any]) -> None:
        """`answers`: method name -> its answers (an exception is raised, anything else returned)."""
        self.answers = {name: list(values) for name, values in answers.items()}
        self.calls: list[str] = []
        self.connections: list[FakeTritonClient] = []
        self.shapes: list[tuple[int, ...]] = []

    @property
    def batch_sizes(self) -> list[int]:
        return [shape[0] for shape in self.shapes]

    def answer(self, method: str) -> Any:
        self.calls.append(method)
        values = self.answers[method]
        value = values.pop(0) if len(values) > 1 else values[0]
        if isinstance(value, BaseException):
            raise value
        return value(self) if callable(value) else value


class FakeResult:
    """What `infer` returns: `as_numpy` of the output tensor."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def as_numpy(self, name: str) -> np.ndarray:
        if name != OUTPUT_NAME:
            raise KeyError(name)
        return self.array


def echo(script: Script) -> FakeResult:
    """An `infer` answer of the request's own shape, every value the request's number (1, 2, ...) / 8."""
    return FakeResult(np.full(script.shapes[-1], len(script.shapes) / 8, np.float32))


class FakeTritonClient:
    """A synchronous `InferenceServerClient`: each call answers from `script`."""

    script: Script

    def __init__(self, address: str, **options: Any) -> None:
        self.address, self.options, self.closed = address, options, False
        self.script.connections.append(self)

    def infer(self, model: str, inputs: list[Any], outputs: list[Any] | None = None, **options: Any) -> Any:
        self.script.shapes.append(tuple(inputs[0].shape()))
        return self.script.answer("infer")

    def is_server_ready(self, **options: Any) -> bool:
        return self.script.answer("is_server_ready")

    def is_model_ready(self, model: str, **options: Any) -> bool:
        return self.script.answer("is_model_ready")

    def get_model_metadata(self, model: str, **options: Any) -> dict:
        return self.script.answer("get_model_metadata")

    def get_model_config(self, model: str, **options: Any) -> dict:
        return self.script.answer("get_model_config")

    def close(self) -> None:
        self.closed = True


class FakeAsyncTritonClient(FakeTritonClient):
    """The asyncio `InferenceServerClient`: the same script, awaited; a float answer is a hang of that many seconds."""

    async def _answer(self, method: str) -> Any:
        value = self.script.answer(method)
        if isinstance(value, float):
            await asyncio.sleep(value)
        return value

    async def infer(self, model: str, inputs: list[Any], outputs: list[Any] | None = None, **options: Any) -> Any:
        self.script.shapes.append(tuple(inputs[0].shape()))
        return await self._answer("infer")

    async def is_server_ready(self, **options: Any) -> bool:
        return await self._answer("is_server_ready")

    async def is_model_ready(self, model: str, **options: Any) -> bool:
        return await self._answer("is_model_ready")

    async def get_model_metadata(self, model: str, **options: Any) -> dict:
        return await self._answer("get_model_metadata")

    async def get_model_config(self, model: str, **options: Any) -> dict:
        return await self._answer("get_model_config")

    async def close(self) -> None:
        self.closed = True


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "the condition") -> None:
    """Poll `condition` until it holds; fail the test when it does not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.01)


class FakeServer:
    """The part of `TritonServer` a `Supervisor` uses, driven by the test.

    `die(code, log)` ends the "process"; `lose_stub()` drops a backend stub; `fail_starts(n)`
    makes the next `n` starts raise `ServerError` as a server that died while starting does.
    `starts`, `failed_starts` and `stops` count the calls; `events` lists them in order.
    """

    def __init__(self, stubs: int = 0, log_path: Path = Path("tritonserver.log")) -> None:
        self.log_path = log_path
        self.exit_code: int | None = None
        self.pid: int | None = None
        self.starts = self.failed_starts = self.stops = 0
        self.events: list[str] = []
        self._stubs = stubs
        self._backends: list[int] = []
        self._alive = False
        self._log = ""
        self._fail_next = 0
        self._die_on_start: tuple[int, str] | None = None
        self._lock = threading.Lock()

    def start(self, timeout_s: float = 120.0) -> FakeServer:
        with self._lock:
            if self._fail_next:
                self._fail_next -= 1
                self.failed_starts += 1
                self.events.append("failed start")
                self.exit_code, self._log = 1, "E failed to load model\n"
                raise ServerError("tritonserver exited with code 1 before it was ready")
            self.starts += 1
            self.events.append("start")
            self._alive, self.exit_code, self._log, self.pid = True, None, "I ready\n", 1000 + self.starts
            self._backends = list(range(self._stubs))
            if self._die_on_start is not None:
                self._alive, (self.exit_code, self._log) = False, self._die_on_start
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            self.stops += 1
            self.events.append("stop")
            if self._alive:
                self._alive, self.exit_code = False, 0

    def is_alive(self) -> bool:
        return self._alive

    def backend_processes(self) -> list[int]:
        return list(self._backends) if self._alive else []

    def logs(self, tail_chars: int = 20_000, this_run: bool = False) -> str:
        return self._log

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        if not self._alive:
            raise ServerError("tritonserver is not running")

    def die(self, code: int = -11, log: str = "I ready\nSignal (11) received.\n 0# 0x01\n") -> None:
        with self._lock:
            self._alive, self.exit_code, self._log = False, code, log

    def die_on_every_start(self, code: int, log: str) -> None:
        self._die_on_start = (code, log)
        self.die(code, log)

    def lose_stub(self) -> None:
        with self._lock:
            self._backends.pop()

    def fail_starts(self, count: int) -> None:
        self._fail_next = count
