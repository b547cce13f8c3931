"""The service kit without I/O: problem details, cursors, settings, request composition.

The HTTP cases run a tiny app in memory through httpx's ASGI transport: no socket, no
database, no broker (the lifespan, which opens those, is never started).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY
from pydantic import BaseModel, Field
from sqlalchemy.exc import TimeoutError as PoolTimeout

from libs.kit import problems
from libs.kit.logs import JsonFormatter, Redacting
from libs.kit.pagination import decode_cursor, encode_cursor
from libs.kit.problems import PROBLEM_JSON, Problem
from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import settings_class


class Person(BaseModel):
    name: str = Field(min_length=1)
    unit: str


class Form(BaseModel):
    reported_persons: list[Person]
    query: str = Field(min_length=1)


def form_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/forms")
    async def submit(form: Form) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/refusal")
    async def refuse() -> None:
        raise Problem(409, "reference-reused", "该来源编号已使用", "同一编号不能再次移送。")

    @app.get("/database/{fault}")
    async def database(fault: str) -> None:
        raise {
            "refused": ConnectionRefusedError(111, "Connection refused"),
            "full": asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
            "starting": asyncpg.exceptions.CannotConnectNowError(
                "the database system is starting up"
            ),
            "pool": PoolTimeout("QueuePool limit of size 2 overflow 2 reached"),
        }[fault]

    return app


async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        yield client


@pytest.fixture
async def forms() -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(form_app()):
        yield client


# Problem details (RFC 9457)


async def test_field_errors_name_the_path_into_the_body(forms: httpx.AsyncClient) -> None:
    response = await forms.post(
        "/forms", json={"reported_persons": [{"name": "", "unit": "某县财政局"}], "query": "x"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == "/problems/validation-error"
    assert body["status"] == 422
    assert body["instance"] == "/forms"
    (error,) = body["errors"]
    assert error["field"] == "reported_persons[0].name"
    assert error["reason"]
    assert "reported_persons[0].name" in body["detail"]


async def test_field_errors_name_nested_list_items_and_missing_fields(
    forms: httpx.AsyncClient,
) -> None:
    response = await forms.post(
        "/forms",
        json={"reported_persons": [{"name": "王五", "unit": "甲"}, {"name": "赵六"}], "query": "x"},
    )

    assert [e["field"] for e in response.json()["errors"]] == ["reported_persons[1].unit"]


async def test_a_body_field_named_like_a_request_location_keeps_its_name(
    forms: httpx.AsyncClient,
) -> None:
    response = await forms.post("/forms", json={"reported_persons": [], "query": ""})

    assert [e["field"] for e in response.json()["errors"]] == ["query"]


async def test_a_missing_body_is_reported_as_the_body(forms: httpx.AsyncClient) -> None:
    response = await forms.post("/forms")

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


async def test_a_raised_problem_becomes_problem_json(forms: httpx.AsyncClient) -> None:
    response = await forms.get("/refusal")

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "/problems/reference-reused",
        "title": "该来源编号已使用",
        "status": 409,
        "detail": "同一编号不能再次移送。",
        "instance": "/refusal",
    }


@pytest.mark.parametrize("fault", ["refused", "full", "starting", "pool"])
async def test_a_database_that_refuses_connections_is_a_503_to_retry_never_a_500(
    forms: httpx.AsyncClient, fault: str
) -> None:
    response = await forms.get(f"/database/{fault}")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    problem = response.json()
    assert problem["type"] == "/problems/database-unavailable"
    assert "Idempotency-Key" in problem["detail"] and "重新提交" in problem["detail"]


async def test_an_unknown_route_is_a_not_found_problem(forms: httpx.AsyncClient) -> None:
    response = await forms.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/not-found"


# Service composition: correlation ids and crashes


def crashing_service() -> FastAPI:
    crash = APIRouter()

    @crash.get("/v1/crash")
    async def boom() -> None:
        raise RuntimeError("disk on fire")

    @crash.get("/v1/fine")
    async def fine() -> dict[str, str]:
        return {"status": "fine"}

    return create_app(
        settings_class("casework")(database_url="postgresql://unused/none"),
        ServiceParts(title="unit", routers=[crash]),
    )


@pytest.fixture
async def service() -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(crashing_service()):
        yield client


async def test_every_response_echoes_the_correlation_id(service: httpx.AsyncClient) -> None:
    sent = await service.get("/v1/fine", headers={"X-Correlation-ID": "corr-unit-1"})
    generated = await service.get("/v1/fine")

    assert sent.headers["X-Correlation-ID"] == "corr-unit-1"
    assert UUID(generated.headers["X-Correlation-ID"])


class JsonLines(logging.Handler):
    """Formats records the way services log them, at the moment they are logged."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("unit"))
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def test_unexpected_error_is_a_500_problem_carrying_the_correlation_id(
    service: httpx.AsyncClient,
) -> None:
    logs = JsonLines()
    logging.getLogger().addHandler(logs)
    try:
        response = await service.get("/v1/crash", headers={"X-Correlation-ID": "corr-crash-1"})
    finally:
        logging.getLogger().removeHandler(logs)

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/internal-error"
    assert "disk on fire" not in response.text
    assert response.headers["X-Correlation-ID"] == "corr-crash-1"
    (logged,) = [line for line in logs.lines if "disk on fire" in line.get("exception", "")]
    assert logged["correlation_id"] == "corr-crash-1"
    assert logged["level"] == "error"


