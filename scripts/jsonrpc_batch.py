#!/usr/bin/env python3
"""JSON-RPC 2.0 batches from a stock client: Python's standard library only.

Sends the batch cases of the JSON-RPC 2.0 specification (section 6 and the
examples of section 7, with this daemon's method names) over the Unix socket,
one message per connection, and prints what came back for each as one JSON
object: {"case": the answer, or null when nothing came back}.

usage: jsonrpc_batch.py SOCKET
"""
import json
import socket
import sys

CASES = {
    # Calls and notifications mixed: one array, responses only for the calls.
    "mixed": [
        {"jsonrpc": "2.0", "method": "ping", "params": {"message": "a"}, "id": "1"},
        {"jsonrpc": "2.0", "method": "ping", "params": {"message": "note"}},
        {"jsonrpc": "2.0", "method": "ping", "params": {"message": "b"}, "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "ping", "params": [42, 23], "id": "9"},
    ],
    # Only notifications: nothing at all comes back.
    "notifications": [
        {"jsonrpc": "2.0", "method": "ping", "params": {"message": "x"}},
        {"jsonrpc": "2.0", "method": "ping"},
    ],
    # An empty array: one invalid-request error, not an array.
    "empty": [],
    # A non-empty batch of non-requests: an array of invalid-request errors.
    "invalid": [1, 2, 3],
    # An unknown method with positional params: method not found, whatever the params.
    "unknown_positional": {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1},
}


def send(path, message):
    """One connection per case: send, close our side, read every answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    sock.sendall(json.dumps(message).encode() + b"\n")
    sock.shutdown(socket.SHUT_WR)
    frames = [json.loads(line) for line in sock.makefile("rb") if line.strip()]
    sock.close()
    assert len(frames) <= 1, f"more than one answer to one message: {frames}"
    return frames[0] if frames else None


print(json.dumps({name: send(sys.argv[1], message) for name, message in CASES.items()}))
