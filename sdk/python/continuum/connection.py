"""One connection to the daemon's Unix socket: JSON-RPC 2.0, one JSON
document per line (``crates/continuum-wire/src/frame.rs``).

A read waits as long as the daemon stays alive: every
:data:`LIVENESS_INTERVAL` seconds without a line, the connection pings the
daemon on a second, short-lived connection and gives up only if that ping
goes unanswered too (the same rule as ``cu``). A long answer or a quiet
stream therefore never times out, and a hung or vanished daemon is noticed.
"""

import errno
import json
import os
import socket
import time
from typing import Any, Dict, Optional, Tuple

from .errors import ConnectionLost, NotRunning, Refused, Unresponsive, error_from_wire

#: Method name of the notifications a streaming command sends before its result.
STREAM_METHOD = "$/stream"
#: Seconds without a line after which the daemon's liveness is checked.
LIVENESS_INTERVAL = 2.0
_READ_CHUNK = 64 * 1024


class Connection:
    """A socket to the daemon with line framing. Not thread-safe by itself."""

    def __init__(self, path: str, patience: Optional[float] = None) -> None:
        self.path = path
        # With a patience, give up after it instead of probing liveness.
        self._patience = patience
        self._buffer = bytearray()
        self._sock: Optional[socket.socket] = None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError) as err:
            sock.close()
            raise NotRunning(
                f"the daemon is not running (no one listens on {path}: {err.strerror}); "
                "start it with `cu start`"
            ) from None
        except PermissionError as err:
            sock.close()
            raise Refused(
                f"refused: the daemon's socket {path} belongs to another user ({err.strerror})"
            ) from None
        except OSError as err:
            sock.close()
            if err.errno == errno.ENAMETOOLONG or "too long" in str(err):
                size = len(os.fsencode(path))
                raise ValueError(
                    f"socket path too long for a Unix socket ({size} bytes): {path}"
                ) from None
            raise ConnectionLost(f"cannot connect to {path}: {err}") from None
        sock.settimeout(min(patience, LIVENESS_INTERVAL) if patience else LIVENESS_INTERVAL)
        self._sock = sock

    @property
    def closed(self) -> bool:
        return self._sock is None

    def close(self) -> None:
        """Closes the socket; the daemon sees the client hang up."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def send(self, frame: Dict[str, Any]) -> None:
        """Writes one frame."""
        sock = self._live_socket()
        line = json.dumps(frame, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"
        try:
            sock.sendall(line)
        except socket.timeout:
            self.close()
            raise Unresponsive("the daemon does not read what is sent to it") from None
        except OSError as err:
            self.close()
            raise ConnectionLost(f"connection to the daemon failed: {err}") from None

    def receive(self, request_id: int) -> Tuple[str, Any]:
        """The next frame for ``request_id``: ``("event", event)`` for a
        ``$/stream`` notification, ``("result", value)`` for the answer.

        An error answer raises its typed exception. Frames for other ids are
        skipped.
        """
        while True:
            frame = self._read_frame()
            if frame.get("method") == STREAM_METHOD:
                params = frame.get("params")
                if isinstance(params, dict) and params.get("requestId") == request_id:
                    return "event", params.get("event")
                continue
            if "result" not in frame and "error" not in frame:
                continue  # some other notification
            # `id: null` answers a request the daemon could not read: ours.
            if frame.get("id") not in (request_id, None):
                continue
            if frame.get("error") is not None:
                raise error_from_wire(frame["error"])
            return "result", frame.get("result")

    def _live_socket(self) -> socket.socket:
        if self._sock is None:
            raise ConnectionLost("the connection is closed")
        return self._sock

    def _read_frame(self) -> Dict[str, Any]:
        line = self._read_line()
        try:
            frame = json.loads(line)
        except ValueError as err:
            self.close()
            raise ConnectionLost(f"the daemon sent a line that is not JSON: {err}") from None
        if not isinstance(frame, dict):
            self.close()
            raise ConnectionLost(f"the daemon sent a frame that is not an object: {line[:200]!r}")
        return frame

    def _read_line(self) -> bytes:
        began = time.monotonic()
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            sock = self._live_socket()
            try:
                chunk = sock.recv(_READ_CHUNK)
            except socket.timeout:
                waited = time.monotonic() - began
                if self._patience is not None:
                    if waited < self._patience:
                        continue
                elif daemon_answers(self.path):
                    continue
                self.close()
                raise Unresponsive(
                    f"the daemon did not answer within {waited:.0f} s (is it stopped or hung?)"
                ) from None
            except InterruptedError:
                continue
            except OSError as err:
                self.close()
                raise ConnectionLost(f"connection to the daemon failed: {err}") from None
            if not chunk:
                self.close()
                raise ConnectionLost("the daemon closed the connection before answering")
            self._buffer += chunk


def daemon_answers(path: str) -> bool:
    """Whether the daemon answers a ping on a fresh connection in time."""
    try:
        probe = Connection(path, patience=LIVENESS_INTERVAL)
    except Exception:
        return False
    try:
        probe.send({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}})
        probe.receive(1)
        return True
    except Exception:
        return False
    finally:
        probe.close()
