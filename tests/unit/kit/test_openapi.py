"""Each service's OpenAPI document describes its error answers as problems."""

from __future__ import annotations

from typing import Any

import pytest

from services.accountability import app as accountability_app
from services.analysis import app as analysis_app
from services.casework import app as casework_app
from services.intake import app as intake_app

SERVICES = {
    "intake": intake_app,
    "analysis": analysis_app,
    "casework": casework_app,
    "accountability": accountability_app,
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


def document(service: str) -> dict[str, Any]:
    module = SERVICES[service]
    settings = module.Settings(database_url="postgresql://nobody@127.0.0.1/none")
    return module.create(settings).openapi()  # type: ignore[no-any-return]


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_its_errors_as_problems(service: str) -> None:
    doc = document(service)

    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, method, op in operations(doc):
        responses = op["responses"]
        for status in ("413", "422", "500", "503", "default"):
            content = responses[status]["content"]
            assert set(content) == {"application/problem+json"}, (path, status)
            assert content["application/problem+json"]["schema"] == PROBLEM, (path, status)
        if "{" in path:
            assert "404" in responses, (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert {"409", "412", "428"} <= set(responses), (method, path)


@pytest.mark.parametrize("service", SERVICES)
def test_every_integer_query_parameter_is_bounded(service: str) -> None:
    # An unbounded integer reaches the database as a value it cannot hold: a 500.
    unbounded = [
        (path, p["name"])
        for path, _method, op in operations(document(service))
        for p in op.get("parameters", [])
        if p["in"] == "query"
        for schema in [p["schema"], *p["schema"].get("anyOf", [])]
        if schema.get("type") == "integer" and "maximum" not in schema
    ]

    assert unbounded == []


def _links(doc: dict[str, Any], method: str, path: str) -> dict[str, dict[str, str]]:
    responses = doc["paths"][path][method]["responses"]
    status = next(s for s in responses if s.startswith("2"))
    return {name: link["parameters"] for name, link in responses[status].get("links", {}).items()}


def _operation_id(doc: dict[str, Any], method: str, path: str) -> str:
    return doc["paths"][path][method]["operationId"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("service", SERVICES)
def test_every_link_names_an_operation_and_fills_its_path(service: str) -> None:
    doc = document(service)
    by_id = {op["operationId"]: (path, method, op) for path, method, op in operations(doc)}

    count = 0
    for path, method, _op in operations(doc):
        for name, parameters in _links(doc, method, path).items():
            count += 1
            target_path, _, target = by_id[name]
            wanted = {f"path.{p}" for p in target_path.split("{")[1:] for p in [p.split("}")[0]]}
            assert wanted <= set(parameters), (path, name, parameters)
            if any(p.get("name") == "If-Match" for p in target.get("parameters", [])):
                if "header.If-Match" in parameters:
                    assert parameters["header.If-Match"] in (
                        '"{$response.body#/version}"',
                        "$response.header.ETag",
                    )
    assert count, f"{service} has no links"


def test_links_follow_a_matter_from_its_making_to_its_commands() -> None:
    intake = document("intake")
    transfer = _links(intake, "post", "/v1/clue-transfers")
    assert transfer[_operation_id(intake, "get", "/v1/clue-transfers/{clue_id}")] == {
        "path.clue_id": "$response.body#/clue_id"
    }
    # The id of another collection's matter, named by its kind.
    assert _operation_id(intake, "get", "/v1/clues/{clue_id}") in transfer
    receipt = _links(intake, "post", "/v1/reports")
    assert receipt[_operation_id(intake, "get", "/v1/reports/{code}")] == {
        "path.code": "$response.body#/receipt_code"
    }
    # A read giving the clue's version in its body leads to the commands with If-Match.
    jurisdiction = _links(intake, "get", "/v1/clues/{clue_id}/jurisdiction")
    assert jurisdiction[_operation_id(intake, "post", "/v1/clues/{clue_id}/forwarding")] == {
        "path.clue_id": "$request.path.clue_id",
        "header.If-Match": '"{$response.body#/version}"',
    }

    casework = document("casework")
    case = _operation_id(casework, "get", "/v1/cases/{case_id}")
    assert _links(casework, "get", "/v1/cases")[case] == {
        "path.case_id": "$response.body#/items/0/case_id"
    }
    # The case's read documents its ETag, and its commands get it as If-Match.
    read = casework["paths"]["/v1/cases/{case_id}"]["get"]["responses"]["200"]
    assert "ETag" in read["headers"]
    assert _links(casework, "get", "/v1/cases/{case_id}")[
        _operation_id(casework, "post", "/v1/cases/{case_id}/dispose")
    ] == {"path.case_id": "$request.path.case_id", "header.If-Match": "$response.header.ETag"}
    # A command leads back to its case's read (whose version it moved).
    assert _links(casework, "post", "/v1/cases/{case_id}/dispose")[case] == {
        "path.case_id": "$request.path.case_id"
    }

    accountability = document("accountability")
    made = _links(accountability, "post", "/v1/responsibility-lists")
    # list_id in a responsibility list's answer is not a rectification list's.
    assert _operation_id(accountability, "get", "/v1/rectifications/{list_id}") not in made
    # A download gives no version: no command is linked from it.
    assert not _links(accountability, "get", "/v1/inquiries/{inquiry_id}/documents/{document_id}")


def _strings(schema: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every string schema under ``schema``, with where it is."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            found += _strings(item, f"{where}[{i}]")
    elif isinstance(schema, dict):
        kinds = schema.get("type")
        if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
            found.append((where, schema))
        for key, value in schema.items():
            if key not in ("enum", "examples", "example", "default"):
                found += _strings(value, f"{where}/{key}")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_no_string_a_request_may_send_holds_a_nul(service: str) -> None:
    # PostgreSQL stores no NUL and libs/kit/nul.py refuses one: the document says so, or a
    # format or an enum does.
    doc = document(service)
    sent = [op.get("parameters", []) for _, _, op in operations(doc)]
    sent += [op.get("requestBody", {}) for _, _, op in operations(doc)]
    schemas = {k: v for k, v in doc["components"]["schemas"].items() if k != "Problem"}
    unsaid = [
        where
        for where, schema in _strings([sent, schemas])
        if not ({"pattern", "enum", "const"} & set(schema) or "format" in schema)
    ]
    assert unsaid == []


def test_the_pipelines_headers_and_the_category_codes_are_stated() -> None:
    casework = document("casework")
    dispose = casework["paths"]["/v1/cases/{case_id}/dispose"]["post"]
    headers = {p["name"]: p for p in dispose["parameters"] if p["in"] == "header"}
    # A case command needs If-Match (428 without it): required, of the ETag's form.
    assert headers["If-Match"]["required"] is True
    assert headers["If-Match"]["schema"]["pattern"] == r'^(W/)?"[0-9]{1,18}"$'
    assert headers["Idempotency-Key"]["schema"]["maxLength"] == 255
    # Its refusal of what the schema cannot say is documented with its problem type.
    examples = dispose["responses"]["422"]["content"]["application/problem+json"]["examples"]
    assert examples["invalid-command"]["value"]["type"] == "/problems/invalid-command"

    analysis = document("analysis")
    category = analysis["components"]["schemas"]["NewVersion"]["properties"]["category"]
    codes = next(s["enum"] for s in category["anyOf"] if "enum" in s)
    assert "violation_dining" in codes
