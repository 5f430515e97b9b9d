"""The Python SDK against the real daemon: calls, attribute access, typed
errors, streams and threads. Each class starts its own daemon in a temporary
home with the repo's `cu` (see harness.py); the binaries must be built
(`cargo build --workspace --bins`), or every test here fails saying so.

The real-model streaming test needs CONTINUUM_TEST_LLM_URL, like the Rust
e2e suite: it skips without it, and fails under CI instead.
"""

import inspect
import os
import pydoc
import signal
import tempfile
import threading
import time
import unittest
import uuid

import continuum
from continuum.connection import LIVENESS_INTERVAL

from .harness import Daemon, DaemonTestCase, llm_url


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class CallTest(DaemonTestCase):
    def test_call_returns_the_result_as_a_dict(self):
        collection = unique("notes")
        created = self.client.call("data/create", collection=collection, data={"title": "x"})
        listed = self.client.call("data/list", collection=collection)
        self.assertIsInstance(listed, dict)
        self.assertEqual(listed["count"], 1)
        self.assertEqual(listed["documents"][0]["id"], created["id"])

    def test_a_params_dict_and_keywords_combine(self):
        result = self.client.call("ping", {"message": "from the dict"})
        self.assertEqual(result["message"], "from the dict")
        result = self.client.call("ping", {"message": "dict"}, message="keyword wins")
        self.assertEqual(result["message"], "keyword wins")

    def test_attributes_reach_top_level_and_nested_commands(self):
        self.assertEqual(self.client.ping(message="hi")["message"], "hi")
        collection = unique("nested")
        self.client.data.create(collection=collection, data={"n": 1})
        self.assertEqual(self.client.data.list(collection=collection)["count"], 1)
        room = unique("room")
        self.client.room.create(name=room)
        self.assertEqual(self.client.chat.history(room=room)["messages"], [])
        self.assertIn("grants", self.client.grid.grant.list())

    def test_a_dash_in_a_name_is_an_underscore_in_the_attribute(self):
        clear_all = self.client.data.clear_all
        self.assertEqual(clear_all.descriptor["name"], "data/clear-all")
        # confirm=False is refused by the command itself, which proves the
        # call reached data/clear-all without deleting anything.
        with self.assertRaises(continuum.InvalidParams) as caught:
            clear_all(confirm=False)
        self.assertEqual(caught.exception.field, "/confirm")

    def test_snake_case_keywords_are_sent_in_camel_case(self):
        room = unique("snake")
        self.client.room.create(name=room, hop_budget=2)
        self.assertEqual(self.client.chat.history(room=room, wait_ms=1)["messages"], [])
        self.assertEqual(self.client.call("chat/history", room=room, wait_ms=1)["messages"], [])
        # camelCase works as well.
        self.assertEqual(self.client.chat.history(room=room, waitMs=1)["messages"], [])

    def test_a_params_dict_is_sent_as_written(self):
        with self.assertRaises(continuum.InvalidParams) as caught:
            self.client.call("ping", {"no_such_param": 1})
        self.assertEqual(caught.exception.field, "/no_such_param")

    def test_help_shows_the_description_and_params_from_the_schema(self):
        doc = pydoc.render_doc(self.client.data.list, renderer=pydoc.plaintext)
        description = self.client.commands.list(name="data/list")["commands"][0]["description"]
        self.assertIn(description, doc)
        self.assertIn("collection (string, required)", doc)
        parameters = inspect.signature(self.client.data.list).parameters
        self.assertIn("collection", parameters)
        self.assertIs(parameters["collection"].default, inspect.Parameter.empty)
        self.assertEqual(self.client.ping.__name__, "ping")

    def test_an_unknown_attribute_names_close_commands(self):
        with self.assertRaises(AttributeError) as caught:
            self.client.data.lst
        self.assertIn("data.list", str(caught.exception))
        with self.assertRaises(AttributeError) as caught:
            self.client.dta
        self.assertIn("data", str(caught.exception))
        self.assertFalse(hasattr(self.client, "no_such_family"))

    def test_families_are_listed_by_dir(self):
        self.assertIn("data", dir(self.client))
        self.assertIn("clear_all", dir(self.client.data))

    def test_a_capped_client_sees_attributes_only_for_what_it_may_call(self):
        with self.daemon.connect(max_trust="provisional") as capped:
            self.assertIn("pong", capped.ping())
            self.assertTrue(hasattr(capped.data, "list"))
            self.assertFalse(hasattr(capped.data, "clear_all"))
            self.assertFalse(hasattr(capped, "audit"))

    def test_the_connection_stays_usable_after_an_error(self):
        with self.assertRaises(continuum.MethodNotFound):
            self.client.call("no/such/command")
        self.assertTrue(self.client.ping()["pong"])


