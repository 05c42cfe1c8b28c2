"""Supervisor pieces that need no server: the restart policy and the cause of death read from a log."""

from __future__ import annotations

import pytest

from golf_rt.errors import ConfigurationError
from golf_rt.triton.server_log import exit_cause
from golf_rt.triton.supervisor import RestartPolicy


def test_restart_is_at_once_then_delays_double_up_to_the_cap_while_restarts_fail() -> None:
    policy = RestartPolicy()
    assert [policy.delay(k) for k in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]
    with pytest.raises(ConfigurationError, match="max_restarts"):
        RestartPolicy(max_restarts=-1)
    with pytest.raises(ConfigurationError, match="first <= max"):
        RestartPolicy(first_delay_s=5, max_delay_s=1)


@pytest.mark.parametrize(
    ("log", "cause"),
    [
        (
            "I ready\nterminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n"
            "Signal (6) received.\n 0# 0x01 in tritonserver",
            "std::bad_alloc",
        ),  # fmt: skip
        ("I ready\nSignal (11) received.\n 0# 0x01", "signal 11"),
        ("I ready\nsomething odd\n", "something odd"),
        ("", "no output"),
    ],
)
def test_exit_cause_names_the_exception_or_signal(log: str, cause: str) -> None:
    assert exit_cause(log) == cause


def test_exit_cause_of_a_killed_process_is_its_signal_whatever_it_logged() -> None:
    assert exit_cause("W pinned memory pool is smaller\n", -9) == "killed by SIGKILL (signal 9)"
    assert exit_cause("I ready\nsomething odd\n", 1) == "something odd"
