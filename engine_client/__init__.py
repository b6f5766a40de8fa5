"""A client for the Docker Engine API. Plain Python: nothing here imports Django."""

from .client import EngineClient
from .errors import (
    BadRequest,
    Conflict,
    EngineError,
    EngineTimeout,
    EngineUnreachable,
    Forbidden,
    InvalidArgument,
    NotAvailable,
    NotFound,
    ProxyRefused,
    UnsupportedVersion,
)
from .transport import TLSConfig

__all__ = [
    "BadRequest",
    "Conflict",
    "EngineClient",
    "EngineError",
    "EngineTimeout",
    "EngineUnreachable",
    "Forbidden",
    "InvalidArgument",
    "NotAvailable",
    "NotFound",
    "ProxyRefused",
    "TLSConfig",
    "UnsupportedVersion",
]
