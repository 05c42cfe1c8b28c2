"""Typed client errors, and the one place that turns tritonclient's exceptions into them.

`GolfClientError` is a `GolfError`, so the CLI reports it in one line. Only
`ServerUnreachableError` is worth retrying: the others mean the request reached the server.
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys

from golf_rt.errors import GolfError

LOGGER = logging.getLogger(__name__)


class GolfClientError(GolfError):
    """Root of the errors `GolfClient` raises."""


class ServerUnreachableError(GolfClientError, ConnectionError):
    """Nothing answers at the server's address (not started, stopped, wrong host or port)."""


class ModelNotReadyError(GolfClientError):
    """The server answers, but the model is unknown to it or not loaded yet."""


class ImageRejectedError(GolfClientError, ValueError):
    """The server refused the input; `reason` is the server's own sentence."""

    def __init__(self, reason: str) -> None:
        """Keep the server's reason for callers that want it without the prefix."""
        super().__init__(f"the server rejected the image: {reason}")
        self.reason = reason


class ServerSideError(GolfClientError):
    """The request was valid but the server failed to run it."""


class ClientTimeoutError(GolfClientError, TimeoutError):
    """No answer within the client's timeout."""


class ApiKeyRejectedError(GolfClientError, PermissionError):
    """The server wants an API key and the request carried none, or the wrong one."""


class TlsHandshakeError(GolfClientError, ConnectionError):
    """TLS failed before any request: an untrusted server certificate, a missing client one, TLS on one side only."""


class SharedMemoryUnavailableError(GolfClientError):
    """The server cannot map the client's shared memory (another machine, or a container without --ipc=host)."""


_UNREACHABLE_STATUSES = ("StatusCode.UNAVAILABLE",)
_TIMEOUT_STATUSES = ("StatusCode.DEADLINE_EXCEEDED",)
_REJECTED_STATUSES = ("400", "StatusCode.INVALID_ARGUMENT")
_NOT_FOUND_STATUSES = ("404", "StatusCode.NOT_FOUND")
_NOT_READY_WORDS = ("is not ready", "unknown model", "is not found", "not loaded")


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, socket.gaierror, *_CUT_TLS_STREAMS]
    try:  # the HTTP client's transport: a server that dies mid-response closes the connection
        from geventhttpclient.response import HTTPConnectionClosed

        errors.append(HTTPConnectionClosed)
    except ImportError:  # pragma: no cover - comes with tritonclient[http]
        pass
    try:
        import aiohttp

        errors.append(aiohttp.ClientConnectionError)
    except ImportError:  # the aio extra is optional
        pass
    return tuple(errors)


def _tls_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ssl.SSLError]
    try:  # the asyncio HTTP client wraps them
        import aiohttp

        errors.append(aiohttp.ClientSSLError)
    except ImportError:  # the aio extra is optional
        pass
    return tuple(errors)


_CUT_TLS_STREAMS = (ssl.SSLEOFError, ssl.SSLZeroReturnError)
"""A TLS connection closed under a request: the server (or its ingress) went away, as with a plain one."""
_TLS_HINT = (
    "check tls=ClientTLS(root_certificates=...) (the CA that signed the server's certificate) and, for a server "
    "that demands one, ClientTLS's private_key= and certificate_chain="
)


def client_error_from(exc: BaseException, where: str) -> GolfClientError | None:
    """The typed error for an exception raised by tritonclient while talking to `where`, or None."""
    from tritonclient.utils import InferenceServerException

    if isinstance(exc, GolfClientError):
        return exc
    asyncio = sys.modules.get("asyncio")  # its TimeoutError (distinct before 3.11) exists only once it is loaded
    timeouts = (TimeoutError, socket.timeout) + ((asyncio.TimeoutError,) if asyncio else ())
    if isinstance(exc, timeouts):
        return ClientTimeoutError(f"no answer from {where} within the timeout; raise timeout= or check the server")
    if isinstance(exc, _tls_errors()) and not isinstance(exc, _CUT_TLS_STREAMS):
        return TlsHandshakeError(f"the TLS handshake with {where} failed ({exc}); {_TLS_HINT}")
    if isinstance(exc, _connection_errors()):
        return ServerUnreachableError(f"cannot reach the Triton server at {where} ({exc}); is `golf-rt serve` running?")
    if not isinstance(exc, InferenceServerException):
        return None
    status, message = str(exc.status()), (exc.message() or str(exc)).strip()
    message = message.removeprefix("[request id: <id_unknown>] ")
    if "is restricted, expecting header" in message:
        return ApiKeyRejectedError(
            f"{where} refused the request without the right API key ({message}); pass api_key= or set GOLF_RT_API_KEY"
        )
    if "handshake failed" in message.lower() or "ssl_error" in message.lower():
        return TlsHandshakeError(f"the TLS handshake with {where} failed ({message}); {_TLS_HINT}")
    if status in _UNREACHABLE_STATUSES:
        hint = "; a server that speaks TLS closes plaintext connections like this: pass tls=ClientTLS(...)" if (
            "Socket closed" in message) else ""  # fmt: skip
        return ServerUnreachableError(f"cannot reach the Triton server at {where} ({message}); is it running?{hint}")
    if status in _TIMEOUT_STATUSES:
        return ClientTimeoutError(f"no answer from {where} within the timeout ({message})")
    if status in _NOT_FOUND_STATUSES or any(w in message for w in _NOT_READY_WORDS):
        return ModelNotReadyError(f"{where}: {message}")
    if status in _REJECTED_STATUSES:
        return ImageRejectedError(message)
    return ServerSideError(f"{where} failed to run the request ({status}): {message}")


def retry_delay_or_raise(exc: Exception, where: str, attempt: int, delays: list[float]) -> float:
    """Seconds to wait before retrying after `exc`; raises the typed error when it must not be retried.

    Only connection errors are retried, and only while `delays` lasts; an exception tritonclient
    did not raise is re-raised untouched (it is a bug, and its traceback matters).
    """
    error = client_error_from(exc, where)
    if error is None:
        raise exc
    if isinstance(error, ServerUnreachableError) and attempt < len(delays):
        LOGGER.info("%s; retrying in %.1f s", error, delays[attempt])
        return delays[attempt]
    raise error from exc
