"""Typed errors raised by the engine client.

Every error carries the engine's own message (or, for transport failures, what went wrong
while reaching it) so that the dashboard can show it to a person as the engine said it.
"""

from __future__ import annotations


class EngineError(Exception):
    """The engine answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class BadRequest(EngineError):
    """400: the engine rejected a parameter."""


class Forbidden(EngineError):
    """403: the engine refuses the operation on this object (e.g. removing a built-in network)."""


class ProxyRefused(Forbidden):
    """403 from a filter in front of the engine (docker-socket-proxy and the like), not from
    the engine: this deployment does not let the dashboard use that path. The engine's own
    403 carries its JSON `{"message": ...}`; a proxy's is its own page, so they are told
    apart by the body."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"the socket proxy refuses {method} {path}", 403)
        self.method = method
        self.path = path


class NotFound(EngineError):
    """404: no such container, image, network, ..."""


class Conflict(EngineError):
    """409: the object is in a state that forbids the request (running, in use, name taken)."""


class NotAvailable(EngineError):
    """503: the engine refuses the call in its current mode (e.g. not a swarm manager)."""


class EngineUnreachable(EngineError):
    """No answer: the socket is missing, the connection was refused or timed out."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message, status=None)
        self.url = url


class EngineTimeout(EngineUnreachable):
    """The engine accepted the connection but did not answer in time."""


class UnsupportedVersion(EngineError):
    """The engine's API version is older than the oldest this client speaks."""


class InvalidArgument(ValueError):
    """A value given to the client is not acceptable (checked before any request is sent)."""


_BY_STATUS: dict[int, type[EngineError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    503: NotAvailable,
}


def error_for_status(status: int, message: str) -> EngineError:
    return _BY_STATUS.get(status, EngineError)(message, status)
