"""The OpenAPI document describes every answer, errors included, and the links between them.

FastAPI's generated document declares a route's success and its own 422 shape only; the
services answer every error as an RFC 9457 problem (``libs/kit/problems.py``). This adds,
to every operation, the problem answers it can give — with the ``Problem`` schema under
``application/problem+json`` — so a client generator and a contract test see them:

- every operation: 413/414/431 (request limits, before anything else), 422 (a field that
  is not as required), 429, 500 and 503 (the database away: retry after);
- an operation with a security requirement or a bearer token: 401 and 403;
- an operation with path parameters: 404;
- a command (POST, PUT, PATCH, DELETE): 409 (the state does not allow it), 412
  (``If-Match`` stale), 415 and 428 (``If-Match`` required);
- an operation taking ``Idempotency-Key``: 422 ``idempotency-key-reused`` (the key came
  before with another body); one taking ``cursor``: 400 ``invalid-cursor``;
- ``default``: any other status, always a problem.

It also says what the services refuse that a schema can say (:func:`describe_values`): no
string holds a NUL (PostgreSQL stores none; ``libs/kit/nul.py`` refuses it), ``If-Match``
and ``Idempotency-Key`` have the form the pipeline reads, and a code of a catalogue (the
problem-category taxonomy) is one of the deployment's codes. What a schema cannot say (an
ID number's check digit, dates in order, a matter in the state a command needs) is a
domain refusal with a problem ``type`` of its own, documented on the operation's answer as
an example of that type (:func:`refusals`): a schema-valid request is never refused as
``validation-error``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

from libs.events import taxonomy
from libs.kit.fields import CATEGORY_CATALOGUE, CATEGORY_FILTER_CATALOGUE
from libs.kit.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `title`, `detail` and each `reason` in Chinese.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "/problems/<slug>, the machine name"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {
                    "field": {"type": "string"},
                    "reason": {"type": "string"},
                    "code": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}

VERSIONED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "ETag": {
                "description": "该事项的当前版本号：办理命令时放在 If-Match 中",
                "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
            }
        }
    }
}
"""``responses=`` of a read that answers with its matter's version as ``ETag`` (what a
command on it sends back as ``If-Match``): the links from it carry the version."""

_ALWAYS = {
    "413": "请求体过大 (the body limit of the route)",
    "414": "请求地址过长或查询参数过多",
    "422": "提交的内容不符合要求: errors name each field and the reason",
    "429": "过于频繁, with Retry-After",
    "431": "请求头过大",
    "500": "系统内部错误 (nothing was saved)",
    "503": "暂时无法办理 (database or broker away), with Retry-After",
}
_AUTHENTICATED = {"401": "未登录或令牌无效", "403": "无权办理"}
_NAMED = {"404": "未找到该事项"}
_COMMANDS = {
    "409": "当前状态下不能办理",
    "412": "If-Match 与当前版本不符: read again and retry",
    "415": "不支持的内容类型",
    "428": "须提供 If-Match",
}
_COMMAND_METHODS = {"post", "put", "patch", "delete"}


def _problem(description: str) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}


_REFUSALS = "业务规则不允许："


def refusals(*answers: tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: the domain refusals it answers, each ``(status, slug,
    Chinese title)`` — what the schema cannot say (a check digit, dates in order, the state
    of a matter). Each is an example of the status's problem answer, named by its slug, so
    a client (and the contract tests) know the ``type`` to expect."""
    out: dict[int | str, dict[str, Any]] = {}
    for status, slug, title in answers:
        answer = out.setdefault(status, {"description": "", "content": {PROBLEM_JSON: {}}})
        examples = answer["content"][PROBLEM_JSON].setdefault("examples", {})
        examples[slug] = {
            "summary": title,
            "value": {"type": f"/problems/{slug}", "title": title, "status": status},
        }
        answer["description"] = _REFUSALS + "；".join(
            f"{e['summary']}（{name}）" for name, e in examples.items()
        )
    return out


def refusal_types(operation: dict[str, Any], status: int) -> set[str]:
    """The problem types an operation documents as domain refusals at ``status``."""
    answer = operation.get("responses", {}).get(str(status), {})
    return {
        e["value"]["type"]
        for media in answer.get("content", {}).values()
        for e in media.get("examples", {}).values()
        if "value" in e
    }


_GENERIC_REFUSALS: dict[str, tuple[int, str, str]] = {
    "cursor": (400, "invalid-cursor", "翻页位置无效（请原样使用上一页返回的 next_cursor）"),
    "idempotency-key": (422, "idempotency-key-reused", "幂等键已用于内容不同的请求"),
}
"""Refusals of the kit's own parameters, by the parameter's (lower-case) name."""


