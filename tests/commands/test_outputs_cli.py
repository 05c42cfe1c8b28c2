"""Every command that writes results checks where they go before any work: one line and exit 1."""

from __future__ import annotations

import pytest

from ..cli_helpers import golf_rt

COMMANDS = [
    ("export", "--output", "/proc/golf-rt-test"),
    ("quantize", "--output", "/proc/golf-rt-test"),
    ("verify", "--json", "/proc/golf-rt-test/verify.json"),
    ("repository", "--output", "/proc/golf-rt-test"),
    ("report", "missing.json", "--output", "/proc/golf-rt-test"),
    ("tune", "--budget-ms", "100", "--output", "/proc/golf-rt-test"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_an_unwritable_output_is_one_line_and_exit_1(args, tmp_path):
    result = golf_rt(*args, cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ") and "/proc/golf-rt-test" in result.stderr
    assert "Traceback" not in result.stderr
