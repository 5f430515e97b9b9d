#!/usr/bin/env python3
"""A stock JSON-RPC 2.0 client using only Python's standard library.

Proves the daemon speaks plain JSON-RPC over its Unix socket: no Continuum
code, just a socket, json, and one request per line.

usage: jsonrpc_ping.py SOCKET [MESSAGE]
"""
import json
import socket
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
stream = sock.makefile("rwb")
request = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"message": sys.argv[2] if len(sys.argv) > 2 else "from python"}}
stream.write(json.dumps(request).encode() + b"\n")
stream.flush()
response = json.loads(stream.readline())
assert response["jsonrpc"] == "2.0" and response["id"] == 1, response
print(json.dumps(response["result"]))
