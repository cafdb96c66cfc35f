"""Parse a WeChat Pay v3 notification: verify the raw bytes, then decrypt the resource (wechat.md §2.6).

Order matters: the signature is checked on the body exactly as received, before any JSON parsing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.config import PayConfig
from liebian.integrations.wechat.errors import DecryptionError, SignatureError


@dataclass(frozen=True)
class Notification:
    id: str
    event_type: str  # TRANSACTION.SUCCESS, REFUND.SUCCESS|ABNORMAL|CLOSED, MCHTRANSFER.BILL.FINISHED, ...
    create_time: str
    original_type: str
    resource: dict[str, Any]
    signed_by: str


def parse(config: PayConfig, headers: Mapping[str, str], raw: bytes, now: float) -> Notification:
    """Raises ``SignatureError`` (answer 401) or ``DecryptionError`` (answer 400)."""
    signed_by = crypto.verify_response(headers, raw, config.verifiers, now)
    try:
        envelope = json.loads(raw)
        resource = envelope["resource"]
        event_id, event_type = str(envelope["id"]), str(envelope["event_type"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DecryptionError("notification envelope is malformed") from exc
    if not isinstance(resource, dict):
        raise DecryptionError("notification resource is malformed")
    return Notification(
        id=event_id, event_type=event_type, create_time=str(envelope.get("create_time", "")),
        original_type=str(resource.get("original_type", "")),
        resource=crypto.decrypt_resource(config.apiv3_key, resource), signed_by=signed_by,
    )


__all__ = ["Notification", "SignatureError", "parse"]
