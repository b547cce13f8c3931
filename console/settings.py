"""The console's settings (``ZF_CONSOLE_*``) and where the four services answer."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.events.devmode import MissingSecret, dev_mode
from libs.kit.settings import DEFAULT_PORTS

SERVICES = ("intake", "analysis", "casework", "accountability")
DEFAULT_PORT = 8000
WEB_DIST = Path(__file__).resolve().parent / "web" / "dist"
DEV_KEY_FILE = Path.home() / ".zhengfeng" / "console-session.key"


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
    session_idle_seconds: int = 900
    """A session unused this long ends (the operator logs in again)."""
    session_max_seconds: int = 8 * 3600
    """A session ends this long after its login however busy (and never after the issuer's
    refresh token does): the operator logs in again."""
    database_url: str = ""
    """Where sessions are kept (``DATABASE_URL`` unless set)."""
    db_schema: str = "console"
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

    @model_validator(mode="before")
    @classmethod
    def _platform_database(cls, values: Any) -> Any:
        if isinstance(values, dict):
            values.setdefault("database_url", os.environ.get("DATABASE_URL", ""))
        return values


def session_key() -> bytes:
    """The key sessions' tokens are sealed with: ``ZF_CONSOLE_SESSION_KEY`` (32 bytes, base64)
    or the file ``ZF_CONSOLE_SESSION_KEY_FILE`` names; in development mode only, a generated
    key kept in ~/.zhengfeng. Every replica must use the same key."""
    value = os.environ.get("ZF_CONSOLE_SESSION_KEY", "")
    if not value and (path := os.environ.get("ZF_CONSOLE_SESSION_KEY_FILE", "")):
        value = Path(path).read_text().strip()
    if not value:
        if not dev_mode():
            raise MissingSecret(
                "ZF_CONSOLE_SESSION_KEY (or ZF_CONSOLE_SESSION_KEY_FILE) is not set: the "
                "console seals its operators' tokens with it (32 bytes, base64). For a local "
                "run set ZF_DEV_MODE=1 to use a generated development key."
            )
        if not DEV_KEY_FILE.exists():
            DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(DEV_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another console made it first
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(base64.b64encode(secrets.token_bytes(32)).decode())
        value = DEV_KEY_FILE.read_text().strip()
    key = base64.b64decode(value)
    if len(key) != 32:
        raise ValueError("ZF_CONSOLE_SESSION_KEY must be 32 bytes, base64-encoded")
    return key
