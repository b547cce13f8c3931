"""Casework: clue disposal, the case lifecycle, deadlines that act, supervision, timelines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from libs.events.projections import Projection
from libs.kit.approvals import routes as approval_routes
from libs.kit.approvals.inbox import overdue_job
from libs.kit.auth import JwksFetcher
from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings
from services.casework import jobs
from services.casework.api import router
from services.casework.api.deps import Operator
from services.casework.documents import Documents
from services.casework.domain import Rules, load_rules
from services.casework.handlers import HANDLERS, make_handler
from services.casework.projections import (
    ApprovalInboxProjection,
    CaseRegisterProjection,
    ClueLedgerProjection,
)
from services.casework.service import Deps, load_approvals
from services.casework.settings import CaseworkSettings, Settings

SUBSCRIBES_TO = HANDLERS.producers
"""Whose events this service consumes: the services whose events its handlers take."""


def rules_of(s: CaseworkSettings) -> Rules:
    """The time limits, checklist and calendar this deployment configures."""
    return load_rules(
        s.limits_file or None,
        s.checklist_file or None,
        s.workday_overrides_file or None,
        s.limits_variant or None,
    )


def read_models(settings: ServiceSettings, rules: Rules | None = None) -> list[Projection]:
    """Casework's read models, as the service keeps them live and as a rebuild replays them:
    the case register folds deadlines with the deployment's own limits."""
    assert isinstance(settings, CaseworkSettings)
    return [
        ClueLedgerProjection(),
        CaseRegisterProjection(rules or rules_of(settings)),
        ApprovalInboxProjection(),
    ]


def create(
    settings: ServiceSettings | None = None,
    *,
    jwks_fetcher: Callable[[FastAPI], JwksFetcher] | None = None,
    today: Callable[[], date] | None = None,
) -> FastAPI:
    """The casework app: consumes clues and red alerts, runs commands and the deadline scheduler."""
    s = settings or Settings()
    assert isinstance(s, CaseworkSettings)
    rules = rules_of(s)
    zone = ZoneInfo(s.timezone)
    local_today = today or (lambda: datetime.now(zone).date())

    deps = Deps(
        rules=rules,
        documents=Documents.load(s.documents_dir, s.document_templates_dir, s.documents_file),
    )
    approvals = load_approvals(rules, s.approvals_file or None)
    app = create_app(
        s,
        ServiceParts(
            title="Zhengfeng casework (案件管理)",
            routers=[router, approval_routes.router(approvals, Operator)],
            projections=read_models(s, rules),
            make_handler=lambda store: make_handler(store, rules),
            subscribes_to=SUBSCRIBES_TO,
            jobs=lambda rt: (
                [
                    jobs.deadlines(rt.store, rules, local_today, s.scheduler_interval_seconds),
                    overdue_job(rt.store, approvals, local_today, s.scheduler_interval_seconds),
                ]
                if s.run_scheduler
                else []
            ),
            deps=deps,
            gate=approvals,
            shares=("documents", "approvals"),
            on_start=lambda app: deps.start(app.state.runtime.engine),
            jwks_fetcher=jwks_fetcher,
        ),
    )
    return app
