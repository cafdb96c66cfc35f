"""HTTP endpoints of bargain: customer routes (/api/v1/shops/{shop}/...) and console routes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
console = APIRouter()
