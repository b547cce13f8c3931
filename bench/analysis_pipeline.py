"""Analysis pipeline bench: a synthetic county through feed ingestion and every rule.

    python -m bench.analysis_pipeline            # 1M GPS points + ~100k fuel + ~100k invoices, and half that
    BENCH_SCALE=0.1 python -m bench.analysis_pipeline   # a quick look

Each size runs in its own subprocess: generate the county, POST every feed (streamed
from the file, gzip) to an in-process analysis app on a fresh schema of the local
PostgreSQL with rules off, then run all rules over the whole period. Prints rows/s for
ingestion, the rules' time, alerts raised, and the subprocess's peak RSS (the app and
its HTTP client; PostgreSQL's own memory is not counted). Asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

SCALE = float(os.environ.get("BENCH_SCALE") or 1)
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/{db}"


def sizes(scale: float) -> dict[str, Any]:
    """Generator sizes for about 1M GPS points, 100k fuel transactions, 100k invoices at 1."""
    vehicles = max(17, round(1700 * scale))
    return {
        "vehicles": vehicles,
        "units": 20,
        "months": 3,
        "gps_interval_s": 1500,
        "refuel_every_days": 1,
        "invoices_per_unit_month": max(12, round(1667 * scale)),
    }


async def _body(path: Path, chunk: int = 1 << 16) -> AsyncIterator[bytes]:
    """The file, gzip-compressed on the fly, a chunk at a time (as a partner would send it)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with path.open("rb") as f:
        while piece := f.read(chunk):
            if out := packer.compress(piece):
                yield out
    yield packer.flush()


class _Mint:
    """Signs tokens the app accepts (its JWKS is handed to the app directly)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": "bench", "use": "sig", "alg": "RS256"})
        self.jwks = {"keys": [jwk]}

    def bearer(self, **claims: Any) -> dict[str, str]:
        import jwt

        now = int(time.time())
        body = {
            "iss": "zhengfeng",
            "aud": "zhengfeng",
            "sub": "bench",
            "iat": now,
            "exp": now + 86400,
        }
        body.update(claims)
        return {
            "Authorization": "Bearer "
            + jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "bench"})
        }


async def _run(scale: float) -> dict[str, Any]:
    import httpx
    from sqlalchemy import text

    from libs.kit.db import make_engine
    from libs.kit.migrations import upgrade_async
    from libs.runtime.infra import ensure_database
    from services.analysis import app as analysis_app
    from services.analysis.feeds.spec import FEEDS
    from services.analysis.generator import Size, generate

    url = await ensure_database(LOCAL_POSTGRES, "zhengfeng_bench")
    schema = f"bench_analysis_{os.getpid()}"
    out: dict[str, Any] = {"scale": scale}
    with tempfile.TemporaryDirectory(prefix="zf-county-") as tmp:
        t = time.perf_counter()
        manifest = generate(3, Path(tmp), Size(**sizes(scale)))
        out["generate_s"] = round(time.perf_counter() - t, 1)
        rows = {k: v["rows"] for k, v in manifest["feeds"].items()}
        out["rows"] = rows
        await upgrade_async(url, "analysis", schema)
        mint = _Mint()

        async def jwks() -> dict[str, Any]:
            return mint.jwks

        settings = analysis_app.Settings(
            database_url=url, db_schema=schema, kafka_bootstrap_servers=""
        )
        app = analysis_app.create(settings, jwks_fetcher=lambda app: jwks)
        partner = mint.bearer(kind="system", scope=" ".join(s.scope for s in FEEDS.values()))
        analyst = mint.bearer(kind="operator", roles=["analyst"])
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://a", timeout=None
                ) as http:
                    ingest: dict[str, Any] = {}
                    total_t = 0.0
                    for kind in manifest["order"]:
                        t = time.perf_counter()
                        r = await http.post(
                            f"/v1/feeds/{kind}/batches/{kind}-1",
                            params={"run_rules": "false"},
                            content=_body(Path(tmp) / f"{kind}.ndjson"),
                            headers={
                                **partner,
                                "Content-Type": "application/x-ndjson",
                                "Content-Encoding": "gzip",
                            },
                        )
                        dt = time.perf_counter() - t
                        total_t += dt
                        assert r.status_code == 201, r.text
                        ingest[kind] = {"rows": r.json()["accepted"], "s": round(dt, 2)}
                    out["ingest"] = ingest
                    out["ingest_rows"] = sum(v["rows"] for v in ingest.values())
                    out["ingest_s"] = round(total_t, 1)
                    t = time.perf_counter()
                    r = await http.post(
                        "/v1/rules/run",
                        json={
                            "period_from": "2025-12-31T00:00:00+08:00",
                            "period_to": "2026-04-01T00:00:00+08:00",
                        },
                        headers=analyst,
                    )
                    assert r.status_code == 200, r.text
                    out["rules_s"] = round(time.perf_counter() - t, 1)
                    out["alerts"] = r.json()["raised"]
                    rule_s = {}
                    for rule_id in app.state.deps.catalogue:
                        t = time.perf_counter()
                        r = await http.post(
                            "/v1/rules/run",
                            json={
                                "period_from": "2025-12-31T00:00:00+08:00",
                                "period_to": "2026-04-01T00:00:00+08:00",
                                "rules": [rule_id],
                            },
                            headers=analyst,
                        )
                        rule_s[rule_id] = round(time.perf_counter() - t, 2)
                    out["rule_seconds"] = rule_s
        finally:
            admin = make_engine(url, "public", pooled=False)
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await admin.dispose()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(_run(float(sys.argv[2])))))
        return
    results = []
    for scale in (SCALE / 2, SCALE):
        proc = subprocess.run(
            [sys.executable, "-m", "bench.analysis_pipeline", "--child", str(scale)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(proc.returncode)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    for r in results:
        gps, fuel, inv = (r["rows"][k] for k in ("gps_points", "fuel_transactions", "invoices"))
        print(
            f"scale {r['scale']:<5} gps {gps:>9,} fuel {fuel:>7,} invoices {inv:>7,} | "
            f"generate {r['generate_s']:>6}s | ingest {r['ingest_rows']:>9,} rows in {r['ingest_s']:>6}s "
            f"= {r['ingest_rows'] / r['ingest_s']:>8,.0f} rows/s | all rules {r['rules_s']:>6}s "
            f"({r['alerts']} alerts) | end-to-end {r['ingest_rows'] / (r['ingest_s'] + r['rules_s']):>8,.0f} rows/s "
            f"| peak RSS {r['peak_rss_mb']} MB"
        )
        for kind, v in r["ingest"].items():
            if v["rows"] > 10000:
                print(
                    f"    {kind:<18} {v['rows']:>9,} rows {v['s']:>7}s  {v['rows'] / v['s']:>9,.0f} rows/s"
                )
        slow = sorted(r["rule_seconds"].items(), key=lambda kv: -kv[1])[:5]
        print("    slowest rules (re-run alone): " + ", ".join(f"{k} {s}s" for k, s in slow))


if __name__ == "__main__":
    main()
