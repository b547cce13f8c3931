"""``zhengfeng pii index-key`` and ``zhengfeng pii rewrap``: rotating the personal-data
master key without losing a person.

Data keys are wrapped by the master key; blind indexes (how a person is found again) are
keyed by the index key, which a deployment that never set ``ZF_PII_INDEX_KEY`` derives from
the master key. Rotation, as deploy/README.md walks through it:

1. ``zhengfeng pii index-key`` while the old key is current; store what it prints as the
   secret ``ZF_PII_INDEX_KEY`` (it stays when the master key changes);
2. the new key as ``ZF_PII_MASTER_KEY``, the old one in ``ZF_PII_PREVIOUS_MASTER_KEYS``;
   restart the services (they open keys under either);
3. ``zhengfeng pii rewrap``: every data key wrapped under the new key (safe to repeat);
4. drop the old key from ``ZF_PII_PREVIOUS_MASTER_KEYS``; restart.
"""

from __future__ import annotations

import asyncio
import base64
import json

import typer


def index_key() -> None:
    """Print the blind-index key (base64) to store as the secret ZF_PII_INDEX_KEY."""
    from libs.events import pii

    master = pii.master_key_from_env()
    key = pii.index_key_from_env(master, pii.previous_master_keys_from_env())
    typer.echo(base64.b64encode(key).decode())


def rewrap() -> None:
    """Wrap every person's data key under the current master key (after a rotation)."""
    from libs.events.pii import Vault
    from libs.kit.db import make_engine
    from zhengfeng.cli import _settings

    settings = _settings("intake")

    async def go() -> dict[str, int]:
        engine = make_engine(settings.database_url, settings.db_schema, pooled=False)
        try:
            done = await Vault.from_env(engine, settings.pii_vault_schema).rewrap()
        finally:
            await engine.dispose()
        return {"rewrapped": done.rewrapped, "already_current": done.already_current}

    try:
        counts = asyncio.run(go())
    except LookupError as exc:
        typer.echo(f"未能重新封装：{exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(counts))
