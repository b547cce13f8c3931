"""Uploaded attachments: who uploaded which content (the files live on disk)."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE attachment_uploads (
               uploader text NOT NULL,
               sha256 char(64) NOT NULL,
               size bigint NOT NULL,
               content_type text NOT NULL,
               name text NOT NULL,
               uploaded_at timestamptz NOT NULL,
               PRIMARY KEY (uploader, sha256))"""
    )
