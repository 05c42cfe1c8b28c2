"""Triton Python-backend entry point of a golf-rt model (written by `golf-rt repository`)."""

from golf_rt.triton.python_model import TritonPythonModel

__all__ = ["TritonPythonModel"]
