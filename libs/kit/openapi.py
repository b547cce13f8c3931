"""The OpenAPI document describes every answer, errors included, and the links between them.

FastAPI's generated document declares a route's success and its own 422 shape only; the
services answer every error as an RFC 9457 problem (``libs/kit/problems.py``). This adds,
to every operation, the problem answers it can give — with the ``Problem`` schema under
``application/problem+json`` — so a client generator and a contract test see them:

- every operation: 413/414/431 (request limits, before anything else), 422 (a field that
  is not as required), 429, 500 and 503 (the database away: retry after);
- an operation with a security requirement or a bearer token: 401 and 403;
- an operation with path parameters: 404;
- a command (POST, PUT, PATCH, DELETE): 409 (the state does not allow it, or a retry under
  the same key with another body), 412 (``If-Match`` stale), 415 and 428 (``If-Match``
  required);
- ``default``: any other status, always a problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

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
    "409": "当前状态下不能办理, or an Idempotency-Key reused with another body",
    "412": "If-Match 与当前版本不符: read again and retry",
    "415": "不支持的内容类型",
    "428": "须提供 If-Match",
}
_COMMAND_METHODS = {"post", "put", "patch", "delete"}


def _problem(description: str) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}


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
                else:  # a route's own description of it: keep it, add the problem body
                    answer.setdefault("content", {})[PROBLEM_JSON] = {
                        "schema": {"$ref": "#/components/schemas/Problem"}
                    }
            responses.setdefault("default", _problem("其他错误，均为 problem+json"))
    schemas.pop("HTTPValidationError", None)
    if "#/components/schemas/ValidationError" not in json.dumps(document):
        schemas.pop("ValidationError", None)
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
            app.openapi_schema = describe_links(
                describe_problems(
                    get_openapi(
                        title=app.title,
                        version=app.version,
                        openapi_version=app.openapi_version,
                        description=app.description,
                        routes=app.routes,
                        servers=app.servers,
                    )
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
