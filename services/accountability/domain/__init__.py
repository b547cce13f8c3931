"""Accountability's decisions, pure: responsibility lists, triggers, inquiries, ratings."""

from libs.events.contracts import oversight  # noqa: F401  (registers the long-term contracts)
from services.accountability.domain.errors import Refused
from services.accountability.domain.units import UnitNamedInClue, note_units, unit_key, unit_stream

__all__ = ["Refused", "UnitNamedInClue", "note_units", "unit_key", "unit_stream"]
