"""待办审批: the inbox of proposals and the step each waits on (libs/kit/approvals)."""

from libs.kit.approvals.inbox import create_inbox

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    create_inbox()
