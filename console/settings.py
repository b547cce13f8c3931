"""The console's settings (``ZF_CONSOLE_*``) and where the four services answer."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.kit.settings import DEFAULT_PORTS

SERVICES = ("intake", "analysis", "casework", "accountability")
DEFAULT_PORT = 8000
WEB_DIST = Path(__file__).resolve().parent / "web" / "dist"


def service_url(service: str) -> str:
    """``ZF_<SERVICE>_URL``, else 127.0.0.1 on ``ZF_<SERVICE>_PORT`` or the default port."""
    prefix = f"ZF_{service.upper()}_"
    if url := os.environ.get(prefix + "URL"):
        return url.rstrip("/")
    return f"http://127.0.0.1:{os.environ.get(prefix + 'PORT') or DEFAULT_PORTS[service]}"


class ConsoleSettings(BaseSettings):
    """How the console serves, how long a session lasts, which services it calls."""

    model_config = SettingsConfigDict(env_prefix="ZF_CONSOLE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    session_idle_seconds: int = 1800
    """A session unused this long ends (the operator logs in again)."""
    secure_cookie: bool = False
    """Mark the cookie Secure even when the request arrives over plain HTTP (behind TLS
    termination); requests that arrive over HTTPS always get a Secure cookie."""
    token_issuer: str = "zhengfeng"
    token_audience: str = "zhengfeng"
    web_dir: Path = WEB_DIST
    upstream_timeout_seconds: float = 30.0
    services: dict[str, str] = Field(default_factory=lambda: {s: service_url(s) for s in SERVICES})
    log_level: str = "INFO"
    log_json: bool = True
