"""Fake WeChat: profitsharing routes (to be filled in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from liebian.integrations.wechat.fake.core import FakeWeChat


def install(fake: FakeWeChat) -> None:
    return None
