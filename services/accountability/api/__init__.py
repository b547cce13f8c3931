"""Accountability's HTTP API, one router per area."""

from services.accountability.api import inquiries, lists, units

routers = [units.router, lists.router, inquiries.router]
