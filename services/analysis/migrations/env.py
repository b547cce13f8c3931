"""Alembic environment of the analysis schema (shared body in libs.kit.migrations)."""

from libs.kit.migrations import run_env

run_env()
