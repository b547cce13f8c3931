"""Intake: the front door. Partner transfers in, clue events out; the token issuer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from libs.events.projections import Projection
from libs.events.taxonomy import load as load_taxonomy
from libs.kit.issuer import Issuer
from libs.kit.issuer import router as issuer_router
from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings
from libs.kit.workdays import load as load_calendar
from services.intake import jobs
from services.intake.api import router
from services.intake.domain.cadres import load_cadre_rules
from services.intake.domain.duplicates import load_rules
from services.intake.domain.jurisdiction import JurisdictionRules, load_registry
from services.intake.handlers import HANDLERS, make_handler
from services.intake.projections import (
    ClueDeskProjection,
    IntakeDeadlinesProjection,
    ShreddedPersonsForgotten,
    TransfersProjection,
)
from services.intake.ratelimit import SharedWindow
from services.intake.service import Deps
from services.intake.settings import IntakeSettings, Settings

SUBSCRIBES_TO = HANDLERS.producers
"""Whose events this service consumes (casework's, to tell sources what became of clues):
the services whose events its handlers take."""


def read_models(settings: ServiceSettings) -> list[Projection]:
    """Intake's read models, as the service keeps them live and as a rebuild replays them."""
    return [
        TransfersProjection(),
        IntakeDeadlinesProjection(),
        ShreddedPersonsForgotten(),
        ClueDeskProjection(),
    ]


def create(
    settings: ServiceSettings | None = None, *, today: Callable[[], date] | None = None
) -> FastAPI:
    """The intake app; ``today`` is the deadline scheduler's calendar day (tests pass one)."""
    settings = settings or Settings()
    assert isinstance(settings, IntakeSettings)
    zone = ZoneInfo(settings.timezone)
    local_today = today or (lambda: datetime.now(zone).date())
    issuer = Issuer(
        None,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
    )

    rules = load_rules(settings.duplicate_rules_file)
    if settings.duplicate_window_days is not None:
        rules = replace(rules, window_days=settings.duplicate_window_days)
    deps = Deps(
        settings=settings,
        taxonomy=load_taxonomy(),
        duplicate_rules=rules,
        jurisdiction=JurisdictionRules(
            registry=load_registry(settings.jurisdiction_file or None),
            calendar=load_calendar(settings.workday_overrides_file or None),
            forward_workdays=settings.forward_workdays,
            cadres=load_cadre_rules(settings.cadre_rules_file or None),
        ),
        report_limiter=SharedWindow(settings.reports_per_address_per_hour, 3600.0),
    )

    async def on_start(app: FastAPI) -> None:
        issuer.engine = app.state.runtime.engine
        await issuer.load_keys()
        await deps.start(app.state.runtime.engine)

    app = create_app(
        settings,
        ServiceParts(
            title="Zhengfeng intake (线索受理)",
            routers=[router, issuer_router(issuer)],
            projections=read_models(settings),
            on_start=on_start,
            jobs=lambda rt: [
                jobs.forget_idle_addresses(deps.report_limiter, rt.store.engine),
                *(
                    [
                        jobs.deadlines(
                            rt.store,
                            local_today,
                            settings.escalate_to or None,
                            settings.scheduler_interval_seconds,
                        )
                    ]
                    if settings.run_scheduler
                    else []
                ),
            ],
            make_handler=make_handler,
            subscribes_to=SUBSCRIBES_TO,
            jwks_fetcher=lambda app: issuer.fetch_jwks,
            deps=deps,
            # The form's framing on top of the file, which the endpoint counts itself.
            body_limits=[("/v1/attachments", settings.attachment_max_bytes + 64 * 1024)],
        ),
    )
    return app
