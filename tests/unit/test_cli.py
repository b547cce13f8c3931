"""The ``zhengfeng`` command line, where it needs no servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhengfeng.cli import app

runner = CliRunner()


def test_schemas_export_writes_every_contract_and_each_services_asyncapi(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schemas", "export", str(tmp_path)])

    assert result.exit_code == 0, result.output
    schema = json.loads((tmp_path / "zhengfeng.intake.clue_received.v3.schema.json").read_text())
    assert schema["$id"] == "http://127.0.0.1:8001/v1/schemas/zhengfeng.intake.clue_received/3"
    assert "reported_persons" in schema["properties"]
    casework = json.loads((tmp_path / "asyncapi.casework.json").read_text())
    assert casework["channels"]["intake"]["address"].endswith(".intake.events")
    assert {p.name for p in tmp_path.glob("asyncapi.*.json")} == {
        f"asyncapi.{s}.json" for s in ("intake", "analysis", "casework", "accountability")
    }


def test_commands_that_need_a_database_say_so_when_none_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("ZF_CASEWORK_DATABASE_URL", raising=False)

    result = runner.invoke(app, ["verify", "casework"])

    assert result.exit_code == 2
    assert "DATABASE_URL is not set" in result.output


def test_an_unknown_service_is_refused_with_the_list_of_services() -> None:
    result = runner.invoke(app, ["projections", "rebuild", "payroll"])

    assert result.exit_code != 0
    assert "intake" in result.output and "casework" in result.output


def test_rebuild_offers_every_read_model_the_service_keeps_live(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Accountability keeps read models in three modules; a rebuild must know all of them
    # (it knew only those of projections.py: 整改台账、建议、廉政档案、考核 could not be rebuilt).
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")

    result = runner.invoke(app, ["projections", "rebuild", "accountability", "payroll"])

    assert result.exit_code == 2
    for name in ("rectification", "suggestions", "integrity", "appraisal", "statistics"):
        assert name in result.output


def test_clients_create_refuses_an_unknown_role_before_touching_a_database() -> None:
    result = runner.invoke(
        app, ["clients", "create", "--kind", "operator", "--name", "张三", "--role", "boss"]
    )

    assert result.exit_code == 2
    assert "unknown role boss" in result.output
    assert "admin" in result.output
