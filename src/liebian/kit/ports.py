"""Ports: a module that sits beside (or below) another in the layers declares what it needs from it as a
Protocol, and the composition root (``liebian.wiring``) installs the implementation at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from liebian.kit.errors import ServiceUnavailable

T = TypeVar("T")


class Port(Generic[T]):
    """One installed implementation, or a 503 problem (``code``) in a process that has none."""

    def __init__(self, code: str, detail: str) -> None:
        self._code, self._detail = code, detail
        self._value: T | None = None

    def install(self, value: T) -> None:
        self._value = value

    def get(self) -> T:
        if self._value is None:
            raise ServiceUnavailable(self._code, self._detail)
        return self._value

    @contextmanager
    def preserved(self) -> Iterator[None]:
        """For tests that build a second app in one process: the first app's implementation comes back after."""
        saved = self._value
        try:
            yield
        finally:
            self._value = saved
