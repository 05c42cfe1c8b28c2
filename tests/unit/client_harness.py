"""Either client face on a scripted tritonclient (`fakes.Script`), with the waits its retry loop asked for."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
import tritonclient.grpc
import tritonclient.grpc.aio
import tritonclient.http
import tritonclient.http.aio

from golf_rt.client import AsyncGolfClient, GolfClient
from golf_rt.client import aio as aio_module
from golf_rt.client import golf_client as sync_module

from .fakes import FakeAsyncTritonClient, FakeTritonClient, Script


class Harness:
    """A client of one face on a scripted server, and the waits its retry loop asked for."""

    def __init__(self, face: str, script: Script, monkeypatch: pytest.MonkeyPatch, url: str, **settings: Any) -> None:
        self.face, self.script, self.waits = face, script, []
        for module in (tritonclient.http, tritonclient.grpc):
            monkeypatch.setattr(module, "InferenceServerClient", type("Fake", (FakeTritonClient,), {"script": script}))
        for module in (tritonclient.http.aio, tritonclient.grpc.aio):
            fake = type("FakeAsync", (FakeAsyncTritonClient,), {"script": script})
            monkeypatch.setattr(module, "InferenceServerClient", fake)
        if face == "sync":
            monkeypatch.setattr(sync_module, "time", SimpleNamespace(sleep=self.waits.append))
            self.client = GolfClient(url, shared_memory=False, **settings)
        else:

            async def sleep(seconds: float) -> None:
                self.waits.append(seconds)

            monkeypatch.setattr(aio_module, "asyncio", SimpleNamespace(**{**vars(asyncio), "sleep": sleep}))
            self.client = AsyncGolfClient(url, **settings)

    def run(self, method: str, *args: Any, **keywords: Any) -> Any:
        result = getattr(self.client, method)(*args, **keywords)
        return asyncio.run(result) if self.face == "async" else result


def harness(face: str, monkeypatch: pytest.MonkeyPatch, url: str = "http://127.0.0.1:8000", **answers: list[Any]):
    """`harness(face, monkeypatch, infer=[...], settings={"retries": 1})`: the answers script the server."""
    settings = answers.pop("settings", {})
    return Harness(face, Script(**answers), monkeypatch, url, **settings)
