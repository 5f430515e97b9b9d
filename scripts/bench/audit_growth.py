#!/usr/bin/env python3
"""Audit bytes per call, against a running daemon (Python's standard library).

Sends N identical `ping`s, then N `ping`s each with a distinct 210-byte
`forwardedFor`, and prints how much `data/audit.sqlite*` grew per call in each
case. `audit/verify` between batches flushes what is queued.

usage: CONTINUUM_HOME=... audit_growth.py [N]     (default N = 10000)
"""
import json
import os
import socket
import sys

home = os.environ["CONTINUUM_HOME"]
count = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
data = os.path.join(home, "data")


def audit_bytes():
    return sum(
        os.path.getsize(os.path.join(data, name))
        for name in os.listdir(data)
        if name.startswith("audit.sqlite")
    )


sock = socket.socket(socket.AF_UNIX)
sock.connect(os.path.join(home, "run", "core.sock"))
stream = sock.makefile("rwb")


def call(method, meta=None):
    request = {"jsonrpc": "2.0", "id": 1, "method": method}
    if meta:
        request["meta"] = meta
    stream.write(json.dumps(request).encode() + b"\n")
    stream.flush()
    return json.loads(stream.readline())


call("audit/verify")
start = audit_bytes()
for _ in range(count):
    call("ping")
call("audit/verify")
identical = audit_bytes()
for n in range(count):
    call("ping", {"forwardedFor": f"agent-{n:06d}-" + "x" * 197})
call("audit/verify")
distinct = audit_bytes()
print(f"{count} identical pings: +{identical - start} bytes ({(identical - start) / count:.1f} B/call)")
print(f"{count} distinct pings (210-byte forwardedFor): +{distinct - identical} bytes ({(distinct - identical) / count:.1f} B/call)")
