"""文书: the counter of document numbers (文号) per kind and year."""

from libs.kit.migrations import create_document_numbers

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    create_document_numbers()
