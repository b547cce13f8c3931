"""The composition of one service: app, store, relay, consumers, projections, endpoints.

Each ``services/<name>/app.py`` describes its parts in a ``ServiceParts`` and calls
``create_app``; everything they have in common — logging, errors, auth, metrics, health,
schemas, the background loops and their shutdown — lives here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry.trace import Tracer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.events import deadletters, kafka, pii, signing
from libs.events.asyncapi import asyncapi_document
from libs.events.consumer import ConsumerRunner, Handler, Trust
from libs.events.contracts import registry, schema_uri
from libs.events.envelope import Envelope, new_trace_id, trace_id_of
from libs.events.projections import Projection, ProjectionRunner
from libs.events.relay import Relay
from libs.events.sealing import TextSealer
from libs.events.signing import Keyring, Signer
from libs.events.store import EventStore
from libs.events.wakeup import Wakeup
from libs.kit import heap, jobs, metrics, openapi, problems, tracing
from libs.kit.auth import JwksFetcher, JwksVerifier, Principal, http_jwks_fetcher, require_roles
from libs.kit.commands import Gate, Pipeline
from libs.kit.db import make_engine
from libs.kit.docs import install_docs
from libs.kit.feed import feed_router
from libs.kit.jobs import Job
from libs.kit.limits import BodyLimit
from libs.kit.logs import correlation_id
from libs.kit.nul import RejectNul
from libs.kit.reconnect import RetryDeadConnection
from libs.kit.settings import ServiceSettings
from libs.kit.texts import OpenSealedTexts

log = logging.getLogger(__name__)


@dataclass
class ServiceParts:
    """What makes one service different from its siblings."""

    title: str
    routers: Sequence[APIRouter] = ()
    projections: Sequence[Projection] = ()
    make_handler: Callable[[EventStore], Handler] | None = None
    """Builds the consumer handler for other services' events, bound to this store."""
    subscribes_to: Sequence[str] = ()
    """Services whose event topics this service consumes."""
    on_start: Callable[[FastAPI], Awaitable[None]] | None = None
    jobs: Callable[[Runtime], Sequence[Job]] | None = None
    """The service's scheduled work, built once its runtime is up."""
    deps: Any = None
    """The service's own dependencies (rules, registries, data files), loaded once by its
    composition root and handed to every command step as ``ctx.deps``."""
    jwks_fetcher: Callable[[FastAPI], JwksFetcher] | None = None
    gate: Gate | None = None
    """What stands between a command and its effect: the service's approvals
    (``libs.kit.approvals.gate.Approvals``), loaded once by its composition root."""
    shares: Sequence[str] = ()
    """Families of events shared by several services that this one also records on its own
    stream (e.g. ``approvals``): its AsyncAPI lists them on its channel."""
    body_limits: Sequence[tuple[str, int]] = ()
    """Routes (path patterns) whose bodies may exceed ``max_body_bytes``, with their own
    limit in bytes: uploads and feeds, streamed and counted as they come."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Runtime:
    """The live parts of a running service, kept on ``app.state.runtime``."""

    settings: ServiceSettings
    engine: AsyncEngine
    store: EventStore
    producer: Any = None
    relay: Relay | None = None
    consumer: ConsumerRunner | None = None
    signer: Signer | None = None
    """Signs every event the service publishes (relay, catch-up feed)."""
    keyring: Keyring | None = None
    """Every service's public event keys: what the consumer believes."""
    projections: ProjectionRunner | None = None
    wakeup: Wakeup | None = None
    """Listens for the store's commits and wakes its relay and projections."""
    pipeline: Pipeline | None = None
    deps: Any = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


# The dependencies below are coroutines, though they only look something up: FastAPI runs a
# plain function dependency in a worker thread, two thread hand-offs per request for nothing
# (about 8 % of intake's CPU per transfer in bench.e2e, docs/operations.md).


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the service's runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_deps(request: Request) -> Any:
    """FastAPI dependency: the service's own dependencies (``ServiceParts.deps``)."""
    return request.app.state.deps


async def get_store(request: Request) -> EventStore:
    """FastAPI dependency: the service's event store."""
    runtime: Runtime = request.app.state.runtime
    return runtime.store