async def test_unexpected_error_is_counted_as_a_500_in_metrics(service: httpx.AsyncClient) -> None:
    labels = {"service": "casework", "method": "GET", "route": "/v1/crash", "status": "500"}
    before = REGISTRY.get_sample_value("zhengfeng_http_requests_total", labels) or 0.0

    await service.get("/v1/crash")

    assert REGISTRY.get_sample_value("zhengfeng_http_requests_total", labels) == before + 1


# Cursor pagination


def test_cursor_round_trips_its_sort_key() -> None:
    at = datetime(2026, 3, 2, 10, 15, 0, 5, tzinfo=UTC)
    clue_id = UUID("0b0e6c52-3f0c-4d7e-9a51-0c6e6f1b2a01")

    cursor = encode_cursor(at.isoformat(), str(clue_id))

    assert decode_cursor(cursor, datetime.fromisoformat, UUID) == [at, clue_id]
    assert "=" not in cursor


def test_cursor_of_plain_strings_round_trips() -> None:
    assert decode_cursor(encode_cursor("某县财政局"), str) == ["某县财政局"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "!!!",
        "",
        encode_cursor("only-one-value"),
        encode_cursor("2026-03-02T10:15:00+00:00", "x", "extra"),
        encode_cursor("yesterday", "0b0e6c52-3f0c-4d7e-9a51-0c6e6f1b2a01"),
        encode_cursor("2026-03-02T10:15:00+00:00", "not-a-uuid"),
        encode_cursor(1, 2),
        encode_cursor("2026-03-02T10:15:00+00:00", 5),
    ],
)
def test_invalid_cursor_is_a_400_problem_naming_the_cursor(cursor: str) -> None:
    with pytest.raises(Problem) as raised:
        decode_cursor(cursor, datetime.fromisoformat, UUID)

    problem = raised.value
    assert problem.status == 400
    assert problem.slug == "invalid-cursor"
    assert problem.errors == [{"field": "cursor", "reason": "不是本列表给出的翻页位置"}]


# Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("ZF_") or name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_settings_default_to_the_service_port_and_schema(clean_env: pytest.MonkeyPatch) -> None:
    settings = settings_class("casework")()

    assert settings.port == 8003
    assert settings.db_schema == "casework"
    assert settings.database_url == ""
    assert settings.kafka_bootstrap_servers == ""
    assert settings.source == "/zhengfeng/casework"


def test_settings_read_the_service_prefix(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ZF_CASEWORK_PORT", "9103")
    clean_env.setenv("ZF_CASEWORK_DB_SCHEMA", "casework_blue")
    clean_env.setenv("ZF_INTAKE_PORT", "9101")

    settings = settings_class("casework")()

    assert settings.port == 9103
    assert settings.db_schema == "casework_blue"


def test_settings_fall_back_to_the_platform_database_and_broker(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://db.example/zhengfeng")
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")

    settings = settings_class("casework")()

    assert settings.database_url == "postgresql://db.example/zhengfeng"
    assert settings.kafka_bootstrap_servers == "kafka.example:9092"


def test_service_prefixed_database_overrides_the_platform_one(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://db.example/zhengfeng")
    clean_env.setenv("ZF_CASEWORK_DATABASE_URL", "postgresql://casework-db.example/casework")

    settings = settings_class("casework")()

    assert settings.database_url == "postgresql://casework-db.example/casework"


def test_arguments_override_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://db.example/zhengfeng")

    settings = settings_class("casework")(database_url="postgresql://here/x", port=9200)

    assert settings.database_url == "postgresql://here/x"
    assert settings.port == 9200


def test_nul_field_names_the_first_string_holding_a_nul() -> None:
    from libs.kit.nul import nul_field

    assert nul_field({"a": [{"b": "ok"}, {"c": "x\x00"}]}) == "a[1].c"
    assert nul_field({"k\x00": 1}) == "k\x00"
    assert nul_field("\x00") == "body"
    assert nul_field({"a": "no nul", "b": [1, None, "\\u0000"]}) is None


async def test_the_api_docs_page_loads_nothing_from_another_host(
    service: httpx.AsyncClient,
) -> None:
    page = await service.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    hosts = re.findall(r"(?:src|href)=[\"']((?:https?:)?//[^\"']+)", page.text)
    assert hosts == [], f"an offline network would not load {hosts}"
    for asset in re.findall(r"[\"'](/docs/assets/[^\"']+)[\"']", page.text):
        assert (await service.get(asset)).status_code == 200, asset


def test_logs_never_carry_receipt_codes_tokens_or_secrets(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("intake"))
    handler.addFilter(Redacting())
    access = logging.getLogger("uvicorn.access.test")
    access.addHandler(handler)
    try:
        access.warning(
            '%s - "%s %s HTTP/%s" %d',
            "10.0.0.7:51234", "GET", "/v1/reports/ZF7K3MQ9PX2A/messages", "1.1", 200,
        )  # fmt: skip
        access.warning("token for %s: Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln", "partner:audit")
        access.warning("form client_secret=s3cr3t-value&grant_type=client_credentials")
        access.warning(
            '"GET /v1/surveys/x/form?token=7-9f3ac1e2b4d5 HTTP/1.1" 200'
        )  # 民主评议 link
    finally:
        access.removeHandler(handler)
    out = stream.getvalue()
    for secret in ("ZF7K3MQ9PX2A", "eyJhbGciOiJFZERTQSJ9", "s3cr3t-value", "7-9f3ac1e2b4d5"):
        assert secret not in out
    assert "10.0.0.7:51234" in out and "/v1/reports/[redacted]/messages" in out
