"""OpenTelemetry costs nothing unless an OTLP endpoint is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from libs.kit import tracing

ROOT = Path(__file__).resolve().parents[3]


def test_without_an_endpoint_no_sdk_is_loaded_and_the_tracer_is_the_no_op_one() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["ZF_DEV_MODE"] = "1"
    probe = (
        "import sys\n"
        "from services.casework import app\n"
        "from libs.kit import tracing\n"
        "app.create()\n"
        "assert tracing.provider_for('casework') is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk',"
        " 'opentelemetry.exporter'))))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"
    assert tracing.tracer_of(None) is tracing.NO_OP
    assert tracing.fastapi_telemetry(None)["tracing"] is False


def test_an_endpoint_configures_export_unless_the_sdk_is_disabled(monkeypatch) -> None:
    for name in (*tracing.ENDPOINT_ENVS, "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    assert not tracing.configured()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing.configured()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.configured()
