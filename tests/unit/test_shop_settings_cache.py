"""A shop's settings are validated once per stored document, and the shared instance cannot be changed."""

from __future__ import annotations

import pydantic
import pytest

from liebian.shops import service
from liebian.shops.rules import ShopSettings


def test_the_same_document_is_validated_once_and_a_changed_one_again() -> None:
    stored = ShopSettings().model_dump()
    first = service._settings(987_654_321, stored)
    assert service._settings(987_654_321, dict(stored)) is first
    changed = service._settings(987_654_321, {**stored, "auto_cancel_minutes": 15})
    assert changed.auto_cancel_minutes == 15 and first.auto_cancel_minutes == 30
    assert service._settings(987_654_321, stored) is not changed  # back to the first document: validated again


def test_the_cache_keeps_a_copy_of_the_document() -> None:
    stored = ShopSettings().model_dump()
    service._settings(987_654_322, stored)
    stored["auto_cancel_minutes"] = 45  # a caller changing its own dict does not change what was validated
    assert service._settings(987_654_322, stored).auto_cancel_minutes == 45


def test_a_bad_document_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(pydantic.ValidationError):
            service._settings(987_654_323, {"auto_cancel_minutes": 0})


def test_shared_settings_cannot_be_changed_in_place() -> None:
    with pytest.raises(pydantic.ValidationError):
        ShopSettings().auto_cancel_minutes = 5  # type: ignore[misc]
