"""Accountability's HTTP API, one router per area."""

from services.accountability.api import (
    analysis,
    appraisal,
    inquiries,
    inspections,
    integrity,
    lists,
    ratings,
    rectification,
    reports,
    suggestions,
    units,
)

routers = [
    units.router,
    lists.router,
    inquiries.router,
    ratings.router,
    reports.router,
    rectification.router,
    analysis.router,
    appraisal.router,
    inspections.router,
    suggestions.router,
    integrity.router,
]
