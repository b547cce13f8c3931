"""Intake's HTTP API: one router per audience, composed here."""

from fastapi import APIRouter

from services.intake.api import attachments, transfers

router = APIRouter()
router.include_router(transfers.router)
router.include_router(attachments.router)

__all__ = ["router"]
