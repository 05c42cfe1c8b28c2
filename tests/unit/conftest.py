"""Fixtures of the unit tier."""

from __future__ import annotations

import pytest

FACES = ["sync", "async"]


@pytest.fixture(params=FACES)
def face(request: pytest.FixtureRequest) -> str:
    """Each client face in turn: `GolfClient` ("sync") and `AsyncGolfClient` ("async")."""
    return request.param
