"""The package faces: every error a caller may catch is importable from `golf_rt` or `golf_rt.client`."""

from __future__ import annotations

import importlib
import inspect

import pytest


def _errors_defined_in(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    return {
        name
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == module_name
    }


FACES = [("golf_rt", "golf_rt.errors"), ("golf_rt.client", "golf_rt.client.errors")]


@pytest.mark.parametrize(("face", "errors"), FACES)
def test_every_error_class_is_exported_by_the_face(face: str, errors: str) -> None:
    defined = _errors_defined_in(errors)
    package = importlib.import_module(face)
    assert defined, f"no error classes found in {errors}"
    assert defined <= set(package.__all__), sorted(defined - set(package.__all__))
    for name in defined:
        assert getattr(package, name) is getattr(importlib.import_module(errors), name)


def test_the_face_has_one_name_per_error() -> None:
    import golf_rt

    errors = [getattr(golf_rt, name) for name in golf_rt.__all__ if name.endswith("Error")]
    assert len(errors) == len(set(errors)), "an error exported under two names"
