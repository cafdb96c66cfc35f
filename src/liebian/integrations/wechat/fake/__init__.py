"""The embedded fake of WeChat: ``FakeWeChat`` (an ASGI app plus Python controls) and its credentials."""

from liebian.integrations.wechat.fake.core import FakeError, FakeWeChat
from liebian.integrations.wechat.fake.credentials import SandboxCredentials

__all__ = ["FakeError", "FakeWeChat", "SandboxCredentials"]
