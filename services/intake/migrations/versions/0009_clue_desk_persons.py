"""The desk knows each clue's persons by pseudonym, so a shredding shows in its ledger.

Filled by the clue_desk projection; rebuild it once for clues received before
(``zhengfeng projections rebuild intake clue_desk``).
"""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute("ALTER TABLE clue_desk ADD COLUMN person_refs uuid[] NOT NULL DEFAULT '{}'")
    op.execute("CREATE INDEX clue_desk_by_person ON clue_desk USING gin (person_refs)")