def describe_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every operation's problem answers and the ``Problem`` schema."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            params = [*item.get("parameters", []), *operation.get("parameters", [])]
            statuses = dict(_ALWAYS)
            if operation.get("security") or any(
                p.get("in") == "header" and p.get("name", "").lower() == "authorization"
                for p in params
            ):
                statuses |= _AUTHENTICATED
            if "{" in path:
                statuses |= _NAMED
            if method in _COMMAND_METHODS:
                statuses |= _COMMANDS
            responses = operation["responses"]
            for status, description in statuses.items():
                answer = responses.get(status)
                if answer is None or "HTTPValidationError" in str(answer):
                    responses[status] = _problem(description)
                    continue
                # A route's own description of it: kept (with the refusals it documents),
                # after the kit's where it only adds refusals.
                content = answer.setdefault("content", {})
                content[PROBLEM_JSON] = {
                    **content.get(PROBLEM_JSON, {}),
                    "schema": {"$ref": "#/components/schemas/Problem"},
                }
                if answer.get("description", "").startswith(_REFUSALS):
                    answer["description"] = f"{description}；{answer['description']}"
            for param in params:
                if (refusal := _GENERIC_REFUSALS.get(param.get("name", "").lower())) is not None:
                    _add_refusal(responses, refusal)
            responses.setdefault("default", _problem("其他错误，均为 problem+json"))
    schemas.pop("HTTPValidationError", None)
    if "#/components/schemas/ValidationError" not in json.dumps(document):
        schemas.pop("ValidationError", None)
    return document


def _add_refusal(responses: dict[str, Any], refusal: tuple[int, str, str]) -> None:
    ((status, added),) = refusals(refusal).items()
    answer = responses.setdefault(str(status), _problem(""))
    content = answer.setdefault("content", {}).setdefault(PROBLEM_JSON, {})
    examples = content.setdefault("examples", {})
    if not set(added["content"][PROBLEM_JSON]["examples"]) <= set(examples):
        examples.update(added["content"][PROBLEM_JSON]["examples"])
        answer["description"] = "；".join(
            d for d in (answer.get("description"), added["description"]) if d
        )


NUL_FREE = r"^[^\x00]*$"
"""A string without NUL: what ``libs/kit/nul.RejectNul`` lets through."""

IF_MATCH: dict[str, Any] = {
    "type": "string",
    "pattern": r'^(W/)?"[0-9]{1,18}"$',
    "examples": ['"7"'],
}
"""``If-Match``: a version the service gave as ``ETag`` (``"7"``); ``parse_if_match``."""

IDEMPOTENCY_KEY: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[!-~]+$",
}
"""``Idempotency-Key``: 1-255 visible ASCII characters (a UUID, say)."""

JSON_VALUE: dict[str, Any] = {
    "title": "JsonValue",
    "description": "Any JSON value without a NUL character in a string or a key.",
    "anyOf": [
        {"type": "string", "pattern": NUL_FREE},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {
            "type": "object",
            "propertyNames": {"type": "string", "pattern": NUL_FREE},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        },
    ],
}
"""The value of a free object's key (a rule's parameters, a resubmitted command's body)."""

_HEADERS: dict[str, dict[str, Any]] = {"if-match": IF_MATCH, "idempotency-key": IDEMPOTENCY_KEY}

_WITHOUT_NUL = frozenset({"date", "date-time", "time", "uuid", "binary", "email", "uri"})
"""Formats whose values hold no NUL anyway."""


def _catalogues() -> dict[str, list[str]]:
    categories = taxonomy.load()
    groups = {c.group for c in categories.categories.values()}
    return {
        CATEGORY_CATALOGUE: sorted(categories.accepted()),
        CATEGORY_FILTER_CATALOGUE: sorted(categories.accepted() | groups),
    }


def _constrain(schema: Any, catalogues: dict[str, list[str]]) -> None:
    if isinstance(schema, list):
        for item in schema:
            _constrain(item, catalogues)
        return
    if not isinstance(schema, dict):
        return
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "x-catalogue" in schema:
        schema["enum"] = catalogues[schema["x-catalogue"]]
    if "string" in kinds and not {"pattern", "enum", "const"} & set(schema):
        if schema.get("format") not in _WITHOUT_NUL:
            schema["pattern"] = NUL_FREE
    if "object" in kinds and schema.get("additionalProperties") in (True, {}):
        # A free object (a rule's parameters, a resubmitted body): no NUL in its keys nor
        # anywhere in its values.
        schema.setdefault("propertyNames", {"type": "string", "pattern": NUL_FREE})
        schema["additionalProperties"] = {"$ref": "#/components/schemas/JsonValue"}
    for key, value in schema.items():
        if key not in ("enum", "const", "examples", "example", "default"):
            _constrain(value, catalogues)


