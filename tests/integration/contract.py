"""Schemathesis against a service's OpenAPI: no request, valid or not, gets a 5xx, and
every request the schema allows is accepted or refused as the operation documents.

The shared harness of the services' contract tests. A service's test starts its app on
the real test database with a few matters that exist, serves it with uvicorn
(:func:`serve`), and hands :func:`fuzz` a :class:`Target`: tokens per audience, path
parameter values that exist (so that paths past "not found" are exercised), and valid
bodies where generated data cannot pass the domain's own checks. Each operation is
called with valid and invalid data generated from the schema; every answer is checked
against the schema too — status codes the OpenAPI declares and the bodies of every
answer, problems included (``libs/kit/openapi.py`` describes them) — and every request
generated as valid by :func:`schema_valid_accepted`: the schema says what the domain
refuses, so a schema-valid request is never refused as ``validation-error``. While it runs, every
request is watched for taking a second connection from the service's pool while it holds
one (issue 21: with a small pool, concurrent requests doing so wait on each other until
the pool times out).
"""

from __future__ import annotations

import asyncio
import copy
import os
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
)
from sqlalchemy import event
from starlette.types import Receive, Scope, Send

from libs.kit.openapi import refusal_types
from tests.integration.fixtures import eventually

EXAMPLES = int(os.environ.get("ZF_SCHEMATHESIS_EXAMPLES", "8"))
"""Generated calls per operation and mode (valid, invalid); raise it for a deeper run."""
SCENARIOS = int(os.environ.get("ZF_SCHEMATHESIS_SCENARIOS", "40"))
"""Stateful scenarios per service, each up to ``STEPS`` linked calls."""
STEPS = int(os.environ.get("ZF_SCHEMATHESIS_STEPS", "8"))
RUNS = 6
"""Runs of the state machine at most, each going on where the last one stopped."""
STATEFUL_SECONDS = SCENARIOS * STEPS
"""What the stateful phase adds to a contract test's time limit (a second a call, as on a
loaded machine)."""


@dataclass
class Target:
    url: str
    tokens: dict[str, dict[str, str]]
    """Audience -> headers carrying its token."""
    audience: Callable[[str, str], str | None]
    """(method, path) -> whose token the operation is for (None: public, no token)."""
    known: dict[str, list[str]] = field(default_factory=dict)
    """Path parameter -> values that exist."""
    valid_bodies: dict[str, Any] = field(default_factory=dict)
    """Operation label ("POST /v1/...") -> a body that passes the domain's checks."""
    fixed_headers: Callable[[str], dict[str, str] | None] = lambda path: None
    """Headers a path needs beyond the token, on the calls aimed at known matters."""
    examples: int = EXAMPLES
    scenarios: int = SCENARIOS
    """Stateful scenarios (chains of linked calls); 0 skips the stateful phase."""


_REQUEST: ContextVar[str | None] = ContextVar("request", default=None)
NESTED: dict[str, list[str]] = {}
"""Served URL -> the requests that took a second pool connection while holding one."""


def _watch_pool(app: FastAPI, found: list[str]) -> None:
    """Record each request (tagged by :func:`_tagged`) whose task checks a connection out
    of the service's pool while it already holds one."""
    engine = app.state.runtime.engine.sync_engine
    holder: dict[int, asyncio.Task[Any]] = {}
    held: Counter[asyncio.Task[Any]] = Counter()

    def checkout(dbapi: Any, record: Any, proxy: Any) -> None:
        request, task = _REQUEST.get(), asyncio.current_task()
        if request is None or task is None:
            return
        if held[task]:
            found.append(request)
        held[task] += 1
        holder[id(record)] = task

    def checkin(dbapi: Any, record: Any) -> None:
        if (task := holder.pop(id(record), None)) is not None:
            held[task] -= 1
            if not held[task]:
                del held[task]

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)


def _tagged(app: FastAPI) -> Callable[[Scope, Receive, Send], Any]:
    async def tagged(scope: Scope, receive: Receive, send: Send) -> None:
        token = _REQUEST.set(
            f"{scope['method']} {scope['path']}" if scope["type"] == "http" else None
        )
        try:
            await app(scope, receive, send)
        finally:
            _REQUEST.reset(token)

    return tagged


