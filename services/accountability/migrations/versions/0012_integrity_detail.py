"""廉政档案 facts keep a clue's number and its disposal (method, outcome) as detail."""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute("ALTER TABLE integrity_facts ADD COLUMN detail jsonb")
    # A reply about a cadre known by several pseudonyms is found by each of them.
    op.execute(
        "ALTER TABLE integrity_replies DROP CONSTRAINT integrity_replies_pkey,"
        " ADD PRIMARY KEY (reply_id, person_ref)"
    )
