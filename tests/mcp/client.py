"""Line-driven MCP client for the e2e tests (docs/adr/0012-mcp-server.md).

    PY tests/mcp/client.py --mode legacy|2026-07-28 --url URL
    PY tests/mcp/client.py --mode legacy|2026-07-28 -- CMD ARG...

Drives the official SDK's `mcp.Client` (PyPI mcp==2.3.0, installed by
scripts/ci/setup-mcp.sh) as client `continuum-e2e`, so the bridge is checked
against a real third-party client, not against our own reading of the spec.
It connects, then reads one JSON op per stdin line and writes exactly one
JSON line per op to stdout, until stdin EOF; then it closes and exits 0.

  {"op":"info"}                 -> {"protocolVersion", "serverInfo", "capabilities"}
  {"op":"list"}                 -> {"tools": [...]}          (all pages)
  {"op":"call","name","arguments"}
                                -> {"isError","content","structuredContent","meta"}
                                 | {"protocolError": {"code","message"}}
                                 | {"exception": "Type: message"}
  {"op":"call_progress","name","arguments","count","timeout"}
                                -> {"progress": [...], "cancelled": true}
                                 | {"progress": [...], "cancelled": false, "result": {...}}
                                 | {"progress": [...], "timeout": true}
  {"op":"wait_list_changed","timeout"}
                                -> {"changed": bool}

SDK models are dumped as wire JSON (by alias, None left out); the keys shown
above are always present, null when absent. Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

CLIENT_INFO = types.Implementation(name="continuum-e2e", version="1")
MODERN = "2026-07-28"


def wire(model: Any) -> Any:
    """A pydantic model as it travels on the wire; None stays None."""
    if model is None:
        return None
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


def call_result(result: types.CallToolResult) -> dict[str, Any]:
    return {
        "isError": bool(result.is_error),
        "content": [wire(block) for block in result.content],
        "structuredContent": result.structured_content,
        "meta": result.meta,
    }


def failure(exc: Exception) -> dict[str, Any]:
    # An error response from the server (or the SDK's own CONNECTION_CLOSED /
    # REQUEST_TIMEOUT) is a protocol error; anything else, including the SDK's
    # client-side outputSchema check (RuntimeError), is reported as is.
    if isinstance(exc, MCPError):
        return {"protocolError": {"code": exc.code, "message": exc.message}}
    return {"exception": f"{type(exc).__name__}: {exc}"}


class ListChanged:
    """Counts tools/list_changed since connect; each wait consumes what it saw."""

    def __init__(self) -> None:
        self.count = 0
        self.seen = 0
        self.lost: str | None = None
        self._event = anyio.Event()

    def bump(self) -> None:
        self.count += 1
        self._event.set()

    def fail(self, reason: str) -> None:
        self.lost = reason
        self._event.set()

    async def wait(self, timeout: float) -> dict[str, Any]:
        with anyio.move_on_after(timeout):
            while self.count == self.seen and self.lost is None:
                await self._event.wait()
                self._event = anyio.Event()
        if self.count == self.seen and self.lost is not None:
            return {"exception": self.lost}
        changed = self.count > self.seen
        self.seen = self.count
        return {"changed": changed}


async def listen(client: Client, changes: ListChanged, *, task_status: Any) -> None:
    """2026-07-28: change notifications only flow on a subscriptions/listen stream.

    Counting the Subscription's events (not raw notifications) also checks the
    server stamps each frame with the listen request's subscriptionId.
    """
    started = False
    try:
        async with client.listen(tools_list_changed=True) as sub:
            if not sub.honored.tools_list_changed:
                raise RuntimeError(f"server did not honour toolsListChanged: {wire(sub.honored)}")
            task_status.started()
            started = True
            async for _event in sub:
                changes.bump()
        raise RuntimeError("the server closed the listen stream")
    except Exception as exc:  # reported by the next wait_list_changed
        changes.fail(f"{type(exc).__name__}: {exc}")
        print(f"client.py: listen: {changes.lost}", file=sys.stderr)
        if not started:
            task_status.started()


async def op_list(client: Client) -> dict[str, Any]:
    tools: list[Any] = []
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools += [wire(tool) for tool in page.tools]
        cursor = page.next_cursor
        if cursor is None:
            return {"tools": tools}


async def op_call_progress(client: Client, op: dict[str, Any]) -> dict[str, Any]:
    progress: list[dict[str, Any]] = []
    enough = anyio.Event()
    answer: dict[str, Any] = {}

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append({"progress": value, "total": total, "message": message})
        if len(progress) >= op["count"]:
            enough.set()

    async def call() -> None:
        try:
            result = await client.call_tool(op["name"], op.get("arguments") or {}, progress_callback=on_progress)
            answer.update(cancelled=False, result=call_result(result))
        except Exception as exc:
            answer.update(cancelled=False, result=failure(exc))
        enough.set()

    with anyio.move_on_after(op["timeout"]) as timer:
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await enough.wait()
            # Cancelling the scope is how the SDK cancels a request: the
            # dispatcher writes notifications/cancelled (shielded) before the
            # call unwinds; at 2026-07-28 over HTTP it aborts the POST instead.
            tg.cancel_scope.cancel()
    if answer:
        return {"progress": progress, **answer}
    if timer.cancelled_caught:
        return {"progress": progress, "timeout": True}
    return {"progress": progress, "cancelled": True}


async def run_op(client: Client, changes: ListChanged, op: dict[str, Any]) -> dict[str, Any]:
    kind = op.get("op")
    if kind == "info":
        session = client.session
        return {
            "protocolVersion": session.protocol_version,
            "serverInfo": wire(session.server_info),
            "capabilities": wire(session.server_capabilities),
        }
    if kind == "list":
        return await op_list(client)
    if kind == "call":
        # The SDK checks structuredContent against the tool's outputSchema
        # (raising RuntimeError), listing tools first if it has not seen it.
        return call_result(await client.call_tool(op["name"], op.get("arguments") or {}))
    if kind == "call_progress":
        return await op_call_progress(client, op)
    if kind == "wait_list_changed":
        return await changes.wait(op["timeout"])
    raise ValueError(f"unknown op {kind!r}")


async def serve_ops(client: Client, changes: ListChanged) -> None:
    while line := await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True):
        if not line.strip():
            continue
        try:
            answer = await run_op(client, changes, json.loads(line))
        except Exception as exc:
            answer = failure(exc)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


async def main(args: argparse.Namespace) -> None:
    changes = ListChanged()

    async def on_message(message: Any) -> None:
        # Handshake sessions get list_changed as a plain notification.
        if args.mode == "legacy" and isinstance(message, types.ToolListChangedNotification):
            changes.bump()
        elif isinstance(message, Exception):
            print(f"client.py: transport: {type(message).__name__}: {message}", file=sys.stderr)

    if args.url:
        server: Any = args.url
    else:
        # env: the SDK passes only HOME/PATH/... by default; the bridge needs
        # CONTINUUM_HOME and friends. stderr is inherited (errlog).
        server = StdioServerParameters(command=args.command[0], args=args.command[1:], env=dict(os.environ))

    client = Client(
        server,
        mode=args.mode,  # "legacy": initialize handshake; "2026-07-28": adopt that version, no probe
        client_info=CLIENT_INFO,
        message_handler=on_message,
        cache=None,  # no ttlMs-based response cache: every op reaches the server
    )
    async with client:
        if args.mode == MODERN:
            # mode="2026-07-28" adopts a synthesized DiscoverResult (no
            # capabilities, no serverInfo) without any traffic. Ask the server.
            raw = await client.session.send_discover(MODERN)
            client.session.adopt(types.DiscoverResult.model_validate(raw))
        async with anyio.create_task_group() as tg:
            caps = client.session.server_capabilities
            if args.mode == MODERN and caps is not None and caps.tools is not None and caps.tools.list_changed:
                await tg.start(listen, client, changes)
            await serve_ops(client, changes)
            tg.cancel_scope.cancel()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", required=True, choices=["legacy", MODERN])
    parser.add_argument("--url", help="streamable HTTP endpoint")
    parser.add_argument("command", nargs="*", help="stdio server command, after --")
    args = parser.parse_args()
    if bool(args.url) == bool(args.command):
        parser.error("give exactly one of --url URL or -- CMD ARG...")
    return args


if __name__ == "__main__":
    anyio.run(main, parse_args())
