"""Event contracts: versioned pydantic models, the registry that names them, upcasters.

A contract is a small frozen record whose class says its CloudEvents ``type`` and its
version. Old versions found in a store or on a topic are lifted to the current version
by upcasters before they are validated, so code only ever sees the newest shape.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]


class Event(BaseModel):
    """Base of every event contract. Subclasses set ``type_name`` and ``version``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str]
    version: ClassVar[int] = 1


E = TypeVar("E", bound=type[Event])

# JSON-schema keywords that describe no value of their own (what is left says what may be
# there: a schema with none of ``_SHAPED`` admits anything, floats included).
_SHAPED = frozenset({"type", "$ref", "anyOf", "allOf", "oneOf", "enum", "const"})
_NESTED = ("items", "additionalProperties", "prefixItems", "anyOf", "allOf", "oneOf")


def _float_free(schema: Any) -> bool:
    if isinstance(schema, bool):
        return not schema  # ``true``: any value at all
    if isinstance(schema, list):
        return all(_float_free(s) for s in schema)
    if not isinstance(schema, dict) or not _SHAPED & schema.keys():
        return False
    kind = schema.get("type")
    if kind == "number" or (isinstance(kind, list) and "number" in kind):
        return False
    if kind == "object" and "properties" not in schema and "additionalProperties" not in schema:
        return False  # a free-form object
    if kind == "array" and "items" not in schema and "prefixItems" not in schema:
        return False
    return all(_float_free(s) for s in schema.get("properties", {}).values()) and all(
        _float_free(schema[k]) for k in _NESTED if k in schema
    )


@functools.cache
def holds_no_float(contract: type[BaseModel]) -> bool:
    """Whether no value of ``contract`` as JSON can hold a float (so its canonical JSON may
    be written the fast way: ``libs.events.envelope.canonical_json_without_floats``). False
    whenever unsure: a float field, a value of any type, a schema that cannot be drawn."""
    try:
        schema = contract.model_json_schema(mode="serialization")
    except Exception:
        return False
    defs = schema.get("$defs", {})
    return _float_free(schema) and all(_float_free(d) for d in defs.values())


class UnknownEventType(LookupError):
    """An event type (or version) that no contract in the registry describes."""


class EventRegistry:
    """Maps ``type`` names to contracts and holds the upcasters between versions."""

    def __init__(self) -> None:
        self._contracts: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._history: dict[tuple[str, int], type[Event]] = {}

    def register(self, contract: E) -> E:
        """Class decorator: make a contract known by its type name (latest version)."""
        name = contract.type_name
        existing = self._contracts.get(name)
        if existing is not None and existing is not contract:
            raise ValueError(f"event type {name!r} is already registered by {existing!r}")
        self._contracts[name] = contract
        return contract

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: lift ``type_name`` data from ``from_version`` to ``from_version + 1``."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(type_name, from_version)] = fn
            return fn

        return decorate

    def contract(self, type_name: str) -> type[Event]:
        """The current contract for a type name."""
        try:
            return self._contracts[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None

    def knows(self, type_name: str) -> bool:
        """Whether a contract for ``type_name`` is registered."""
        return type_name in self._contracts

    def upcast(self, type_name: str, version: int, data: Data) -> Data:
        """Lift stored data of ``version`` to the contract's current version."""
        target = self.contract(type_name).version
        while version < target:
            step = self._upcasters.get((type_name, version))
            if step is None:
                raise UnknownEventType(f"{type_name} v{version}: no upcaster to v{version + 1}")
            data = step(dict(data))
            version += 1
        if version > target:
            raise UnknownEventType(f"{type_name} v{version} is newer than this code (v{target})")
        return data

    def decode(self, type_name: str, version: int, data: Data) -> Event:
        """Upcast and validate stored data into its current contract."""
        return self.contract(type_name).model_validate(self.upcast(type_name, version, data))

    def __iter__(self) -> Iterator[type[Event]]:
        return iter(sorted(self._contracts.values(), key=lambda c: c.type_name))

    def superseded(self, contract: E) -> E:
        """Class decorator: keep the model of an *older* version of a registered type, so
        its JSON Schema stays served at the ``dataschema`` its stored events carry."""
        self._history[(contract.type_name, contract.version)] = contract
        return contract

    def versions(self, type_name: str) -> list[int]:
        """Every version of a type that events may carry: 1 up to the current one."""
        return list(range(1, self.contract(type_name).version + 1))

    def json_schema(self, type_name: str, version: int | None = None) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) of a contract's current version, or of an older one.

        An older version without a kept model is described as an object that upcasters
        lift to the current version (the stored data is still whatever it was).
        """
        contract = self.contract(type_name)
        version = contract.version if version is None else version
        if not 1 <= version <= contract.version:
            raise UnknownEventType(f"{type_name} v{version}")
        model = contract if version == contract.version else self._history.get((type_name, version))
        if model is not None:
            schema = model.model_json_schema()
        else:
            schema = {
                "type": "object",
                "description": f"Superseded by v{contract.version}; readers upcast it "
                f"(see {schema_uri(type_name, contract.version)}).",
            }
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = schema_uri(type_name, version)
        schema["title"] = type_name
        return schema


DEFAULT_SCHEMA_BASE_URL = "http://127.0.0.1:8001"
"""Where ``zhengfeng up`` serves the schemas (every service serves all of them)."""


@functools.cache
def schema_base_url() -> str:
    """``ZF_SCHEMA_BASE_URL``: the address subscribers fetch event schemas from.

    CloudEvents requires ``dataschema`` to be an absolute URI, so the path each service
    serves is prefixed with this base (a deployment sets its gateway's public address).
    """
    base = os.environ.get("ZF_SCHEMA_BASE_URL") or DEFAULT_SCHEMA_BASE_URL
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"ZF_SCHEMA_BASE_URL must be an absolute http(s) URL, not {base!r}")
    return base.rstrip("/")


def schema_path(type_name: str, version: int) -> str:
    """The path under which every service serves an event type's JSON Schema."""
    return f"/v1/schemas/{type_name}/{version}"


def schema_uri(type_name: str, version: int) -> str:
    """The ``dataschema`` of an event: the absolute URI of its JSON Schema."""
    return schema_base_url() + schema_path(type_name, version)


registry = EventRegistry()
"""The process-wide registry; contracts register themselves on import."""
