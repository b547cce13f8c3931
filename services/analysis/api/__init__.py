"""Analysis's HTTP API: feeds, rules, alerts, subjects."""

from services.analysis.api.alerts import router as alerts_router
from services.analysis.api.feeds import router as feeds_router
from services.analysis.api.rules import router as rules_router
from services.analysis.api.subjects import router as subjects_router

routers = [feeds_router, rules_router, alerts_router, subjects_router]
