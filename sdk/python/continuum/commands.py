"""Attribute access built at run time from ``commands/list``.

No code is generated per command: the daemon's catalog (name, description,
params schema, streaming flag) is read once per client, and each attribute
lookup walks it. ``data/clear-all`` is reached as ``client.data.clear_all``
(a ``/`` becomes a ``.``, a ``-`` a ``_``); the function built for it carries
a docstring and signature made from the command's schema, so ``help()``
shows its description and params.

Keyword names are the params' camelCase names (``maxTokens``); the
snake_case form (``max_tokens``) is accepted too, as is a trailing ``_`` on a
name that is a Python keyword (``from_``).
"""

import difflib
import inspect
import keyword
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

Path = Tuple[str, ...]


def python_path(name: str) -> Path:
    """The attribute path of a command name: ``data/clear-all`` -> ``("data", "clear_all")``."""
    return tuple(re.sub(r"\W", "_", segment) for segment in name.split("/"))


def camel_case(key: str) -> str:
    """``max_tokens`` -> ``maxTokens``; ``from_`` -> ``from``; camelCase is unchanged."""
    if key.startswith("_"):
        return key
    if key.endswith("_") and keyword.iskeyword(key[:-1]):
        return key[:-1]
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_params(
    args: Tuple[Any, ...], kwargs: Mapping[str, Any], known: Optional[Iterable[str]] = None
) -> Dict[str, Any]:
    """The params object for a call: an optional positional dict (sent as
    is), updated with the keyword arguments under their wire names.

    With ``known`` (the schema's property names) a keyword already named as
    a property is kept, and any other is mapped to camelCase only when that
    names a property, so an unknown name reaches the daemon as written and
    its error names it. Without ``known`` every keyword is mapped.
    """
    if len(args) > 1:
        raise TypeError(
            f"expected at most one positional argument (a params dict), got {len(args)}"
        )
    params: Dict[str, Any] = {}
    if args:
        if args[0] is not None and not isinstance(args[0], Mapping):
            raise TypeError(f"params must be a dict, not {type(args[0]).__name__}")
        params.update(args[0] or {})
    names = set(known) if known is not None else None
    for key, value in kwargs.items():
        if names is None:
            params[camel_case(key)] = value
        elif key in names:
            params[key] = value
        else:
            wire = camel_case(key)
            params[wire if wire in names else key] = value
    return params


class Catalog:
    """The commands one caller may call, indexed by attribute path."""

    def __init__(self, descriptors: Iterable[Mapping[str, Any]]) -> None:
        self.descriptors: Dict[str, Mapping[str, Any]] = {}
        self._by_path: Dict[Path, str] = {}
        self._children: Dict[Path, List[str]] = {}
        for descriptor in descriptors:
            name = descriptor["name"]
            self.descriptors[name] = descriptor
            path = python_path(name)
            self._by_path[path] = name
            for depth in range(len(path)):
                children = self._children.setdefault(path[:depth], [])
                if path[depth] not in children:
                    children.append(path[depth])

    def command_at(self, path: Path) -> Optional[str]:
        """The command name at ``path``, if one is there."""
        return self._by_path.get(path)

    def is_group(self, path: Path) -> bool:
        """Whether some command's path continues below ``path``."""
        return bool(self._children.get(path))

    def children(self, path: Path) -> List[str]:
        """The attribute names directly below ``path``."""
        return sorted(self._children.get(path, []))

    def close_names(self, path: Path) -> List[str]:
        """Dotted names close to ``path``, for an AttributeError."""
        siblings = self._children.get(path[:-1], [])
        near = [
            ".".join(path[:-1] + (s,))
            for s in difflib.get_close_matches(path[-1], siblings, n=4, cutoff=0.5)
        ]
        dotted = {".".join(p): None for p in self._by_path}
        for match in difflib.get_close_matches(".".join(path), list(dotted), n=4, cutoff=0.6):
            if match not in near:
                near.append(match)
        return near[:5]


class CommandGroup:
    """A family of commands (``client.data``, ``client.grid.grant``).

    Its attributes are the commands and sub-families below it; calling it
    calls the command of the same name, if there is one.
    """

    __slots__ = ("_client", "_path")

    def __init__(self, client: Any, path: Path) -> None:
        self._client = client
        self._path = path

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._client._resolve(self._path + (name,))

    def __dir__(self) -> List[str]:
        return self._client._catalog().children(self._path)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._client._resolve(self._path, leaf=True)(*args, **kwargs)

    def __repr__(self) -> str:
        below = ", ".join(self._client._catalog().children(self._path))
        return f"<continuum commands {'.'.join(self._path)}: {below}>"


class _Omitted:
    """Default shown in signatures for an optional param without a schema default."""

    def __repr__(self) -> str:
        return "<daemon default>"


_OMITTED = _Omitted()


