"""Accountability's HTTP API, one router per area."""

from services.accountability.api import lists, units

routers = [units.router, lists.router]
