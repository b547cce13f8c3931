"""OpenTelemetry spans where they are cheap, exported over OTLP/HTTP only when configured.

The platform's W3C trace id is its correlation id (``libs/kit/service.py`` takes it from a
caller's ``traceparent`` or starts one), and every event carries it as the CloudEvents
``traceparent`` with the event as span (``libs/events/envelope.py``). The spans here keep
to those ids, so one trace follows a partner's POST through every service it reaches:

- an HTTP request: FastAPI's own server span (``FastAPI(telemetry=...)``), a child of the
  caller's ``traceparent``, or the root of a new trace whose id becomes the correlation id;
- a command run by the pipeline: ``command <name>``, a child of whatever is current;
- a relay publish: ``publish <type>``, whose span id *is* the event's (the span id of its
  ``traceparent``) in the trace of its correlation id;
- a consumer's handling: ``handle <type>``, a child of the event's ``traceparent``, so of
  the relay's publish span; the commands it causes are its children.

Nothing is set up unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set: no SDK is imported, the tracer is the API's
no-op one and FastAPI's own telemetry stays off. Each service has a provider of its own
(``service.name`` = ``zhengfeng-<service>``), not the process-wide one, so that services
sharing a process are told apart. The standard ``OTEL_*`` variables apply (headers,
timeout, ``OTEL_BSP_*`` batching, ``OTEL_SDK_DISABLED``, ``OTEL_RESOURCE_ATTRIBUTES``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
    TracerProvider,
)

if TYPE_CHECKING:
    from libs.events.envelope import Envelope

ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
NO_OP: Tracer = trace.NoOpTracer()

_TRACE_ID: ContextVar[int | None] = ContextVar("zf_trace_id", default=None)
_SPAN_ID: ContextVar[int | None] = ContextVar("zf_span_id", default=None)


def configured() -> bool:
    """Whether spans are to be exported (an OTLP endpoint is set and the SDK not disabled)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_ENVS)


def provider_for(service: str) -> TracerProvider | None:
    """A tracer provider exporting ``service``'s spans over OTLP/HTTP; None if not configured."""
    if not configured():
        return None
    # Imported here: without an endpoint the SDK is never loaded.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class _Ids(RandomIdGenerator):
        """Random ids, except where the platform's ids must be the span's (see ``_ids``)."""

        def generate_trace_id(self) -> int:
            return _TRACE_ID.get() or super().generate_trace_id()

        def generate_span_id(self) -> int:
            return _SPAN_ID.get() or super().generate_span_id()

    class _QueryValuesRedacted(SpanProcessor):
        """A query string can hold a name (a search by masked name): spans keep its keys."""

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            query = (span.attributes or {}).get("url.query")
            if isinstance(query, str) and query:
                pairs = parse_qsl(query, keep_blank_values=True)
                span.set_attribute("url.query", urlencode([(k, "REDACTED") for k, _ in pairs]))

    resource = Resource.create(
        {"service.name": f"zhengfeng-{service}", "service.namespace": "zhengfeng"}
    )
    provider = SdkTracerProvider(resource=resource, id_generator=_Ids(), shutdown_on_exit=True)
    provider.add_span_processor(_QueryValuesRedacted())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def tracer_of(provider: TracerProvider | None) -> Tracer:
    """The platform's tracer from ``provider``; the no-op tracer when there is none."""
    return provider.get_tracer("zhengfeng") if provider is not None else NO_OP


def shutdown(provider: TracerProvider | None) -> None:
    """Export what is left and stop (a service's shutdown)."""
    if provider is not None:
        with contextlib.suppress(Exception):
            provider.shutdown()  # type: ignore[attr-defined]


def fastapi_telemetry(provider: TracerProvider | None) -> dict[str, Any]:
    """``FastAPI(telemetry=...)``: HTTP server spans from ``provider``, nothing else; all off
    without one."""
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}
    return {
        "tracer_provider": provider,
        "tracing": True,
        "metrics": False,  # Prometheus has them (libs/kit/metrics.py)
        "logs": False,
        "operation_spans": False,  # one span per request is the cheap part
        "auto_configure": False,
    }


def current_trace_id() -> str | None:
    """The trace id of the current span (e.g. FastAPI's server span), if one is recording."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def _event_ids(envelope: Envelope) -> tuple[int, int] | None:
    """(trace id, span id) of the event's ``traceparent``; None for an untraced event."""
    parent = envelope.traceparent
    if parent is None:
        return None
    _, trace_id, span_id, _ = parent.split("-")
    return int(trace_id, 16), int(span_id, 16)


def event_attributes(envelope: Envelope) -> dict[str, str]:
    return {
        "cloudevents.event_id": str(envelope.id),
        "cloudevents.event_type": envelope.type,
        "cloudevents.event_source": envelope.source,
        "cloudevents.event_subject": envelope.subject,
        "messaging.system": "kafka",
    }


def start_publish_span(tracer: Tracer, envelope: Envelope, topic: str) -> Span | None:
    """The event's own span (its ``traceparent``'s span id) for its publish; None when not
    tracing or the event has no trace."""
    if tracer is NO_OP or (ids := _event_ids(envelope)) is None:
        return None
    trace_token, span_token = _TRACE_ID.set(ids[0]), _SPAN_ID.set(ids[1])
    try:
        return tracer.start_span(
            f"publish {envelope.type}",
            context=trace.set_span_in_context(trace.INVALID_SPAN),  # a root in the trace
            kind=SpanKind.PRODUCER,
            attributes={
                **event_attributes(envelope),
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
            },
        )
    finally:
        _TRACE_ID.reset(trace_token)
        _SPAN_ID.reset(span_token)


@contextlib.contextmanager
def handling(tracer: Tracer, envelope: Envelope) -> Iterator[None]:
    """A consumer's handling of ``envelope``: a span under the event's ``traceparent``."""
    if tracer is NO_OP or (ids := _event_ids(envelope)) is None:
        yield
        return
    parent = NonRecordingSpan(
        SpanContext(ids[0], ids[1], is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    )
    with tracer.start_as_current_span(
        f"handle {envelope.type}",
        context=trace.set_span_in_context(parent),
        kind=SpanKind.CONSUMER,
        attributes={**event_attributes(envelope), "messaging.operation.type": "process"},
    ):
        yield


@contextlib.contextmanager
def command(tracer: Tracer, name: str, stream_id: str | None) -> Iterator[None]:
    """A command run by the pipeline, under whatever span is current."""
    if tracer is NO_OP:
        yield
        return
    attributes = {"zhengfeng.command": name}
    if stream_id is not None:
        attributes["zhengfeng.stream_id"] = stream_id
    with tracer.start_as_current_span(f"command {name}", attributes=attributes):
        yield
