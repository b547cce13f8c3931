"""Casework's pure domain: state, commands, ``decide`` and ``evolve`` (no I/O, no clock).

A matter (案件) begins as a clue in the ledger and, once filed (立案), carries its case
number to 销号; one stream per matter holds every step.
"""

from services.casework.domain.clue import ClueRegistered, clue_fields, clue_stream, register_clue
from services.casework.domain.commands import COMMANDS, Command
from services.casework.domain.decide import (
    ALLOWED_FROM,
    IllegalTransition,
    Rejected,
    allowed_commands,
    decide,
)
from services.casework.domain.evolve import evolve, replay
from services.casework.domain.intake import (
    accept_link,
    deadline_id,
    note_repeat,
    note_reporter,
    note_split,
    notice_deadlines,
    open_deadlines,
    register,
)
from services.casework.domain.rules import Rules
from services.casework.domain.rules import load as load_rules
from services.casework.domain.state import CaseState, ClueStatus, Deadline, Status

__all__ = [
    "ALLOWED_FROM",
    "COMMANDS",
    "CaseState",
    "ClueRegistered",
    "ClueStatus",
    "Command",
    "Deadline",
    "IllegalTransition",
    "Rejected",
    "Rules",
    "Status",
    "accept_link",
    "allowed_commands",
    "clue_fields",
    "clue_stream",
    "deadline_id",
    "decide",
    "evolve",
    "load_rules",
    "note_repeat",
    "note_reporter",
    "note_split",
    "notice_deadlines",
    "open_deadlines",
    "register",
    "register_clue",
    "replay",
]
