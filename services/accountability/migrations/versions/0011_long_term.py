"""Read models of the long-term mechanisms: analysis reports, 考核评价 scores and 约谈 tasks,
民主评议 surveys and their anonymous answers, 廉政档案 facts and 意见回复."""

from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE analysis_reports (
               period text PRIMARY KEY,
               kind text NOT NULL,
               label text NOT NULL,
               first_day date NOT NULL,
               last_day date NOT NULL,
               summary jsonb NOT NULL,
               figures jsonb NOT NULL,
               issued_by text NOT NULL,
               issued_at timestamptz NOT NULL,
               document_id uuid,
               number text)"""
    )
    op.execute(
        """CREATE TABLE unit_appraisals (
               period text NOT NULL,
               unit text NOT NULL,
               score numeric NOT NULL,
               grade text NOT NULL,
               explanation text NOT NULL,
               indicators jsonb NOT NULL,
               model_version text NOT NULL,
               appraised_at timestamptz NOT NULL,
               PRIMARY KEY (period, unit))"""
    )
    op.execute(
        """CREATE TABLE interview_tasks (
               task_id uuid PRIMARY KEY,
               unit text NOT NULL,
               period text NOT NULL,
               score numeric NOT NULL,
               reason text NOT NULL,
               role text NOT NULL,
               due_on date NOT NULL,
               status text NOT NULL,
               created_at timestamptz NOT NULL)"""
    )
    op.execute("CREATE INDEX interview_tasks_open ON interview_tasks (role, status)")
    op.execute(
        """CREATE TABLE surveys (
               survey_id uuid PRIMARY KEY,
               title text NOT NULL,
               unit text NOT NULL,
               period text NOT NULL,
               questions jsonb NOT NULL,
               tokens integer NOT NULL,
               published_at timestamptz NOT NULL)"""
    )
    op.execute(
        """CREATE TABLE survey_answers (
               response_id uuid PRIMARY KEY,
               survey_id uuid NOT NULL,
               answers jsonb NOT NULL)"""
    )
    op.execute("CREATE INDEX survey_answers_by_survey ON survey_answers (survey_id)")
    op.execute(
        """CREATE TABLE integrity_facts (
               fact_id text PRIMARY KEY,
               person_ref uuid NOT NULL,
               kind text NOT NULL,
               case_id uuid,
               case_number text,
               form integer,
               measures text[] NOT NULL DEFAULT '{}',
               categories text[] NOT NULL DEFAULT '{}',
               at timestamptz NOT NULL)"""
    )
    op.execute("CREATE INDEX integrity_facts_by_person ON integrity_facts (person_ref, at)")
    op.execute(
        """CREATE TABLE integrity_replies (
               reply_id uuid PRIMARY KEY,
               person_ref uuid NOT NULL,
               requested_by text NOT NULL,
               purpose text NOT NULL,
               conclusion text NOT NULL,
               issued_at timestamptz NOT NULL)"""
    )