def _refs(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        ref = value.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for item in value.values():
            _refs(item, found)
    elif isinstance(value, list):
        for item in value:
            _refs(item, found)


def _reachable(document: dict[str, Any], side: str) -> set[str]:
    """The component schemas a request (parameters, body) or an answer refers to."""
    found: set[str] = set()
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if side == "requests":
                _refs([operation.get("parameters", []), operation.get("requestBody", {})], found)
            else:
                _refs(operation.get("responses", {}), found)
    schemas = document.get("components", {}).get("schemas", {})
    todo = list(found)
    while todo:
        inner: set[str] = set()
        _refs(schemas.get(todo.pop(), {}), inner)
        todo += list(inner - found)
        found |= inner
    return found


def describe_values(
    document: dict[str, Any], catalogues: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """``document`` saying what the kit refuses of any value: every string (and every free
    object's keys) without NUL, unless a ``pattern``, ``enum`` or format says more; the
    pipeline's headers in the form it reads; and a field marked ``x-catalogue`` (a
    :data:`libs.kit.fields.CategoryCode`) one of the catalogue's codes."""
    catalogues = _catalogues() if catalogues is None else catalogues
    for item in document.get("paths", {}).values():
        for operation in [item, *item.values()]:
            if not isinstance(operation, dict):
                continue
            for param in operation.get("parameters", []):
                header = _HEADERS.get(param.get("name", "").lower())
                if param.get("in") == "header" and header is not None:
                    param["schema"] = {**header, "title": param["name"]}
    _constrain(document.get("paths", {}), catalogues)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _constrain({k: v for k, v in schemas.items() if k != "Problem"}, catalogues)
    # A body that ignores fields it does not name (no extra="forbid") is documented as
    # taking only those it names: a field it ignores could still carry a NUL, refused
    # before the body is read. Only where no answer uses the same schema.
    sent, answered = _reachable(document, "requests"), _reachable(document, "responses")
    for name in sent - answered:
        schema = schemas[name]
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    if "#/components/schemas/JsonValue" in json.dumps(document):
        schemas["JsonValue"] = JSON_VALUE
    return document


_PARAM = re.compile(r"\{([^}]+)\}")


def _params(path: str) -> list[str]:
    return _PARAM.findall(path)


def _success(operation: dict[str, Any]) -> str | None:
    """The status of the operation's success answer (one 2xx per route here)."""
    return next((s for s in operation.get("responses", {}) if s.startswith("2")), None)


def _body_properties(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """The top-level properties of the operation's documented JSON success body."""
    status = _success(operation)
    if status is None:
        return set()
    content = operation["responses"][status].get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = document.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return set(schema.get("properties", {}))


def _has_header(operation: dict[str, Any], name: str) -> bool:
    return any(
        p.get("in") == "header" and p.get("name", "").lower() == name.lower()
        for p in operation.get("parameters", [])
    )


def _json_success(operation: dict[str, Any]) -> bool:
    status = _success(operation)
    content = operation["responses"][status].get("content", {}) if status else {}
    return set(content) <= {"application/json"}  # not a download (.docx, CSV)


def _names_its_collection(id_name: str, read_path: str) -> bool:
    """``clue_id`` names ``/v1/clues/{clue_id}``, ``reply_id`` ``/v1/integrity-replies/…``;
    ``list_id`` does not name ``/v1/rectifications/{list_id}``."""
    stem = id_name.removesuffix("_id")
    collection = read_path.rsplit("/", 1)[0].rsplit("/", 1)[-1].replace("-", "_")
    if collection.endswith("ies"):
        collection = collection[:-3] + "y"
    elif collection.endswith("s"):
        collection = collection[:-1]
    return stem != id_name and (collection == stem or collection.endswith("_" + stem))


def _version_of(operation: dict[str, Any], body: set[str]) -> str | None:
    """Where a read's answer gives its matter's version, as a link expression."""
    if "version" in body:
        return '"{$response.body#/version}"'  # a string, as an ETag is
    status = _success(operation)
    if status is not None and "ETag" in operation["responses"][status].get("headers", {}):
        return "$response.header.ETag"
    return None


def describe_links(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with OpenAPI links between its operations, for clients and for stateful
    testing (Schemathesis follows them), found by the platform's conventions:

    - a collection's POST leads to the read of the matter it made (``POST /v1/inquiries`` to
      ``GET /v1/inquiries/{inquiry_id}``, the id from its answer: the property of the same
      name, else the one ending with it, ``receipt_code`` for ``{code}``);
    - any answer naming a matter by an id of its kind (``clue_id`` in a hotline order's
      answer) leads to that matter's read (``GET /v1/clues/{clue_id}``);
    - a collection's list leads to the read of its first item (``$response.body#/items/0/…``);
    - the read of a matter leads to the reads and commands under it, with the matter's path
      parameters; to a command taking ``If-Match``, any read of the matter that gives its
      version (``"{$response.body#/version}"`` where it documents one, else its documented
      ``ETag``, :data:`VERSIONED`) leads with that version;
    - a command leads back to the read of its matter (whose version it moved).

    Only links whose target's path parameters all come from the source are made; each is
    named by its target's ``operationId``.
    """
    operations = [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    # The read of a matter: a GET of JSON whose path ends with the matter's id.
    reads = {
        path: operation
        for path, method, operation in operations
        if method == "get" and path.endswith("}") and _json_success(operation)
    }

    def link(source: dict[str, Any], target: dict[str, Any], parameters: dict[str, str]) -> None:
        status = _success(source)
        if status is None or target is source:
            return
        links = source["responses"][status].setdefault("links", {})
        links.setdefault(
            target["operationId"],
            {"operationId": target["operationId"], "parameters": parameters},
        )

    def from_path(names: list[str]) -> dict[str, str]:
        return {f"path.{p}": f"$request.path.{p}" for p in names}

    for path, method, operation in operations:
        given = _params(path)
        body = _body_properties(document, operation)
        for read_path, read in reads.items():
            *outer, last = _params(read_path)
            if read_path == path:
                continue
            if read_path.rsplit("/", 1)[0] == path:  # the read of this collection's items
                if method == "get" and "items" in body:
                    link(operation, read, {f"path.{last}": f"$response.body#/items/0/{last}"})
                elif method == "post" and all(p in given for p in outer):
                    named = last if last in body or not body else None
                    named = named or next((b for b in sorted(body) if b.endswith("_" + last)), None)
                    if named is not None:
                        link(
                            operation,
                            read,
                            {**from_path(outer), f"path.{last}": f"$response.body#/{named}"},
                        )
                continue
            if (
                last in body
                and _names_its_collection(last, read_path)
                and all(p in given for p in outer)
            ):
                link(
                    operation, read, {**from_path(outer), f"path.{last}": f"$response.body#/{last}"}
                )
            elif method != "get" and path.startswith(read_path + "/"):
                link(operation, read, from_path(_params(read_path)))  # back to its matter
        if method != "get":
            continue
        # A read leads to what is under its matter: the item read to the reads and the
        # commands without If-Match; any read giving the matter's version (in its body or
        # as its documented ETag) to the commands under the matter with If-Match.
        version = _version_of(operation, body)
        matter = path if path.endswith("}") else path[: path.rfind("}") + 1]
        if not matter:
            continue
        for target_path, target_method, target in operations:
            if not target_path.startswith(matter + "/") or not all(
                p in given for p in _params(target_path)
            ):
                continue
            parameters = from_path(given)
            if target_method != "get" and _has_header(target, "If-Match"):
                if version is None:
                    continue
                parameters["header.If-Match"] = version
            elif path != matter or path not in reads:
                continue
            link(operation, target, parameters)
    return document


def install(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI document with its problem answers described."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # A service's own catalogues (codes from its data) beside the shared ones.
            catalogues = {**_catalogues(), **getattr(app.state, "catalogues", {})}
            app.openapi_schema = describe_links(
                describe_values(
                    describe_problems(
                        get_openapi(
                            title=app.title,
                            version=app.version,
                            openapi_version=app.openapi_version,
                            description=app.description,
                            routes=app.routes,
                            servers=app.servers,
                        )
                    ),
                    catalogues,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    url = app.openapi_url
    if not url:
        return
    # FastAPI's own route serializes the whole document (200-300 kB) again on every call;
    # it only changes with a deploy: serialized once, with an ETag a client revalidates
    # (If-None-Match → 304 without the body).
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != url]
    served: list[tuple[bytes, str]] = []

    @app.get(url, include_in_schema=False)
    async def document(request: Request) -> Response:
        if not served:
            body = json.dumps(
                openapi(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode()
            served.append((body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'))
        body, etag = served[0]
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weakly compared, RFC 9110) or is ``*``."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags
