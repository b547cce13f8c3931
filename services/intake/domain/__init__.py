"""Intake's decisions, pure: what a transfer, report or hotline order records."""

from services.intake.domain.persons import check_character, resident_id_problem
from services.intake.domain.transfers import (
    TransferClue,
    clue_stream,
    format_clue_number,
    receive_transfer,
)

__all__ = [
    "TransferClue",
    "check_character",
    "clue_stream",
    "format_clue_number",
    "receive_transfer",
    "resident_id_problem",
]