@asynccontextmanager
async def serve(app: FastAPI, *, lifespan: str = "off") -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free local port; yields its base URL.

    The lifespan is off by default: the caller usually runs it already (to set up data
    through an in-process client first)."""
    server = uvicorn.Server(
        uvicorn.Config(
            _tagged(app),
            host="127.0.0.1",
            port=0,
            log_config=None,
            lifespan=lifespan,
            interface="asgi3",
        )
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await eventually(started, "uvicorn to serve the app")
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    _watch_pool(app, NESTED.setdefault(url, []))
    try:
        yield url
    finally:
        NESTED.pop(url, None)
        server.should_exit = True
        await task


def _fuzz_operation(target: Target, operation: Any, stats: list[int]) -> str | None:
    """Call one operation with generated cases; the first failure found, if any."""
    audience = target.audience(operation.method.upper(), operation.path)
    headers = target.tokens[audience] if audience else {}
    known = [
        {name: value}
        for name, values in target.known.items()
        if f"{{{name}}}" in operation.path
        for value in values
    ]
    fixed_headers = target.fixed_headers(operation.path)
    strategies = [
        operation.as_strategy(generation_mode=mode)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    strategies += [
        operation.as_strategy(path_parameters=exists, headers=fixed_headers) for exists in known
    ]
    if (body := target.valid_bodies.get(operation.label)) is not None:
        # Generated data rarely passes the domain's own checks (ID check digits,
        # taxonomy codes); a valid body with generated headers gets past them.
        strategies += [
            operation.as_strategy(body=body, path_parameters=exists, headers=fixed_headers)
            for exists in known or [None]
        ]
    failed: list[str] = []
    accepted = schema_valid_accepted()

    @settings(
        max_examples=target.examples * len(strategies),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def check(case: Any) -> None:
        response = case.call(base_url=target.url, headers=headers, timeout=30)
        stats.append(response.status_code)
        try:
            case.validate_response(
                response,
                checks=[not_a_server_error, response_schema_conformance, accepted],
            )
        except (Exception, BaseExceptionGroup) as exc:  # kept: one run reports every operation
            failed.append(f"{operation.label}: {exc}")
            raise

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup
        return failed[-1] if failed else f"{operation.label}: {exc!r}"
    return None


def _fuzz(target: Target, document: dict[str, Any]) -> tuple[list[str], dict[str, list[int]]]:
    failures: list[str] = []
    stats: dict[str, list[int]] = {}
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        operation = result.ok()
        failure = _fuzz_operation(target, operation, stats.setdefault(operation.label, []))
        if failure is not None:
            failures.append(failure)
    return failures, stats


ACCEPTED = "2xx, 3xx, 401, 403, 404, 409, 412, 429"
"""Answers to a schema-valid request that refuse nothing in it: done; not signed in or not
allowed; no such matter; not in the state the command needs (409) or changed since read
(412); too often. The schema cannot say any of these, and each has its own problem type."""


def _accepted(status: int) -> bool:
    return status < 400 or status in (401, 403, 404, 409, 412, 429) or status >= 500


def schema_valid_accepted() -> Callable[[Any, Any, Any], bool | None]:
    """Schemathesis' ``positive_data_acceptance`` held to what the document promises: a
    request the schema allows gets one of :data:`ACCEPTED` or a refusal the operation
    documents as a domain refusal (a problem ``type`` among its answer's examples,
    ``libs.kit.openapi.refusals``: an ID number's check digit, dates out of order, a matter
    not in the state a command needs). Anything else — ``validation-error``,
    ``nul-character``, 400, 415, 428 — refuses what the schema allows: the schema fails to
    say it. 5xx is ``not_a_server_error``'s.
    """

    def check(ctx: Any, response: Any, case: Any) -> bool | None:
        if case.meta is None or not case.meta.generation.mode.is_positive:
            return None
        status = response.status_code
        if _accepted(status):
            return None
        try:
            kind = str(response.json().get("type"))
        except Exception:  # not a problem: no documented refusal either
            kind = "(not a problem)"
        if kind in refusal_types(case.operation.definition.raw, status):
            return None
        raise RejectedPositiveData(
            operation=case.operation.label,
            message=f"Schema-valid request refused as {kind}: {response.text[:500]}\n"
            f"Expected: {ACCEPTED} or a refusal the operation documents",
            status_code=status,
            allowed_statuses=ACCEPTED.split(", "),
        )

    check.__name__ = "schema_valid_accepted"
    return check


def _stateful(target: Target, document: dict[str, Any]) -> tuple[list[str], dict[str, list[int]]]:
    """Schemathesis' stateful phase: scenarios following the document's links (a matter
    made, then read, then commanded with the version read), every check on every answer."""
    stats: dict[str, list[int]] = {}
    failed: list[str] = []
    schema = schemathesis.openapi.from_dict(document)
    # Valid data along the links: invalid data is the per-operation phase's (a chain stops at
    # its first refusal, and an unknown query parameter is ignored, not refused).
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    machine = schema.as_state_machine()
    accepted = schema_valid_accepted()

    started = [0]

    class Scenarios(machine):  # type: ignore[valid-type, misc]
        def setup(self) -> None:
            started[0] += 1

        def before_call(self, case: Any) -> None:
            # Half the calls of an operation with a valid body send it (chosen by the
            # generated body, so a replay chooses the same), so that chains get past the
            # domain's own checks (ID check digits, taxonomy codes) to what follows.
            body = target.valid_bodies.get(case.operation.label)
            if body is not None and zlib.crc32(repr(case.body).encode()) % 2:
                case.body = copy.deepcopy(body)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            audience = target.audience(case.method.upper(), case.operation.path)
            headers = dict(target.tokens[audience]) if audience else {}
            return {"base_url": target.url, "headers": headers, "timeout": 30}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            stats.setdefault(case.operation.label, []).append(response.status_code)
            try:
                case.validate_response(
                    response,
                    additional_checks=[accepted],
                    excluded_checks=[positive_data_acceptance],
                    transport_kwargs=kwargs or None,
                    recorder=self.recorder,
                )
            except (Exception, BaseExceptionGroup) as exc:
                # Kept as found: a replay against the server's changed state may not find it
                # again (Hypothesis then only says the data generation was inconsistent).
                failed.append(f"stateful, {case.operation.label}: {exc}")
                raise

    # State on the server moves on between scenarios, so the same choices can lead elsewhere
    # (a matter verified once answers 409 the next time): Hypothesis then stops, saying the
    # data generation was inconsistent. As Schemathesis' own runner does, that ends a run but
    # is no failure; the next run, with other choices, goes on until the scenarios are done.
    for run in range(RUNS):
        left = target.scenarios - started[0]
        if left <= 0:
            break
        try:
            Scenarios.run(
                settings=settings(
                    max_examples=left,
                    stateful_step_count=STEPS,
                    deadline=None,
                    database=None,
                    derandomize=run == 0,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate],
                )
            )
            break
        except (Flaky, AssertionError) as exc:
            if failed or not (isinstance(exc, Flaky) or is_inconsistent_replay(exc)):
                return failed[:1] or [f"stateful: {exc!r}"], stats
        except (Exception, BaseExceptionGroup) as exc:
            return failed[:1] or [f"stateful: {exc}"], stats
    return failed[:1], stats


async def fuzz(target: Target) -> dict[str, dict[int, int]]:
    """Fuzz every operation of the served document, then run the stateful phase over its
    links; fails the test on any failure.

    Returns the status codes answered per operation."""
    async with httpx.AsyncClient(base_url=target.url) as http:
        document = (await http.get("/openapi.json")).json()

    failures, stats = (
        await asyncio.to_thread(_fuzz, target, document) if target.examples else ([], {})
    )
    if target.scenarios:
        found, followed = await asyncio.to_thread(_stateful, target, document)
        failures += found
        linked = sum(len(codes) for codes in followed.values())
        print(f"stateful: {target.scenarios} scenarios, {linked} calls")
        if os.environ.get("ZF_SCHEMATHESIS_VERBOSE"):
            for label, codes in sorted(followed.items()):
                print(f"  {label}: {dict(Counter(codes))}")

    answered = {label: dict(Counter(codes)) for label, codes in stats.items()}
    assert failures == [], "\n\n".join(failures) + f"\n\nstatus codes per operation: {answered}"
    nested = Counter(NESTED.get(target.url, []))
    assert not nested, f"requests holding two pool connections at once: {dict(nested)}"
    # Every operation was reached past authentication at least once.
    assert all(set(codes) - {401, 403} for codes in answered.values()), answered
    print(f"fuzzed {len(answered)} operations, {sum(map(len, stats.values()))} calls")
    return answered
