"""The SDK's pure mappings, no daemon needed: wire errors to exception
classes, command names to attributes, keyword names to params."""

import unittest

import continuum
from continuum.commands import Catalog, camel_case, command_doc, python_path, wire_params

# The wire's codes and kinds (crates/continuum-wire/src/error.rs): released
# numbers never change, and each has its own class.
WIRE_ERRORS = {
    -32700: ("parse_error", continuum.ParseError),
    -32600: ("invalid_request", continuum.InvalidRequest),
    -32601: ("method_not_found", continuum.MethodNotFound),
    -32602: ("invalid_params", continuum.InvalidParams),
    -32603: ("internal", continuum.Internal),
    -32000: ("forbidden", continuum.Forbidden),
    -32001: ("not_found", continuum.NotFound),
    -32002: ("conflict", continuum.Conflict),
    -32003: ("timeout", continuum.Timeout),
    -32004: ("overloaded", continuum.Overloaded),
    -32005: ("unavailable", continuum.Unavailable),
    -32006: ("upstream", continuum.Upstream),
    -32007: ("frame_too_large", continuum.FrameTooLarge),
    -32008: ("shutting_down", continuum.ShuttingDown),
    -32009: ("tampered", continuum.Tampered),
}


class ErrorMappingTest(unittest.TestCase):
    def test_every_wire_code_has_its_own_class(self):
        for code, (kind, cls) in WIRE_ERRORS.items():
            err = continuum.error_from_wire({"code": code, "message": "m", "data": {"kind": kind}})
            self.assertIs(type(err), cls, code)
            self.assertEqual((err.code, err.kind), (code, kind))
            self.assertEqual((cls.code, cls.kind), (code, kind))
            self.assertIsInstance(err, continuum.ContinuumError)

    def test_the_error_data_is_exposed(self):
        err = continuum.error_from_wire(
            {
                "code": -32602,
                "message": "invalid params: /count: too big",
                "data": {
                    "kind": "invalid_params",
                    "field": "/count",
                    "reason": "too big",
                    "detail": {"max": 3},
                },
            }
        )
        self.assertEqual((err.field, err.reason, err.detail), ("/count", "too big", {"max": 3}))
        self.assertEqual(err.suggestions, [])
        self.assertEqual(str(err), "invalid params: /count: too big")

    def test_the_field_is_added_to_a_message_that_lacks_it(self):
        err = continuum.error_from_wire({"code": -32602, "message": "bad", "data": {"field": "/x"}})
        self.assertEqual(str(err), "bad (field /x)")

    def test_an_unknown_code_is_a_plain_continuum_error_keeping_its_data(self):
        err = continuum.error_from_wire(
            {"code": -31999, "message": "new", "data": {"kind": "brand_new"}}
        )
        self.assertIs(type(err), continuum.ContinuumError)
        self.assertEqual((err.code, err.kind), (-31999, "brand_new"))

    def test_a_known_kind_with_an_unknown_code_uses_the_kind(self):
        err = continuum.error_from_wire({"code": 1, "message": "m", "data": {"kind": "not_found"}})
        self.assertIsInstance(err, continuum.NotFound)

    def test_client_side_failures_are_transport_errors_without_a_code(self):
        for cls in (
            continuum.NotRunning,
            continuum.Refused,
            continuum.Unresponsive,
            continuum.ConnectionLost,
        ):
            self.assertTrue(issubclass(cls, continuum.TransportError))
            self.assertIsNone(cls("m").code)


class NameMappingTest(unittest.TestCase):
    def test_slashes_become_dots_and_dashes_underscores(self):
        self.assertEqual(python_path("data/clear-all"), ("data", "clear_all"))
        self.assertEqual(python_path("grid/grant/issue"), ("grid", "grant", "issue"))
        self.assertEqual(python_path("ping"), ("ping",))

    def test_snake_case_keywords_become_camel_case(self):
        self.assertEqual(camel_case("max_tokens"), "maxTokens")
        self.assertEqual(camel_case("system_prompt_text"), "systemPromptText")
        self.assertEqual(camel_case("maxTokens"), "maxTokens")
        self.assertEqual(camel_case("room"), "room")
        self.assertEqual(camel_case("from_"), "from")

    def test_known_property_names_are_kept_and_unknown_ones_sent_as_written(self):
        known = ["maxTokens", "snake_prop"]
        self.assertEqual(
            wire_params((), {"max_tokens": 1, "snake_prop": 2, "bogus_name": 3}, known),
            {"maxTokens": 1, "snake_prop": 2, "bogus_name": 3},
        )

    def test_a_positional_dict_is_sent_as_written_and_keywords_override_it(self):
        self.assertEqual(wire_params(({"a_b": 1, "c": 2},), {"c": 3}), {"a_b": 1, "c": 3})
        with self.assertRaises(TypeError):
            wire_params(("not a dict",), {})

    def test_the_catalog_finds_commands_groups_and_close_names(self):
        catalog = Catalog([{"name": "data/list"}, {"name": "data/clear-all"}, {"name": "ping"}])
        self.assertEqual(catalog.command_at(("data", "clear_all")), "data/clear-all")
        self.assertTrue(catalog.is_group(("data",)))
        self.assertFalse(catalog.is_group(("ping",)))
        self.assertEqual(catalog.children(()), ["data", "ping"])
        self.assertIn("data.list", catalog.close_names(("data", "lst")))

    def test_the_docstring_lists_required_params_first_with_their_types(self):
        doc = command_doc(
            {
                "name": "x/y",
                "description": "Does y.",
                "access": "ai_safe",
                "streaming": True,
                "paramsSchema": {
                    "properties": {
                        "after": {"type": ["integer", "null"], "description": "A cursor."},
                        "order": {"$ref": "#/$defs/Order"},
                        "room": {"type": "string", "description": "The room."},
                    },
                    "required": ["room"],
                    "$defs": {"Order": {"oneOf": [{"const": "asc"}, {"const": "desc"}]}},
                },
            }
        )
        lines = doc.splitlines()
        self.assertEqual(lines[0], "x/y: Does y.")
        params = lines[lines.index("Params:") + 1 :]
        self.assertEqual(params[0].strip(), "room (string, required): The room.")
        self.assertEqual(params[1].strip(), "after (integer|null): A cursor.")
        self.assertEqual(params[2].strip(), 'order ("asc"|"desc")')
        self.assertIn("streaming", doc)


if __name__ == "__main__":
    unittest.main()
