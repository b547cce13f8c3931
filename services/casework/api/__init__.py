"""Casework's HTTP API: one router per resource, composed here."""

from fastapi import APIRouter

from services.casework.api import cases, checklist, clues, documents, measures

router = APIRouter()
router.include_router(clues.router)
router.include_router(cases.router)
router.include_router(documents.router)
router.include_router(checklist.router)
router.include_router(measures.router)

__all__ = ["router"]
