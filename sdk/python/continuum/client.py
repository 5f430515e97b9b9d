"""The client: calls, streams and attribute access over the daemon's socket."""

import itertools
import os
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from .commands import Catalog, CommandGroup, command_function, wire_params
from .connection import Connection
from .errors import ContinuumError

#: Trust levels a client may cap itself at (``meta.maxTrust``), lowest first.
TRUST_LEVELS = ("blocked", "provisional", "trusted", "owner")


def home_dir(home: Union[str, "os.PathLike[str]", None] = None) -> Path:
    """The daemon home: ``home``, else ``$CONTINUUM_HOME``, else ``~/.continuum``."""
    if home is not None and str(home) != "":
        return Path(home).expanduser()
    env = os.environ.get("CONTINUUM_HOME")
    if env:
        return Path(env)
    return Path.home() / ".continuum"


def socket_path(home: Union[str, "os.PathLike[str]", None] = None) -> Path:
    """The daemon's socket in ``home`` (see :func:`home_dir`): ``run/core.sock``."""
    return home_dir(home) / "run" / "core.sock"


def connect(
    home: Union[str, "os.PathLike[str]", None] = None, max_trust: Optional[str] = None
) -> "Client":
    """Connects to the daemon of ``home`` (default ``$CONTINUUM_HOME`` or
    ``~/.continuum``).

    ``max_trust`` (``"provisional"``, ``"trusted"``, ...) makes every call
    run with at most that trust: a program acting for an AI agent sets it so
    the agent gets no more than it should. It can only lower trust.

    Raises :class:`continuum.NotRunning` when no daemon listens there.
    """
    return Client(str(socket_path(home)), max_trust=max_trust)


