"""The supervisor's watch loop against a scripted server: restarts, backoff, giving up and saying why.

`tests/triton/` kills real tritonserver processes under a supervisor; these tests drive each
branch of the loop with `FakeServer` in about a second each (the loop looks every 0.5 s).
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from golf_rt.errors import ServerError
from golf_rt.triton.supervisor import RestartPolicy, Supervisor

from .fakes import FakeServer, wait_until

AT_ONCE = RestartPolicy(first_delay_s=0.0, max_delay_s=0.0)
BAD_ALLOC = "I ready\nterminate called after throwing an instance of 'std::bad_alloc'\nSignal (6) received.\n"


@pytest.fixture
def server() -> FakeServer:
    return FakeServer(stubs=2)


def test_a_dead_server_is_stopped_and_started_again(server):
    restarted = threading.Event()
    heard: list[int] = []
    supervisor = Supervisor(server, AT_ONCE, on_restart=lambda n: (heard.append(n), restarted.set()))
    with supervisor:
        assert server.events == ["start"]
        server.die()
        assert restarted.wait(10), "no restart after the server died"
        assert server.events == ["start", "stop", "start"], "the dead server is reaped before the new one starts"
        assert (supervisor.restarts, heard, supervisor.failure) == (1, [1], None)
        assert supervisor.running() and server.is_alive()
    assert not supervisor.running() and not server.is_alive()


def test_a_killed_server_is_reported_by_its_signal_not_its_last_log_line(server, caplog):
    caplog.set_level(logging.WARNING, logger="golf_rt.triton.supervisor")
    restarted = threading.Event()
    with Supervisor(server, AT_ONCE, on_restart=lambda n: restarted.set()):
        server.die(-9, "I ready\nW pinned memory pool is smaller than asked for\n")
        assert restarted.wait(10)
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "killed by SIGKILL (signal 9)" in said and "pinned memory" not in said


def test_a_server_that_lost_a_backend_stub_is_restarted(server):
    restarted = threading.Event()
    with Supervisor(server, AT_ONCE, on_restart=lambda n: restarted.set()) as supervisor:
        server.lose_stub()
        assert server.is_alive()
        assert restarted.wait(10), "a live server with a dead stub must be restarted"
        assert supervisor.restarts == 1 and server.starts == 2


def test_a_healthy_server_is_left_alone(server):
    with Supervisor(server, AT_ONCE) as supervisor:
        deadline = time.monotonic() + 1.2  # two looks of the loop
        while time.monotonic() < deadline:
            assert server.events == ["start"] and supervisor.running()
            time.sleep(0.05)
    assert server.events == ["start", "stop"] and supervisor.restarts == 0


def test_it_gives_up_after_max_restarts_and_names_why(server):
    supervisor = Supervisor(server, RestartPolicy(max_restarts=2, first_delay_s=0.0, max_delay_s=0.0))
    supervisor.start()
    server.die_on_every_start(1, BAD_ALLOC)
    failure = supervisor.wait(timeout_s=10)
    assert failure == "tritonserver exited (code 1: std::bad_alloc) after 2 restarts; giving up"
    assert supervisor.failure == failure and supervisor.restarts == 2 and server.starts == 3
    assert not supervisor.running() and server.events[-1] == "stop"
    supervisor.stop()


def test_zero_restarts_gives_up_at_the_first_death_and_names_a_lost_stub(server):
    supervisor = Supervisor(server, RestartPolicy(max_restarts=0)).start()
    server.lose_stub()
    assert supervisor.wait(timeout_s=10) == "a backend stub died (1 of 2 left) after 0 restarts; giving up"
    assert server.starts == 1 and not server.is_alive()
    supervisor.stop()


def restart_waits(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The waits the supervisor announced before each restart: "restart 2 in 0.1 s" -> "0.1"."""
    return [r.getMessage().split("; restart ")[1].split(" s ")[0].split(" in ")[1]
            for r in caplog.records if "; restart " in r.getMessage()]  # fmt: skip


def test_failed_restarts_back_off_and_a_good_one_resets_the_delay(server, caplog):
    caplog.set_level(logging.WARNING, logger="golf_rt.triton.supervisor")
    restarted = threading.Event()
    policy = RestartPolicy(first_delay_s=0.1, max_delay_s=0.3)
    with Supervisor(server, policy, on_restart=lambda n: restarted.set()) as supervisor:
        server.fail_starts(3)
        server.die()
        assert restarted.wait(15), "the server never came back"
        assert supervisor.restarts == 4 and server.failed_starts == 3
        assert restart_waits(caplog) == ["0.0", "0.1", "0.2", "0.3"], "at once, then doubling up to the cap"
        restarted.clear()
        server.die()
        assert restarted.wait(10)
        assert restart_waits(caplog)[-1] == "0.0", "a restart that served resets the backoff"


def test_stop_ends_a_backoff_wait_at_once(server):
    supervisor = Supervisor(server, RestartPolicy(first_delay_s=60.0, max_delay_s=60.0)).start()
    server.fail_starts(1)
    server.die()
    wait_until(lambda: server.failed_starts == 1 and server.stops == 2, what="the wait before the second restart")
    began = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - began < 5, "stop() waited out the restart delay"
    assert server.starts == 1 and not supervisor.running()


def test_run_until_signal_raises_the_reason_it_gave_up(server):
    server.die_on_every_start(1, BAD_ALLOC)
    ready = threading.Event()
    supervisor = Supervisor(server, RestartPolicy(max_restarts=0))
    with pytest.raises(ServerError, match=r"code 1: std::bad_alloc\) after 0 restarts; giving up; see tritonserver"):
        supervisor.run_until_signal(timeout_s=1, on_ready=ready.set)
    assert ready.is_set() and not supervisor.running() and server.events[-1] == "stop"
