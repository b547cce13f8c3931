"""Event contracts: the registry, upcasting old versions, published JSON Schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest

from libs.events.contracts import (
    Event,
    EventRegistry,
    UnknownEventType,
    registry,
    schema_base_url,
    schema_uri,
)
from libs.events.contracts.intake import ClueReceived, ReportedPerson


class CaseOpened(Event):
    type_name = "zhengfeng.test.case_opened"
    version = 3

    case_number: str
    officer: str
    unit: str


def case_registry() -> EventRegistry:
    """A registry holding CaseOpened v3 and the upcasters v1→v2→v3."""
    reg = EventRegistry()
    reg.register(CaseOpened)

    @reg.upcaster(CaseOpened.type_name, from_version=1)
    def _v1(data: dict[str, Any]) -> dict[str, Any]:
        data["officer"] = data.pop("handler")
        return data

    @reg.upcaster(CaseOpened.type_name, from_version=2)
    def _v2(data: dict[str, Any]) -> dict[str, Any]:
        data.setdefault("unit", "未填写")
        return data

    return reg


def v1_clue_received(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "clue_id": str(uuid4()),
        "clue_number": "XS-2025-000007",
        "department": "audit",
        "source_reference": "SJ-2025-0100",
        "reported_persons": [{"name": "王五", "unit": "某县财政局"}],
        "categories": ["violation_gifts"],
        "narrative": "节日期间收受购物卡。",
        "received_at": "2025-10-01T08:00:00Z",
    }
    data.update(overrides)
    return data


def test_registry_rejects_a_second_class_with_the_same_type_name() -> None:
    reg = EventRegistry()
    reg.register(CaseOpened)

    class Impostor(Event):
        type_name = CaseOpened.type_name
        version = 1

    with pytest.raises(ValueError, match="already registered"):
        reg.register(Impostor)
    assert reg.contract(CaseOpened.type_name) is CaseOpened


def test_registering_the_same_class_twice_is_harmless() -> None:
    reg = EventRegistry()

    reg.register(CaseOpened)
    reg.register(CaseOpened)

    assert list(reg) == [CaseOpened]


def test_v1_clue_received_is_upcast_to_a_partner_transfer_with_its_department() -> None:
    data = v1_clue_received()

    event = registry.decode(ClueReceived.type_name, 1, data)

    assert isinstance(event, ClueReceived)
    assert event.source_kind == "partner_transfer"
    assert event.source_department == "audit"
    assert event.clue_number == "XS-2025-000007"
    assert event.received_at == datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
    assert "department" in data, "upcasting must not change the stored data"


def test_current_version_data_is_decoded_unchanged() -> None:
    data = v1_clue_received()
    data["source_kind"] = "public_report"
    data["source_department"] = data.pop("department")

    event = registry.decode(ClueReceived.type_name, ClueReceived.version, data)

    assert isinstance(event, ClueReceived)
    assert event.source_kind == "public_report"


def test_upcasters_chain_through_every_version_in_order() -> None:
    reg = case_registry()

    event = reg.decode(CaseOpened.type_name, 1, {"case_number": "AJ-1", "handler": "张三"})

    assert event == CaseOpened(case_number="AJ-1", officer="张三", unit="未填写")
    assert reg.upcast(CaseOpened.type_name, 2, {"case_number": "AJ-2", "officer": "李四"}) == {
        "case_number": "AJ-2",
        "officer": "李四",
        "unit": "未填写",
    }


def test_unknown_event_type_is_reported() -> None:
    with pytest.raises(UnknownEventType):
        registry.decode("zhengfeng.nowhere.nothing_happened", 1, {})
    assert not registry.knows("zhengfeng.nowhere.nothing_happened")


def test_version_newer_than_the_code_is_reported() -> None:
    with pytest.raises(UnknownEventType, match="newer than this code"):
        registry.decode(ClueReceived.type_name, ClueReceived.version + 1, v1_clue_received())


def test_missing_upcaster_is_reported_with_the_gap() -> None:
    reg = EventRegistry()
    reg.register(CaseOpened)

    with pytest.raises(UnknownEventType, match="v1"):
        reg.decode(CaseOpened.type_name, 1, {"case_number": "AJ-1", "handler": "张三"})


def test_json_schema_is_identified_by_its_schema_uri() -> None:
    schema = registry.json_schema(ClueReceived.type_name)

    assert schema["$id"] == schema_uri(ClueReceived.type_name, 3)
    assert schema["$id"] == "http://127.0.0.1:8001/v1/schemas/zhengfeng.intake.clue_received/3"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == ClueReceived.type_name


def test_json_schema_names_exactly_the_contract_fields() -> None:
    schema = registry.json_schema(ClueReceived.type_name)

    assert set(schema["properties"]) == set(ClueReceived.model_fields)
    assert set(schema["required"]) == {
        "clue_id",
        "clue_number",
        "source_kind",
        "reported_persons",
        "categories",
        "narrative",
        "received_at",
    }
    assert schema["additionalProperties"] is False
    person = schema["$defs"]["ReportedPerson"]
    assert set(person["properties"]) == set(ReportedPerson.model_fields)
    assert {"name", "unit", "post", "id_number"} <= set(person["properties"])


def test_json_schema_of_an_unknown_type_is_reported() -> None:
    with pytest.raises(UnknownEventType):
        registry.json_schema("zhengfeng.nowhere.nothing_happened")


def test_dataschema_is_an_absolute_uri_under_the_configured_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # CloudEvents: dataschema is a URI, so a subscriber can fetch it without guessing a host.
    monkeypatch.setenv("ZF_SCHEMA_BASE_URL", "https://events.jw.example.gov.cn/zf/")
    schema_base_url.cache_clear()
    try:
        uri = schema_uri(ClueReceived.type_name, 3)
    finally:
        schema_base_url.cache_clear()

    assert uri == "https://events.jw.example.gov.cn/zf/v1/schemas/zhengfeng.intake.clue_received/3"
    assert urlsplit(uri).scheme == "https" and urlsplit(uri).netloc


@pytest.mark.parametrize("base", ["/v1", "events.example", "ftp://x", "https://x/?a=1"])
def test_a_schema_base_that_is_not_an_absolute_http_url_is_refused(
    monkeypatch: pytest.MonkeyPatch, base: str
) -> None:
    monkeypatch.setenv("ZF_SCHEMA_BASE_URL", base)
    schema_base_url.cache_clear()
    try:
        with pytest.raises(ValueError, match="ZF_SCHEMA_BASE_URL"):
            schema_uri(ClueReceived.type_name, 3)
    finally:
        schema_base_url.cache_clear()
