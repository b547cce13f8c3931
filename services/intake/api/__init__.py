"""Intake's HTTP API: one router per audience, composed here."""

from fastapi import APIRouter

from services.intake.api import (
    accounts,
    attachments,
    categories,
    clues,
    desk,
    hotline,
    jurisdiction,
    repeats,
    reports,
    transfers,
)

router = APIRouter()
router.include_router(transfers.router)
router.include_router(attachments.router)
router.include_router(clues.router)
router.include_router(desk.router)
router.include_router(repeats.router)
router.include_router(hotline.router)
router.include_router(reports.router)
router.include_router(jurisdiction.router)
router.include_router(categories.router)
router.include_router(accounts.router)

__all__ = ["router"]