class Client:
    """One connection to the daemon.

    - ``client.call("data/list", collection="notes")`` returns the result.
    - ``client.data.list(collection="notes")`` is the same, through
      attributes built from ``commands/list`` (see :mod:`continuum.commands`).
    - ``client.stream("chat/history", room="lobby", follow=True)`` iterates a
      streaming command's events on a connection of its own.

    Thread safety: a client may be shared by threads. Its calls go one at a
    time over its single connection (a lock is held for each call, from
    request to answer); streams use their own connections and run alongside.
    For calls in parallel, use one client per thread.
    """

    def __init__(self, socket_path: str, max_trust: Optional[str] = None) -> None:
        if max_trust is not None and max_trust not in TRUST_LEVELS:
            raise ValueError(
                f"max_trust must be one of {', '.join(TRUST_LEVELS)}, not {max_trust!r}"
            )
        self.socket_path = socket_path
        self.max_trust = max_trust
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._catalog_cache: Optional[Catalog] = None
        self._functions: Dict[str, Callable[..., Any]] = {}
        self._connection: Optional[Connection] = Connection(socket_path)

    def call(
        self, method: str, params: Optional[Mapping[str, Any]] = None, /, **kwargs: Any
    ) -> Any:
        """Calls ``method`` and returns its result (usually a dict).

        Params come as a dict (sent as is), as keyword arguments (names in
        snake_case are sent in camelCase: ``max_tokens`` -> ``maxTokens``), or
        both. A failure raises its typed :class:`continuum.ContinuumError`.

        A streaming command's events are dropped here; iterate them with
        :meth:`stream` (a follow, which never ends by itself, needs it).
        After a broken connection the next call connects again.
        """
        payload = wire_params((params,) if params is not None else (), kwargs)
        with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = Connection(self.socket_path)
            connection = self._connection
            request_id = next(self._ids)
            try:
                connection.send(self._request(request_id, method, payload))
                while True:
                    kind, value = connection.receive(request_id)
                    if kind == "result":
                        return value
            except ContinuumError:
                raise  # a wire error leaves the connection in step; a transport error closed it
            except BaseException:
                # Interrupted halfway (KeyboardInterrupt, ...): the line may be
                # half written or the answer half read, so start afresh.
                connection.close()
                raise

    def stream(
        self, method: str, params: Optional[Mapping[str, Any]] = None, /, **kwargs: Any
    ) -> "Stream":
        """Calls ``method`` on a connection of its own and returns a
        :class:`Stream` over its ``$/stream`` events.

        ::

            with client.stream("chat/history", room="lobby", follow=True) as events:
                for event in events:
                    print(event["message"]["text"])

        Closing the stream (or leaving the ``with`` block, or breaking out of
        a ``for`` over it and dropping it) hangs up, which ends a follow in
        the daemon.
        """
        payload = wire_params((params,) if params is not None else (), kwargs)
        connection = Connection(self.socket_path)
        request_id = next(self._ids)
        try:
            connection.send(self._request(request_id, method, payload))
        except BaseException:
            connection.close()
            raise
        return Stream(connection, request_id, method)

    def refresh(self) -> None:
        """Forgets the cached ``commands/list``, so attributes see new commands."""
        self._catalog_cache = None
        self._functions = {}

    def close(self) -> None:
        """Closes the connection (a later call connects again)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        trust = f", max_trust={self.max_trust!r}" if self.max_trust else ""
        return f"<continuum.Client {self.socket_path}{trust}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._resolve((name,))

    def __dir__(self) -> List[str]:
        names = set(super().__dir__())
        try:
            names.update(self._catalog().children(()))
        except ContinuumError:
            pass
        return sorted(names)

    def _request(self, request_id: int, method: str, params: Dict[str, Any]) -> Dict[str, Any]:
        request: Dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": method,
            "params": params,
        }
        if self.max_trust is not None:
            request["meta"] = {"maxTrust": self.max_trust}
        return request

    def _catalog(self) -> Catalog:
        catalog = self._catalog_cache
        if catalog is None:
            catalog = Catalog(self.call("commands/list").get("commands", []))
            self._catalog_cache = catalog
        return catalog

    def _resolve(self, path: tuple, leaf: bool = False) -> Any:
        """What ``client.<path>`` is: a command's function or a group."""
        for attempt in range(2):
            catalog = self._catalog()
            name = catalog.command_at(path)
            if not leaf and catalog.is_group(path):
                return CommandGroup(self, path)
            if name is not None:
                return self._function(catalog, name)
            if attempt == 0:
                self.refresh()  # the daemon may have gained the command since
        dotted = ".".join(path)
        near = catalog.close_names(path)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        scope = f" at max_trust={self.max_trust!r}" if self.max_trust else ""
        raise AttributeError(
            f"no command {dotted!r} that this client may call{scope}{hint} "
            "(commands/list shows them; client.call(name, ...) takes any name)"
        )

    def _function(self, catalog: Catalog, name: str) -> Callable[..., Any]:
        function = self._functions.get(name)
        if function is None:
            function = command_function(catalog.descriptors[name], self.call, self.stream)
            self._functions[name] = function
        return function


class Stream:
    """The events of one streaming call, in order, on a connection of its own.

    Iterating yields each ``$/stream`` event (a dict). When the final answer
    arrives the iteration ends and :attr:`result` holds it (it is also the
    ``StopIteration`` value, so ``result = yield from stream`` works); an
    error answer raises its typed exception instead. :meth:`close` hangs up
    early. One thread should consume a stream.
    """

    def __init__(self, connection: Connection, request_id: int, method: str) -> None:
        self.method = method
        #: The call's result, once the stream has ended with one.
        self.result: Any = None
        #: Whether the final answer arrived.
        self.done = False
        self._connection: Optional[Connection] = connection
        self._id = request_id

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> Any:
        connection = self._connection
        if connection is None or connection.closed:
            raise StopIteration(self.result)
        try:
            kind, value = connection.receive(self._id)
        except BaseException:
            self.close()
            raise
        if kind == "event":
            return value
        self.result = value
        self.done = True
        self.close()
        raise StopIteration(value)

    @property
    def closed(self) -> bool:
        """Whether the stream's connection is closed (ended or hung up)."""
        return self._connection is None or self._connection.closed

    def close(self) -> None:
        """Hangs up: the daemon sees the client go and ends the call."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "done" if self.done else "closed" if self.closed else "open"
        return f"<continuum.Stream {self.method} ({state})>"
