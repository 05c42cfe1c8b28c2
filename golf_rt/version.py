"""golf-rt's version, from the installed distribution's metadata; a module of its own so any layer may read it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("golf-rt")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
