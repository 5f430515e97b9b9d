"""Python client for a Continuum daemon (``continuum-core``).

Standard library only. Talks JSON-RPC 2.0 over the daemon's Unix socket,
the same way ``cu`` does::

    import continuum

    client = continuum.connect()                  # $CONTINUUM_HOME or ~/.continuum
    client.call("data/create", collection="notes", data={"title": "x"})
    client.data.list(collection="notes")          # attributes from commands/list
    for event in client.stream("chat/history", room="lobby", follow=True):
        print(event["message"]["text"])

Failures raise a :class:`ContinuumError` subclass per wire error code
(:class:`InvalidParams`, :class:`Forbidden`, :class:`NotFound`, ...).
"""

from .client import TRUST_LEVELS, Client, Stream, connect, home_dir, socket_path
from .errors import (
    Conflict,
    ConnectionLost,
    ContinuumError,
    Forbidden,
    FrameTooLarge,
    Internal,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    NotFound,
    NotRunning,
    Overloaded,
    ParseError,
    Refused,
    ShuttingDown,
    Tampered,
    Timeout,
    TransportError,
    Unavailable,
    Unresponsive,
    Upstream,
    error_from_wire,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Conflict",
    "ConnectionLost",
    "ContinuumError",
    "Forbidden",
    "FrameTooLarge",
    "Internal",
    "InvalidParams",
    "InvalidRequest",
    "MethodNotFound",
    "NotFound",
    "NotRunning",
    "Overloaded",
    "ParseError",
    "Refused",
    "ShuttingDown",
    "Stream",
    "TRUST_LEVELS",
    "Tampered",
    "Timeout",
    "TransportError",
    "Unavailable",
    "Unresponsive",
    "Upstream",
    "connect",
    "error_from_wire",
    "home_dir",
    "socket_path",
]