async def read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """FastAPI dependency: a connection for a request's reads of the read models."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.engine.connect() as conn:
        yield conn


ServiceRuntime = Annotated[Runtime, Depends(get_runtime)]
ReadConnection = Annotated[AsyncConnection, Depends(read_connection)]
"""A route's connection for reads (``queries.py`` functions take it); writes go through the
command pipeline or the service layer, which own their transactions."""
Store = Annotated[EventStore, Depends(get_store)]


async def _start_producer(bootstrap: str, stop: asyncio.Event) -> Any:
    delay = 0.5
    while True:
        producer = kafka.producer(bootstrap)
        try:
            await producer.start()
            return producer
        except Exception as exc:
            await producer.stop()
            if stop.is_set():
                raise
            log.warning("broker %s not reachable (%s); retrying in %.1fs", bootstrap, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _sealer_vault(app: FastAPI) -> pii.Vault:
    sealer = app.state.runtime.store.sealer
    assert isinstance(sealer, TextSealer)
    return sealer.vault


def create_app(settings: ServiceSettings, parts: ServiceParts) -> FastAPI:
    """Build a service's FastAPI app; background loops run inside its lifespan."""
    service = settings.service

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url, settings.db_schema, pool_size=settings.db_pool_size
        )
        store = EventStore(
            engine, source=settings.source, on_append=metrics.EVENTS_APPENDED.labels(service).inc
        )
        rt = Runtime(
            settings=settings,
            engine=engine,
            store=store,
            pipeline=Pipeline(store, parts.deps, parts.gate, tracer=tracer),
            deps=parts.deps,
        )
        app.state.runtime = rt
        rt.signer, rt.keyring = signing.load(service, kafka.SERVICES, settings.event_keys_dir)
        fetcher = (
            parts.jwks_fetcher(app) if parts.jwks_fetcher else http_jwks_fetcher(settings.jwks_url)
        )
        app.state.verifier = JwksVerifier(
            fetcher, issuer=settings.token_issuer, audience=settings.token_audience
        )
        if parts.on_start is not None:
            await parts.on_start(app)
        # Free text (reasons, notes, narratives) is sealed with the matter's key on append.
        vault = getattr(parts.deps, "vault", None) or pii.Vault.from_env(engine)
        try:  # now, not under a request's connection (else the first seal does it)
            await vault.ensure()
        except Exception as exc:  # the database not up yet: nothing is sealed before it is
            log.warning("personal-data vault not ready at start: %s", exc)
        store.sealer = TextSealer(vault)
        # One listening connection wakes the relay and the projections when the store
        # commits events; they look anyway every poll_fallback_seconds. It is held for
        # good, so it is not taken from the pool that requests and consumers share.
        listening = make_engine(
            settings.database_url, settings.db_schema, pooled=False, app="zhengfeng"
        )
        wakeup = Wakeup(listening, settings.db_schema)
        rt.wakeup = wakeup
        rt.tasks.append(asyncio.create_task(wakeup.run(rt.stop), name="wakeup"))
        fallback = settings.poll_fallback_seconds
        if parts.projections and settings.run_projections:
            rt.projections = ProjectionRunner(
                store, parts.projections, idle_interval=fallback, waiter=wakeup.waiter()
            )
            rt.tasks.append(asyncio.create_task(rt.projections.run(rt.stop), name="projections"))
        catch_up = rt.projections.catch_up if rt.projections is not None else None
        for job in parts.jobs(rt) if parts.jobs is not None else ():
            rt.tasks.append(asyncio.create_task(jobs.run(job, rt.stop, catch_up), name=job.name))
        bootstrap = settings.kafka_bootstrap_servers
        if bootstrap and (settings.run_relay or (parts.make_handler and settings.run_consumers)):
            rt.producer = await _start_producer(bootstrap, rt.stop)
            if settings.run_relay:
                relayed = metrics.EVENTS_RELAYED.labels(service)
                lag = metrics.RELAY_LAG.labels(service)

                def published(n: int, behind: int) -> None:
                    relayed.inc(n)
                    lag.set(behind)

                rt.relay = Relay(
                    store,
                    rt.producer,
                    kafka.events_topic(service),
                    bootstrap=bootstrap,
                    on_published=published,
                    partitions=settings.topic_partitions,
                    wipe_check_interval=settings.topic_check_interval_seconds or 2.0,
                    wipe_check_max_interval=settings.topic_check_max_interval_seconds,
                    signer=rt.signer,
                    on_held_back=metrics.RELAY_HELD_BACK.labels(service).set,
                    idle_interval=fallback,
                    waiter=wakeup.waiter(),
                    tracer=tracer,
                )
                with contextlib.suppress(Exception):
                    await rt.relay.reset_if_broker_was_wiped()
                rt.tasks.append(asyncio.create_task(rt.relay.run(rt.stop), name="relay"))
            if parts.make_handler is not None and settings.run_consumers:
                handler = parts.make_handler(store)
                rt.consumer = ConsumerRunner(
                    engine=engine,
                    store=store,
                    bootstrap=bootstrap,
                    group_id=kafka.consumer_group(service),
                    topics=[kafka.events_topic(s) for s in parts.subscribes_to],
                    handler=_correlated(handler, tracer),
                    handles=getattr(handler, "handles", None),
                    trust=Trust(
                        rt.keyring,
                        {kafka.events_topic(s): s for s in parts.subscribes_to},
                    ),
                    dead_letter_topic=kafka.dead_letter_topic(service),
                    producer=rt.producer,
                    max_attempts=settings.consumer_max_attempts,
                    backoff=settings.consumer_backoff_seconds,
                    session_timeout_ms=settings.consumer_session_timeout_ms,
                    concurrency=settings.consumer_concurrency,
                    records_per_transaction=settings.consumer_records_per_transaction,
                    fetch_wait_ms=settings.consumer_fetch_wait_ms,
                    busy_fetch_wait_ms=settings.consumer_busy_fetch_wait_ms,
                    on_lag=lambda topic, partition, lag: metrics.CONSUMER_LAG.labels(
                        service, topic, str(partition)
                    ).set(lag),
                    on_outcome=metrics.consumer_outcome_counter(service),
                )
                rt.tasks.append(
                    asyncio.create_task(_consume(rt.consumer, rt.stop, service), name="consumer")
                )
                redrive = jobs.Job(
                    "dead-letter-replays",
                    settings.dead_letter_replay_interval_seconds,
                    rt.consumer.redrive,
                )
                rt.tasks.append(asyncio.create_task(jobs.run(redrive, rt.stop), name=redrive.name))
        if rt.producer is not None and settings.topic_check_interval_seconds > 0:
            rt.tasks.append(asyncio.create_task(_keep_topics(rt, bootstrap), name="topic-keeper"))
        if settings.store_checkpoint_interval_seconds > 0:
            # Several replicas may do this at once; write_checkpoint serialises them and
            # skips when nothing is new.
            async def checkpoint() -> None:
                await store.write_checkpoint()

            checkpoints = jobs.Job(
                "store-checkpoints",
                settings.store_checkpoint_interval_seconds,
                checkpoint,
                at_start=False,
            )
            rt.tasks.append(
                asyncio.create_task(jobs.run(checkpoints, rt.stop), name=checkpoints.name)
            )
        log.info("%s ready on %s:%s", service, settings.host, settings.port)
        heap.settle()  # the collector set for a started service (libs/kit/heap.py)
        try:
            yield
        finally:
            heap.restore()
            rt.stop.set()
            for task in rt.tasks:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=15)
            if rt.producer is not None:
                await rt.producer.stop()
            with contextlib.suppress(Exception):  # readers in other processes wait for them
                await asyncio.wait_for(store.announced(), timeout=5)
            await engine.dispose()
            await listening.dispose()
            tracing.shutdown(traces)
            log.info("%s stopped", service)

    # OpenTelemetry only when an OTLP endpoint is configured (libs/kit/tracing.py).
    traces = tracing.provider_for(service)
    tracer = tracing.tracer_of(traces)
    app = FastAPI(
        title=parts.title,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=tracing.fastapi_telemetry(traces),  # type: ignore[arg-type]
    )
    install_docs(app)
    app.state.deps = parts.deps
    problems.install(app)
    openapi.install(app)
    # Inside the metrics: a request run again is counted once, by how it was answered.
    app.add_middleware(RetryDeadConnection)
    metrics.install(app, service)
    app.add_middleware(RejectNul)
    app.add_middleware(OpenSealedTexts, vault=lambda: _sealer_vault(app))
    # Outside every other but the correlation id: before authentication, parsing, NUL checks.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, routes=parts.body_limits)

    app.add_middleware(Correlate)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/.well-known/event-keys.json", tags=["streams"])
    async def event_keys(rt: ServiceRuntime) -> dict[str, Any]:
        """The public Ed25519 keys this service signs its events with, by key id (``kid``
        = ``ce_signingkeyid``): verify ``ce_signature`` over
        ``"zhengfeng-event-signature-v1:" + ce_eventhash``."""
        assert rt.keyring is not None
        rt.keyring.reload()
        return rt.keyring.jwks([service])

    broker_check = BrokerCheck()

    @app.get("/readyz", tags=["ops"])
    async def readyz(rt: ServiceRuntime) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with rt.engine.connect() as c:
                await c.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {exc}"
        if rt.producer is not None:
            checks["broker"] = await broker_check(rt.producer)
        else:
            checks["broker"] = "not configured"
        ready = all(v in ("ok", "not configured") for v in checks.values())
        status = "ready" if ready else "not ready"
        if rt.consumer is not None:
            # A consumer waiting out a fault is behind, not broken: still ready for HTTP.
            fault = rt.consumer.fault
            checks["consumer"] = "ok" if fault is None else f"degraded: retrying ({fault})"
            if ready and fault is not None:
                status = "degraded"
        return JSONResponse(
            {"status": status, "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/v1/dead-letters/summary", tags=["ops"])
    async def dead_letters_summary(
        rt: ServiceRuntime,
        reader: Annotated[Principal, require_roles("auditor", "supervisor", "leader")],
    ) -> dict[str, Any]:
        """死信: how many records this service's consumer parked and has not resolved, and the
        oldest (``zhengfeng dead-letters`` lists and replays them)."""
        async with rt.engine.connect() as c:
            return {"service": service, **await deadletters.summary(c)}

    @app.get("/v1/schemas", tags=["contracts"])
    async def schemas() -> list[dict[str, Any]]:
        return [
            {
                "type": c.type_name,
                "version": c.version,
                "schema": schema_uri(c.type_name, c.version),
                # Older versions stay served: stored events carry their dataschema.
                "versions": {v: schema_uri(c.type_name, v) for v in registry.versions(c.type_name)},
            }
            for c in registry
        ]

    @app.get("/v1/schemas/{type_name}/{version}", tags=["contracts"])
    async def schema(type_name: str, version: int) -> JSONResponse:
        if not registry.knows(type_name) or version not in registry.versions(type_name):
            raise problems.Problem(
                404,
                "unknown-schema",
                "事件结构不存在",
                f"本平台没有事件类型 {type_name} 的第 {version} 版。",
            )
        return JSONResponse(
            registry.json_schema(type_name, version), media_type="application/schema+json"
        )

    @app.get("/asyncapi.json", tags=["contracts"])
    @app.get("/v1/asyncapi.json", tags=["contracts"])
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document(
            service,
            registry,
            consumes=parts.subscribes_to,
            shares=parts.shares,
            kafka_host=settings.kafka_bootstrap_servers or "kafka:9092",
        )

    app.include_router(feed_router(service))
    for r in parts.routers:
        app.include_router(r)
    return app


class Correlate:
    """ASGI middleware: every request runs under a correlation id, answered in
    ``X-Correlation-ID``: the caller's, else the trace id of its W3C traceparent, else the
    trace FastAPI's span started (when tracing), else a new trace id. Every event the
    request causes carries it (and a traceparent from it).

    Plain ASGI, not ``app.middleware("http")``, which runs the rest of the app in a task
    group of its own with streams between: a cost on every request for nothing here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cid = (
            headers.get("x-correlation-id")
            or trace_id_of(headers.get("traceparent"))
            or tracing.current_trace_id()
            or new_trace_id()
        )
        started = False

        async def send_correlated(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)["X-Correlation-ID"] = cid
            await send(message)

        token = correlation_id.set(cid)
        try:
            await self.app(scope, receive, send_correlated)
        except Exception as exc:
            if started:
                raise
            # Answered here, not by Starlette's outermost error middleware, so that the
            # log line and the 500 both carry this request's correlation id.
            response = problems.internal_error(Request(scope), exc)
            response.headers["X-Correlation-ID"] = cid
            await response(scope, receive, send)
        finally:
            correlation_id.reset(token)


BROKER_CHECK_SECONDS = 3.0
"""How long ``/readyz`` keeps the broker's last answer."""


class BrokerCheck:
    """The broker's answer to a metadata request, for ``/readyz``: asked at most once every
    ``BROKER_CHECK_SECONDS`` — the 系统 page, a probe and a dashboard asking at once share
    one round trip instead of each making its own; never older than that."""

    def __init__(self, seconds: float = BROKER_CHECK_SECONDS) -> None:
        self.seconds = seconds
        self._answer = ""
        self._at = -float("inf")
        self._asking: asyncio.Future[str] | None = None

    async def __call__(self, producer: Any) -> str:
        loop = asyncio.get_running_loop()
        if loop.time() - self._at < self.seconds:
            return self._answer
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask(producer))
        # Shielded: one caller going away does not cancel the others' answer.
        return await asyncio.shield(self._asking)

    async def _ask(self, producer: Any) -> str:
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=3)
            answer = "ok"
        except Exception as exc:
            answer = f"unavailable: {exc!r}"
        self._answer, self._at, self._asking = answer, asyncio.get_running_loop().time(), None
        return answer