class ErrorTest(DaemonTestCase):
    def test_invalid_params_names_the_field_and_reason(self):
        with self.assertRaises(continuum.InvalidParams) as caught:
            self.client.data.list(collection="x", limit="many")
        err = caught.exception
        self.assertIsInstance(err, continuum.ContinuumError)
        self.assertEqual(err.code, -32602)
        self.assertEqual(err.kind, "invalid_params")
        self.assertEqual(err.field, "/limit")
        self.assertTrue(err.reason)
        self.assertEqual(err.data["field"], "/limit")

    def test_a_missing_required_param_is_named(self):
        with self.assertRaises(continuum.InvalidParams) as caught:
            self.client.data.list()
        self.assertEqual(caught.exception.field, "/collection")

    def test_an_unknown_method_suggests_close_names(self):
        with self.assertRaises(continuum.MethodNotFound) as caught:
            self.client.call("data/lst")
        self.assertEqual(caught.exception.code, -32601)
        self.assertIn("data/list", caught.exception.suggestions)

    def test_an_owner_only_command_is_forbidden_under_a_lower_max_trust(self):
        with self.daemon.connect(max_trust="provisional") as capped:
            with self.assertRaises(continuum.Forbidden) as caught:
                capped.call("audit/tail")
        self.assertEqual(caught.exception.code, -32000)
        self.assertEqual(caught.exception.reason, "owner_only")
        # The same call as the owner goes through.
        self.assertIn("records", self.client.audit.tail(limit=1))

    def test_a_missing_thing_is_not_found(self):
        with self.assertRaises(continuum.NotFound):
            self.client.data.read(collection=unique("none"), id="nope")

    def test_a_conflict_is_a_conflict(self):
        room = unique("twice")
        self.client.room.create(name=room)
        with self.assertRaises(continuum.Conflict):
            self.client.room.create(name=room)

    def test_an_unknown_trust_level_is_refused_before_connecting(self):
        with self.assertRaises(ValueError):
            self.daemon.connect(max_trust="root")


class NotRunningTest(unittest.TestCase):
    def test_connecting_to_a_home_without_a_daemon_raises_not_running(self):
        with tempfile.TemporaryDirectory(prefix="cu-sdk-", dir="/tmp") as home:
            with self.assertRaises(continuum.NotRunning) as caught:
                continuum.connect(home)
        self.assertIsInstance(caught.exception, continuum.TransportError)
        self.assertIn("cu start", str(caught.exception))

    def test_the_next_call_after_a_restart_connects_again(self):
        daemon = Daemon()
        self.addCleanup(daemon.stop)
        daemon.start()
        client = daemon.connect()
        self.addCleanup(client.close)
        self.assertTrue(client.ping()["pong"])
        self.assertEqual(daemon.cu("stop").returncode, 0)
        with self.assertRaises(continuum.TransportError):
            client.ping()
        daemon.start()
        self.assertTrue(client.ping()["pong"])


class LivenessTest(DaemonTestCase):
    """A wait lasts as long as the daemon stays alive (it is pinged every
    LIVENESS_INTERVAL seconds), and ends when it stops answering."""

    def test_a_quiet_follow_outlives_the_liveness_interval(self):
        room = unique("quiet")
        self.client.room.create(name=room)
        events = self.client.stream("chat/history", room=room, follow=True)
        self.addCleanup(events.close)
        poster = threading.Timer(
            LIVENESS_INTERVAL + 0.5, self.client.chat.send, kwargs={"room": room, "text": "late"}
        )
        poster.start()
        self.addCleanup(poster.cancel)
        self.assertEqual(next(events)["message"]["text"], "late")

    def test_a_hung_daemon_is_unresponsive(self):
        pid = int((self.daemon.home / "run" / "core.pid").read_text().strip())
        os.kill(pid, signal.SIGSTOP)
        try:
            with self.assertRaises(continuum.Unresponsive):
                self.client.ping()
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertTrue(self.client.ping()["pong"])


