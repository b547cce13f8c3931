"""Before the first act: where the platform is, who the players are, how they log in.

Everything the scenario does goes over the services' HTTP APIs. The one thing that has no
HTTP API is creating the players' accounts (partner clients, system clients, operator
accounts): that is what ``zhengfeng clients create`` does, and the demo does the same
(``libs.kit.issuer.create_client`` on intake's database) once, keeping the credentials
in ``<data-dir>/demo-accounts.json`` for later runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.console import Console

from libs.kit.db import make_engine
from libs.kit.issuer import create_client
from libs.kit.settings import DEFAULT_PORTS, settings_class
from services.analysis.generator import FEED_ORDER

T = TypeVar("T")

SERVICES = ("intake", "analysis", "casework", "accountability")


ACCOUNTS: dict[str, dict[str, Any]] = {
    "audit": {"kind": "partner", "name": "青山县审计局", "department": "audit",
              "scopes": ["clue:transfer"]},
    "tax": {"kind": "partner", "name": "青山县税务局", "department": "tax",
            "scopes": ["clue:transfer"]},
    "police": {"kind": "partner", "name": "青山县公安局", "department": "police",
               "scopes": ["clue:transfer"]},
    "inspection": {"kind": "partner", "name": "县委第二巡察组", "department": "inspection-2",
                   "scopes": ["clue:transfer", "source:inspection", "findings:report"]},
    "hotline": {"kind": "system", "name": "青山县12345政务服务便民热线",
                "scopes": ["hotline:orders"]},
    "data": {"kind": "system", "name": "青山县大数据中心",
             "scopes": [f"feeds:{kind}" for kind in FEED_ORDER]},
    "subscriber": {"kind": "system", "name": "青山县政务数据共享平台",
                   "scopes": ["events:read"]},
    "clerk": {"kind": "operator", "name": "信访室 张敏", "roles": ["clerk"]},
    "officer": {"kind": "operator", "name": "第一监督检查室 承办人 李强",
                "roles": ["investigator", "analyst"]},
    "leader": {"kind": "operator", "name": "县纪委监委 分管领导 王书记",
               "roles": ["leader", "supervisor"]},
    "director": {"kind": "operator", "name": "第一监督检查室 主任 陈刚", "roles": ["director"]},
    "secretary": {"kind": "operator", "name": "县纪委监委 主要负责人 周书记",
                  "roles": ["secretary"]},
    "reviewer": {"kind": "operator", "name": "案件审理室 审理员 孙悦", "roles": ["reviewer"]},
    "accountability": {"kind": "operator", "name": "党风政风监督室 赵丽",
                       "roles": ["accountability"]},
    "organisation": {"kind": "system", "name": "中共青山县委组织部", "roles": ["organisation"]},
    "admin": {"kind": "operator", "name": "县纪委监委 办公室 系统管理员 何静", "roles": ["admin"]},
}  # fmt: skip
"""The players: three partner departments, a 巡察组, four systems, seven operators who do
the work and an administrator (系统管理员) who keeps the accounts."""


def service_url(service: str) -> str:
    """``ZF_<SERVICE>_URL``, else the port ``zhengfeng up`` uses (``ZF_<SERVICE>_PORT``)."""
    prefix = f"ZF_{service.upper()}_"
    if url := os.environ.get(prefix + "URL"):
        return url.rstrip("/")
    port = os.environ.get(prefix + "PORT") or DEFAULT_PORTS[service]
    return f"http://127.0.0.1:{port}"


def platform_is_up(urls: dict[str, str]) -> list[str]:
    """The services that do not answer ``/readyz`` with 200."""
    down = []
    for service, url in urls.items():
        try:
            if httpx.get(f"{url}/readyz", timeout=3).status_code == 200:
                continue
        except httpx.HTTPError:
            pass
        down.append(service)
    return down


def database_url(data_dir: Path) -> str | None:
    """Intake's database: ``ZF_INTAKE_DATABASE_URL`` or ``DATABASE_URL``, else the one
    ``zhengfeng up`` recorded in ``<data-dir>/platform.json``."""
    for variable in ("ZF_INTAKE_DATABASE_URL", "DATABASE_URL"):
        if url := os.environ.get(variable, "").strip():
            return url
    recorded = data_dir / "platform.json"
    if recorded.exists():
        platform = json.loads(recorded.read_text())
        return str((platform.get("database_urls") or {}).get("intake") or platform["database_url"])
    return None


def accounts(
    data_dir: Path, db_url: str | None, run: str, *, fresh: bool = False
) -> dict[str, dict[str, Any]]:
    """The players' credentials: read from ``demo-accounts.json``, missing ones created.

    ``fresh`` creates them all again (the platform's database was reset since).
    """
    path = data_dir / "demo-accounts.json"
    known: dict[str, dict[str, Any]] = (
        json.loads(path.read_text()) if path.exists() and not fresh else {}
    )
    missing = {key: spec for key, spec in ACCOUNTS.items() if key not in known}
    if not missing:
        return known
    if db_url is None:
        raise SystemExit(
            "The demo creates its accounts in intake's database (as `zhengfeng clients create` "
            "does) and cannot find it: set DATABASE_URL, or start the platform with "
            "`zhengfeng up`, which records it in <data-dir>/platform.json."
        )

    async def create() -> dict[str, dict[str, Any]]:
        schema = settings_class("intake")(database_url=db_url).db_schema
        engine = make_engine(db_url, schema, pooled=False)
        try:
            return {
                key: asdict(await create_client(engine, client_id=f"demo-{key}-{run}", **spec))
                for key, spec in missing.items()
            }
        finally:
            await engine.dispose()

    known.update(asyncio.run(create()))
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, ensure_ascii=False, indent=2))
    path.chmod(0o600)
    return known


@dataclass
class Session:
    """One HTTP client, the platform's URLs, a bearer token per player, a printer."""

    urls: dict[str, str]
    creds: dict[str, dict[str, Any]]
    console: Console
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))
    _tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, service: str, path: str) -> str:
        """A service's URL for ``path``."""
        return f"{self.urls[service]}{path}"

    def auth(self, player: str) -> dict[str, str]:
        """``Authorization`` for a player, from intake's token issuer (cached)."""
        if player not in self._tokens:
            cred = self.creds[player]
            form = (
                {"grant_type": "password", "username": cred["client_id"],
                 "password": cred["client_secret"]}
                if cred["kind"] == "operator"
                else {"grant_type": "client_credentials", "client_id": cred["client_id"],
                      "client_secret": cred["client_secret"]}
            )  # fmt: skip
            response = self.http.post(self.url("intake", "/oauth/token"), data=form)
            expect(response, 200, f"token for {player}")
            self._tokens[player] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return self._tokens[player]

    def can_log_in(self, player: str) -> bool:
        """Whether the issuer knows this player (a reset database forgets the accounts)."""
        try:
            self.auth(player)
        except DemoError:
            return False
        return True

    def call(
        self,
        player: str | None,
        method: str,
        service: str,
        path: str,
        *,
        expected: tuple[int, ...] = (200, 201),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request as ``player`` (None: no login); anything unexpected stops the demo."""
        all_headers = {**(self.auth(player) if player else {}), **(headers or {})}
        response = self.http.request(method, self.url(service, path), headers=all_headers, **kwargs)
        expect(response, expected, f"{method} {service}{path}")
        return response

    def get(self, player: str, service: str, path: str, **kwargs: Any) -> Any:
        """GET as ``player``; the JSON body."""
        return self.call(player, "GET", service, path, **kwargs).json()

    def command(
        self, player: str, service: str, path: str, resource: str, body: dict[str, Any], key: str
    ) -> httpx.Response:
        """POST a command with ``If-Match`` (the resource's current ``ETag``) and a key; 202
        is a proposal waiting for its sign-offs.

        As a clerk would: when the matter moved between reading and sending (another
        service's note on it, 409 stale-version), read it again and send again — under a
        new key, since the refused attempt did nothing.
        """
        for attempt in range(5):
            etag = self.call(player, "GET", service, resource).headers["ETag"]
            response = self.call(
                player,
                "POST",
                service,
                path,
                json=body,
                headers={
                    "If-Match": etag,
                    "Idempotency-Key": key if not attempt else f"{key}-{attempt}",
                },
                expected=(200, 201, 202, 409),
            )
            if response.status_code != 409 or not _stale(response):
                break
        expect(response, (200, 201, 202), f"POST {service}{path}")
        return response

    def say(self, text: str) -> None:
        """One line of the story."""
        self.console.print(f"  {text}")


def _stale(response: httpx.Response) -> bool:
    """A 409 because the matter moved since it was read (not a refusal of the command)."""
    return str(response.json().get("type", "")).endswith("/stale-version")


class DemoError(RuntimeError):
    """The platform did not answer the way the scenario expects."""


def expect(response: httpx.Response, status: int | tuple[int, ...], what: str) -> None:
    """Stop with the problem document when the status is not the expected one."""
    wanted = (status,) if isinstance(status, int) else status
    if response.status_code not in wanted:
        raise DemoError(f"{what}: HTTP {response.status_code}\n{response.text[:2000]}")


def eventually(check: Callable[[], T | None], *, what: str, within: float = 120.0) -> T:
    """Poll ``check`` until it returns something; events take a moment between services."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise DemoError(f"{what}: not seen within {within:.0f}s")
        time.sleep(0.3)