def _correlated(handler: Handler, tracer: Tracer = tracing.NO_OP) -> Handler:
    """Log a consumed event's handling under the correlation id it carries (and trace it
    under the event's traceparent when tracing)."""

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        token = correlation_id.set(envelope.correlationid)
        try:
            with tracing.handling(tracer, envelope):
                await handler(conn, envelope)
        finally:
            correlation_id.reset(token)

    return handle


async def _keep_topics(rt: Runtime, bootstrap: str) -> None:
    """Make the service's topics again when the broker has lost them, and recover.

    A broker that lost its data (the embedded one keeps nothing across a restart) comes
    back without topics; producing to one that is not made again leaves it half there
    (offset commits on it fail). So: make missing topics, give the relay and the
    consumer's dead-letter path a fresh producer, and have the relay republish the store
    when its own topic was among them — consumers' inboxes drop what they already had.
    """
    settings = rt.settings
    # Only the service's own topics: another service's are its owner's to make again
    # (with its own store to republish).
    own = kafka.events_topic(settings.service)
    topics = [own, kafka.dead_letter_topic(settings.service)]
    # Partitions per topic as last seen: a topic made again keeps its count, so that keys
    # land on the partitions they did and consumers' assignments stay whole.
    partitions = dict.fromkeys(topics, settings.topic_partitions)
    base = settings.topic_check_interval_seconds
    wait = base
    while not rt.stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rt.stop.wait(), timeout=wait)
        if rt.stop.is_set():
            return
        # Until this look finds every topic there: then the next one waits twice as long.
        waited, wait = wait, base
        for topic in topics:
            known = rt.producer.client.cluster.partitions_for_topic(topic)
            if known:
                partitions[topic] = len(known)
        created = []
        try:
            for count in sorted(set(partitions.values())):
                same = [t for t in topics if partitions[t] == count]
                created += await kafka.ensure_topics(bootstrap, same, count)
        except Exception as exc:  # broker down or topics managed elsewhere: look again later
            log.debug("topic check failed: %r", exc)
            continue
        if not created:
            wait = min(waited * 2, max(settings.topic_check_max_interval_seconds, base))
            continue
        log.warning("broker lost topics %s: made them again", created)
        try:
            fresh = await _start_producer(bootstrap, rt.stop)
        except Exception:
            return  # stopping
        stale, rt.producer = rt.producer, fresh
        if rt.relay is not None:
            rt.relay.producer = fresh
            if own in created:
                rt.relay.broker_lost_data()
        if rt.consumer is not None:
            rt.consumer.producer = fresh
        with contextlib.suppress(Exception):
            await stale.stop()


async def _consume(consumer: ConsumerRunner, stop: asyncio.Event, service: str) -> None:
    # The consumer reconnects on its own; if it dies (broker gone), start it again.
    while not stop.is_set():
        try:
            await consumer.run(stop)
        except Exception:
            log.exception("consumer of %s crashed; restarting", service)
            await asyncio.sleep(1.0)