def command_function(
    descriptor: Mapping[str, Any],
    call: Callable[[str, Dict[str, Any]], Any],
    stream: Callable[[str, Dict[str, Any]], Any],
) -> Callable[..., Any]:
    """A function calling the command ``descriptor`` describes, with its
    docstring and signature built from the descriptor.

    ``fn(**params)`` returns the result; ``fn.stream(**params)`` iterates the
    ``$/stream`` events (see :meth:`continuum.Client.stream`).
    """
    name = descriptor["name"]
    schema = descriptor.get("paramsSchema") or {}
    properties = schema.get("properties") or {}

    def command(*args: Any, **kwargs: Any) -> Any:
        return call(name, wire_params(args, kwargs, properties))

    def stream_command(*args: Any, **kwargs: Any) -> Any:
        return stream(name, wire_params(args, kwargs, properties))

    path = python_path(name)
    command.__name__ = path[-1]
    command.__qualname__ = ".".join(path)
    command.__doc__ = command_doc(descriptor)
    command.__signature__ = command_signature(schema)  # type: ignore[attr-defined]
    stream_command.__name__ = "stream"
    stream_command.__qualname__ = ".".join(path) + ".stream"
    stream_command.__doc__ = (
        f"Calls {name} and iterates its $/stream events (a continuum.Stream); "
        "the result is the stream's .result once it ends.\n\n" + command.__doc__
    )
    stream_command.__signature__ = command.__signature__  # type: ignore[attr-defined]
    command.stream = stream_command  # type: ignore[attr-defined]
    command.descriptor = descriptor  # type: ignore[attr-defined]
    return command


def command_signature(schema: Mapping[str, Any]) -> inspect.Signature:
    """Keyword-only parameters named as the schema's properties, required
    ones first; names that are not Python identifiers go to ``**params``."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    parameters = []
    hidden = False
    ordered = sorted(properties, key=lambda p: (p not in required, p))
    for prop in ordered:
        if not prop.isidentifier() or keyword.iskeyword(prop):
            hidden = True
            continue
        spec = properties[prop] if isinstance(properties[prop], Mapping) else {}
        if prop in required:
            default: Any = inspect.Parameter.empty
        else:
            default = spec.get("default", _OMITTED)
        parameters.append(inspect.Parameter(prop, inspect.Parameter.KEYWORD_ONLY, default=default))
    if hidden or schema.get("additionalProperties") not in (False, None):
        var = "params" if "params" not in properties else "more"
        parameters.append(inspect.Parameter(var, inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(parameters)


def command_doc(descriptor: Mapping[str, Any]) -> str:
    """The docstring: description, attributes, then one line per param."""
    name = descriptor["name"]
    lines = [f"{name}: {descriptor.get('description') or ''}".rstrip(), ""]
    traits = [f"access: {descriptor.get('access', '?')}"]
    if descriptor.get("streaming"):
        traits.append("streaming (iterate its events with .stream(...))")
    if descriptor.get("destructive"):
        traits.append("destructive")
    lines.append("; ".join(traits))
    schema = descriptor.get("paramsSchema") or {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    if properties:
        lines += ["", "Params:"]
        for prop in sorted(properties, key=lambda p: (p not in required, p)):
            spec = properties[prop] if isinstance(properties[prop], Mapping) else {}
            facts = [describe_type(spec, schema)]
            if prop in required:
                facts.append("required")
            elif spec.get("default") is not None:
                facts.append(f"default {spec['default']!r}")
            description = " ".join(str(spec.get("description") or "").split())
            lines.append(f"    {prop} ({', '.join(facts)}): {description}".rstrip(": "))
        camel = [p for p in properties if camel_case(snake_case(p)) == p and snake_case(p) != p]
        if camel:
            lines += [
                "",
                f"Keyword names may also be snake_case ({snake_case(camel[0])}={camel[0]}).",
            ]
    else:
        lines += ["", "No params."]
    return "\n".join(lines)


def snake_case(name: str) -> str:
    """``maxTokens`` -> ``max_tokens``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def describe_type(spec: Mapping[str, Any], root: Mapping[str, Any], depth: int = 0) -> str:
    """A short type name for a property schema (``integer|null``, ``"asc"|"desc"``)."""
    if "$ref" in spec:
        ref = str(spec["$ref"])
        target = _local_ref(ref, root)
        if target is None or depth > 3:  # a recursive type stops at its name
            return ref.rsplit("/", 1)[-1]
        return describe_type(target, root, depth + 1)
    if "const" in spec:
        return repr(spec["const"]).replace("'", '"')
    if "enum" in spec:
        return "|".join(repr(v).replace("'", '"') for v in spec["enum"])
    for combinator in ("oneOf", "anyOf"):
        if isinstance(spec.get(combinator), list):
            return "|".join(
                describe_type(s, root, depth + 1)
                for s in spec[combinator]
                if isinstance(s, Mapping)
            )
    kind = spec.get("type")
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    if isinstance(kind, str):
        if kind == "array" and isinstance(spec.get("items"), Mapping):
            return f"array of {describe_type(spec['items'], root, depth + 1)}"
        return kind
    return "any"


def _local_ref(ref: str, root: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Mapping) else None