class StreamTest(DaemonTestCase):
    def chat_history_calls(self) -> int:
        # Metrics count a call when it completes: a follow is counted once
        # the daemon has ended it.
        listed = self.client.system.metrics(filter="chat/history")["commands"]
        return listed[0]["calls"] if listed else 0

    def test_a_follow_yields_messages_posted_while_it_runs(self):
        room = unique("follow")
        self.client.room.create(name=room)
        with self.client.stream("chat/history", room=room, follow=True) as events:
            # The main client keeps calling while the stream is open.
            self.client.chat.send(room=room, text="first")
            self.client.chat.send(room=room, text="second")
            texts = [next(events)["message"]["text"], next(events)["message"]["text"]]
        self.assertEqual(texts, ["first", "second"])
        self.assertTrue(events.closed)
        self.assertFalse(events.done)

    def test_closing_a_follow_ends_it_in_the_daemon(self):
        room = unique("hangup")
        self.client.room.create(name=room)
        self.client.chat.send(room=room, text="backlog")
        before = self.chat_history_calls()
        events = self.client.chat.history.stream(room=room, follow=True)
        self.assertEqual(next(events)["message"]["text"], "backlog")
        self.assertEqual(self.chat_history_calls(), before, "the follow is still running")
        events.close()
        deadline = time.monotonic() + 10
        while self.chat_history_calls() == before and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.chat_history_calls(), before + 1, "the daemon ended the follow")
        self.assertTrue(self.client.ping()["pong"])
        with self.assertRaises(StopIteration):
            next(events)

    def test_a_finished_stream_ends_with_the_result(self):
        room = unique("done")
        self.client.room.create(name=room)
        self.client.chat.send(room=room, text="kept")
        events = self.client.stream("chat/history", room=room)
        self.assertEqual(list(events), [])
        self.assertTrue(events.done)
        self.assertEqual(events.result["messages"][0]["text"], "kept")

        def consume():
            return (yield from self.client.chat.history.stream(room=room))

        gen = consume()
        with self.assertRaises(StopIteration) as stopped:
            next(gen)
        self.assertEqual(stopped.exception.value["messages"][0]["text"], "kept")

    def test_a_stream_that_fails_raises_the_typed_error(self):
        events = self.client.stream("chat/history", room=unique("absent"), follow=True)
        with self.assertRaises(continuum.NotFound):
            next(events)
        self.assertTrue(events.closed)

    def test_a_stream_honours_max_trust(self):
        with self.daemon.connect(max_trust="provisional") as capped:
            with self.assertRaises(continuum.Forbidden):
                list(capped.stream("audit/tail"))


class ThreadTest(DaemonTestCase):
    def test_threads_sharing_a_client_each_get_their_own_answer(self):
        failures = []

        def worker(n: int) -> None:
            try:
                for i in range(20):
                    message = f"{n}-{i}"
                    echoed = self.client.ping(message=message)["message"]
                    if echoed != message:
                        failures.append((message, echoed))
            except Exception as err:  # reported below, not lost in the thread
                failures.append(err)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(failures, [])


class RealModelStreamTest(unittest.TestCase):
    """`ai/generate` streaming from a real small model (scripts/ci/llm-server.sh)."""

    def test_generate_streams_deltas_that_add_up_to_the_result(self):
        url = llm_url()
        if url is None:
            self.skipTest("set CONTINUUM_TEST_LLM_URL (scripts/ci/llm-server.sh)")
        providers = f'[providers.local]\nkind = "openai"\nbase_url = "{url}"\nmodel = "smollm2"\n'
        daemon = Daemon(files={"providers.toml": providers})
        self.addCleanup(daemon.stop)
        daemon.start()
        with daemon.connect() as client:
            events = client.ai.generate.stream(
                provider="local", prompt="Say hi", max_tokens=16, temperature=0, stream=True
            )
            deltas = [event["text"] for event in events if "text" in event]
        self.assertTrue(events.done)
        self.assertGreaterEqual(len(deltas), 2, f"expected several deltas, got {deltas!r}")
        self.assertEqual("".join(deltas), events.result["text"])


if __name__ == "__main__":
    unittest.main()
