"""Typed exceptions: one class per wire error code, plus the client's own.

The daemon answers a failed call with a JSON-RPC error whose ``code`` and
``data.kind`` are stable (``crates/continuum-wire/src/error.rs``). Each maps
to one class here, so callers catch what they mean::

    try:
        client.data.read(collection="notes", id="x")
    except continuum.NotFound:
        ...
    except continuum.InvalidParams as err:
        print(err.field, err.reason)   # "/id", "..."

Every exception derives from :class:`ContinuumError`. Failures that never
reached the daemon (:class:`NotRunning`, :class:`Refused`,
:class:`Unresponsive`, :class:`ConnectionLost`) derive from
:class:`TransportError` and have ``code = None``.
"""

from typing import Any, Dict, List, Mapping, Optional

__all__ = [
    "ContinuumError",
    "ParseError",
    "InvalidRequest",
    "MethodNotFound",
    "InvalidParams",
    "Internal",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Timeout",
    "Overloaded",
    "Unavailable",
    "Upstream",
    "FrameTooLarge",
    "ShuttingDown",
    "Tampered",
    "TransportError",
    "NotRunning",
    "Refused",
    "Unresponsive",
    "ConnectionLost",
    "error_from_wire",
]


class ContinuumError(Exception):
    """A call failed.

    Attributes (all from the daemon's ``error`` object when it answered):

    - ``code``: the JSON-RPC code (``-32602``), ``None`` for client-side failures.
    - ``kind``: the stable snake_case name (``"invalid_params"``).
    - ``message``: the daemon's human-readable message.
    - ``field``: JSON pointer into params of the field at fault (``"/count"``), or ``None``.
    - ``reason``: why, for humans (or a reason code such as ``"owner_only"``), or ``None``.
    - ``suggestions``: did-you-mean names (unknown commands), possibly empty.
    - ``detail``: anything else machine-readable, or ``None``.
    - ``data``: the whole ``error.data`` object (a dict, possibly empty).
    """

    #: The wire code this class stands for (``None``: not a wire error).
    code: Optional[int] = None
    #: The wire kind this class stands for.
    kind: str = "unknown"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[int] = None,
        data: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.data: Dict[str, Any] = dict(data or {})
        if code is not None:
            self.code = code
        kind = self.data.get("kind")
        if isinstance(kind, str) and kind:
            self.kind = kind
        self.field: Optional[str] = self.data.get("field")
        self.reason: Optional[str] = self.data.get("reason")
        self.suggestions: List[str] = list(self.data.get("suggestions") or [])
        self.detail: Any = self.data.get("detail")

    def __str__(self) -> str:
        if self.field and self.field not in self.message:
            return f"{self.message} (field {self.field})"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r}, kind={self.kind!r})"


class ParseError(ContinuumError):
    """The frame was not valid JSON."""

    code = -32700
    kind = "parse_error"


class InvalidRequest(ContinuumError):
    """Valid JSON, but not a JSON-RPC 2.0 request."""

    code = -32600
    kind = "invalid_request"


class MethodNotFound(ContinuumError):
    """No command has this name; ``suggestions`` has close names."""

    code = -32601
    kind = "method_not_found"


class InvalidParams(ContinuumError):
    """Params failed validation; ``field`` names the field, ``reason`` says why."""

    code = -32602
    kind = "invalid_params"


class Internal(ContinuumError):
    """A bug in the daemon: a handler panicked or an invariant broke."""

    code = -32603
    kind = "internal"


class Forbidden(ContinuumError):
    """The caller may not run this command (``reason`` says why)."""

    code = -32000
    kind = "forbidden"


class NotFound(ContinuumError):
    """The thing the command addresses does not exist."""

    code = -32001
    kind = "not_found"


class Conflict(ContinuumError):
    """The command conflicts with existing state."""

    code = -32002
    kind = "conflict"


class Timeout(ContinuumError):
    """The command ran out of time (its limit in the daemon)."""

    code = -32003
    kind = "timeout"


class Overloaded(ContinuumError):
    """The command's concurrency limit is reached; retry later."""

    code = -32004
    kind = "overloaded"


class Unavailable(ContinuumError):
    """A store or dependency the command needs is unavailable."""

    code = -32005
    kind = "unavailable"


class Upstream(ContinuumError):
    """An upstream service (e.g. an inference provider) failed."""

    code = -32006
    kind = "upstream"


class FrameTooLarge(ContinuumError):
    """The request exceeded the daemon's frame size limit."""

    code = -32007
    kind = "frame_too_large"


class ShuttingDown(ContinuumError):
    """The daemon is shutting down and accepts no new work."""

    code = -32008
    kind = "shutting_down"


class Tampered(ContinuumError):
    """A tamper-evident record failed its check (``detail`` says where)."""

    code = -32009
    kind = "tampered"


_WIRE_CLASSES = [
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    Internal,
    Forbidden,
    NotFound,
    Conflict,
    Timeout,
    Overloaded,
    Unavailable,
    Upstream,
    FrameTooLarge,
    ShuttingDown,
    Tampered,
]
_BY_CODE = {cls.code: cls for cls in _WIRE_CLASSES}
_BY_KIND = {cls.kind: cls for cls in _WIRE_CLASSES}


class TransportError(ContinuumError):
    """The call did not get an answer from the daemon (nothing was decided)."""

    kind = "transport"


class NotRunning(TransportError):
    """Nothing listens on the socket: start the daemon with ``cu start``."""

    kind = "not_running"


class Refused(TransportError):
    """The socket exists but this user may not use it (another user's daemon)."""

    kind = "refused"


class Unresponsive(TransportError):
    """The daemon stopped answering (it no longer answers a ping either)."""

    kind = "unresponsive"


class ConnectionLost(TransportError):
    """The connection broke, or the daemon sent something that is not JSON-RPC."""

    kind = "connection_lost"


def error_from_wire(error: Any) -> ContinuumError:
    """The typed exception for a JSON-RPC ``error`` object.

    The class is chosen by ``code``, then by ``data.kind``; an unknown code
    gives a plain :class:`ContinuumError` that still carries code and data.
    """
    if not isinstance(error, Mapping):
        return ConnectionLost(f"malformed error object from the daemon: {error!r}")
    code = error.get("code")
    data = error.get("data")
    if not isinstance(data, Mapping):
        data = {}
    message = error.get("message")
    if not isinstance(message, str):
        message = str(message)
    cls = _BY_CODE.get(code) or _BY_KIND.get(data.get("kind")) or ContinuumError
    return cls(message, code=code if isinstance(code, int) else None, data=data)
