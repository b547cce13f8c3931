"""Accountability: responsibility lists, 一案双查 inquiries, 问责 measures, unit ratings, reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from libs.events import taxonomy
from libs.events.projections import Projection
from libs.kit import workdays
from libs.kit.approvals import routes as approval_routes
from libs.kit.approvals.inbox import overdue_job
from libs.kit.auth import JwksFetcher
from libs.kit.service import ServiceParts, create_app
from libs.kit.settings import ServiceSettings
from services.accountability import jobs
from services.accountability.api import routers
from services.accountability.api.deps import Reader
from services.accountability.domain import rectification
from services.accountability.domain.analysis import load_analysis_rules
from services.accountability.domain.appraisal import load_appraisal_model
from services.accountability.domain.integrity import load_integrity_rules
from services.accountability.domain.rules import load_rules
from services.accountability.handlers import HANDLERS, make_handler
from services.accountability.projections import (
    AnalysisReportProjection,
    ApprovalInboxProjection,
    InquiryProjection,
    RatingProjection,
    ResponsibilityListProjection,
    StatisticsProjection,
    UnitIndexProjection,
)
from services.accountability.projections_oversight import (
    AppraisalProjection,
    IntegrityProjection,
)
from services.accountability.projections_rectification import (
    RectificationProjection,
    SuggestionProjection,
)
from services.accountability.service import Deps
from services.accountability.service.documents import InquiryDocuments
from services.accountability.service.inquiries import load_approvals
from services.accountability.service.rectification import REPORT_TO_CATALOGUE, SOURCE_KIND_CATALOGUE
from services.accountability.service.surveys import QUESTIONNAIRES
from services.accountability.settings import AccountabilitySettings, Settings

SUBSCRIBES_TO = HANDLERS.producers
"""Whose events this service consumes: the services whose events its handlers take."""

__all__ = ["SUBSCRIBES_TO", "AccountabilitySettings", "Settings", "create"]


def read_models(settings: ServiceSettings) -> list[Projection]:
    """Accountability's read models, as the service keeps them live and as a rebuild replays
    them (three modules hold them: projections, projections_oversight, projections_rectification)."""
    return [
        UnitIndexProjection(),
        ResponsibilityListProjection(),
        InquiryProjection(),
        RatingProjection(),
        StatisticsProjection(),
        ApprovalInboxProjection(),
        RectificationProjection(),
        SuggestionProjection(),
        AnalysisReportProjection(),
        IntegrityProjection(),
        AppraisalProjection(),
    ]


def create(
    settings: ServiceSettings | None = None,
    *,
    jwks_fetcher: Callable[[FastAPI], JwksFetcher] | None = None,
    today: Callable[[], date] | None = None,
) -> FastAPI:
    """The accountability app: consumes intake's clues and casework's decisions."""
    s = settings or Settings()
    assert isinstance(s, AccountabilitySettings)
    deps = Deps(
        rules=load_rules(s.rules_file or None),
        taxonomy=taxonomy.load(),
        documents=InquiryDocuments.load(
            s.documents_dir, s.document_templates_dir, s.documents_file
        ),
        analysis=load_analysis_rules(s.analysis_file or None),
        integrity=load_integrity_rules(s.integrity_file or None),
        appraisal=load_appraisal_model(s.appraisal_file or None),
    )
    calendar = workdays.load(s.workday_overrides_file or None)
    deps.calendar = calendar
    deps.rectification = rectification.load_rules(s.rectification_file or None)
    approvals = load_approvals(calendar, s.approvals_file or None)
    zone = ZoneInfo(s.timezone)
    local_today = today or (lambda: datetime.now(zone).date())
    app = create_app(
        s,
        ServiceParts(
            title="Zhengfeng accountability (一案双查)",
            routers=[*routers, approval_routes.router(approvals, Reader)],
            projections=read_models(s),
            make_handler=lambda store: make_handler(store, deps),
            subscribes_to=SUBSCRIBES_TO,
            shares=("documents", "approvals", "rectification"),
            jobs=lambda rt: [
                *(
                    [jobs.rerating(rt.store, deps, s.rerate_interval_seconds)]
                    if s.run_rerating
                    else []
                ),
                *([jobs.analysis(rt, deps, s.analysis_interval_seconds)] if s.run_analysis else []),
                *(
                    [
                        overdue_job(rt.store, approvals, local_today, s.scheduler_interval_seconds),
                        jobs.rectification_overdue(
                            rt.store, deps, local_today, s.scheduler_interval_seconds
                        ),
                    ]
                    if s.run_scheduler
                    else []
                ),
            ],
            deps=deps,
            gate=approvals,
            on_start=lambda app: deps.start(app.state.runtime.engine),
            jwks_fetcher=jwks_fetcher,
            body_limits=[("/v1/responsibility-lists/csv", s.responsibility_csv_max_bytes)],
        ),
    )
    # Codes from the rectification rules (data): the document lists them as enums.
    app.state.catalogues = {
        SOURCE_KIND_CATALOGUE: list(deps.rectification.source_kinds),
        REPORT_TO_CATALOGUE: list(deps.rectification.report_to),
        QUESTIONNAIRES: list(deps.questionnaires),
    }
    return app
