"""Why tritonserver did not come up, in one sentence read from its log.

Triton reports a failed start across many log lines (and quotes Python tracebacks from the
backend stub); a user needs the one cause and what to do about it. The table below knows the
failures a golf-rt repository meets: a port in use, a missing backend, a config that does not
parse, a model that fails to load, an unreadable repository.
"""

from __future__ import annotations

import re
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from golf_rt.triton.server_config import ServerConfig

_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Address already in use|failed to start \w+ service", re.I), "port"),
    (re.compile(r"unable to (?:find|load) backend[^\n]*?(?=\.?\"|$)", re.I | re.M), "backend"),
    (re.compile(r"Error parsing text-format inference.ModelConfig: ([^\n]+)[\s\S]*?directory '([^']+)'"), "parse"),
    (re.compile(r"failed to load '([^']+)' version \d+: ([^\n]+)"), "model"),
    (re.compile(r"failed to stat file ([^\n\"]+)|failed to open text file[^\n\"]*"), "repo"),
    (re.compile(r"error: creating server: ([^\n]+)"), "other"),
)


def cause_from_log(log: str, config: ServerConfig) -> str:
    """One sentence saying why the server did not come up, from its log text."""
    for pattern, kind in _CAUSES:
        match = pattern.search(log)
        if not match:
            continue
        if kind == "port":
            return (
                f"a port tritonserver needs is already in use (http {config.http_port}, grpc {config.grpc_port}, "
                f"metrics {config.metrics_port} on {config.host}); stop the other server or pick other ports"
            )
        if kind == "backend":
            return f"tritonserver is missing a backend: {match.group(0).strip()}"
        if kind == "parse":
            return f"model {match.group(2)!r}: config.pbtxt does not parse ({match.group(1).strip()})"
        if kind == "model":
            reason = match.group(2).split("\\n")[0].strip().strip('"')
            return f"model {match.group(1)!r} in {config.repository} failed to load: {reason}"
        if kind == "repo":
            return f"the model repository {config.repository} cannot be read: {match.group(0).strip()}"
        return f"tritonserver stopped: {match.group(1).strip()}"
    return f"tritonserver stopped: {last_line(log) or 'no output'}"


def last_line(log: str) -> str:
    """The last non-blank line of a log, stripped."""
    lines = [line for line in log.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


_CRASHES = (
    re.compile(r"terminate called after throwing an instance of '([^']+)'"),
    re.compile(r"Signal \((\d+)\) received"),
)


def exit_cause(log: str, exit_code: int | None = None) -> str:
    """Why a running server stopped, in a few words.

    The C++ exception its log names, else the signal that killed it (a negative exit code: a killed
    process logs nothing of it, so its last line would mislead), else the signal its log names, else
    its last line.
    """
    exceptions = _CRASHES[0].findall(log)
    if exceptions:
        return exceptions[-1]
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = "an unknown signal"
        return f"killed by {name} (signal {-exit_code})"
    signals = _CRASHES[1].findall(log)
    if signals:
        return f"signal {signals[-1]}"
    return last_line(log) or "no output"
