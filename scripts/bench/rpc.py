"""Newline-delimited JSON-RPC 2.0 on the daemon's Unix socket, shared by the
bench scripts (stdlib only)."""

import itertools
import json
import socket

BATCH = 32  # requests per JSON-RPC batch in call_many
WINDOW = 4  # batches in flight in call_many


class RpcError(Exception):
    pass


class Client:
    """Newline-delimited JSON-RPC 2.0 on one persistent connection."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.ids = itertools.count(1)

    def send(self, payload):
        self.sock.sendall(json.dumps(payload, separators=(",", ":")).encode() + b"\n")

    def receive(self):
        """The next answer frame (an object or a batch array), skipping
        notifications (`$/stream`)."""
        while True:
            line = self.reader.readline()
            if not line:
                raise RpcError("the daemon closed the connection")
            frame = json.loads(line)
            if isinstance(frame, dict) and "method" in frame:
                continue
            return frame

    def request(self, method, params):
        return {"jsonrpc": "2.0", "id": next(self.ids), "method": method, "params": params}

    def call(self, method, params=None):
        request = self.request(method, params or {})
        self.send(request)
        answer = self.receive()
        return result_of(method, answer, request["id"])

    def call_many(self, method, params_list, done=None):
        """All `params_list` as batches of BATCH, WINDOW batches in flight;
        results in order."""
        requests = [self.request(method, params) for params in params_list]
        results = {}
        batches = [requests[i:i + BATCH] for i in range(0, len(requests), BATCH)]
        in_flight = 0
        for batch in batches:
            self.send(batch)
            in_flight += 1
            if in_flight == WINDOW:
                self._collect(method, results)
                in_flight -= 1
                if done:
                    done(len(results))
        while in_flight:
            self._collect(method, results)
            in_flight -= 1
        return [results[r["id"]] for r in requests]

    def close(self):
        self.reader.close()
        self.sock.close()

    def _collect(self, method, results):
        frame = self.receive()
        for answer in frame if isinstance(frame, list) else [frame]:
            results[answer.get("id")] = result_of(method, answer, answer.get("id"))


def result_of(method, answer, expected_id):
    if answer.get("id") != expected_id:
        raise RpcError(f"{method}: answer for id {answer.get('id')}, expected {expected_id}")
    if "error" in answer:
        raise RpcError(f"{method}: {answer['error']}")
    return answer["result"]
