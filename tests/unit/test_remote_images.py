"""Fetching merchants' product photos for posters: SSRF guard, limits, redirects, disk and failure caches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from liebian.integrations.remote_images import FetchPolicy, Refused, RemoteImages, check_address
from tests.photo_server import PhotoServer


@pytest.fixture(scope="module")
def photos() -> Iterator[PhotoServer]:
    with PhotoServer().running() as server:
        yield server


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.8", "172.16.5.5", "169.254.169.254",
                                     "::1", "fd00::1", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1", "100.64.0.1"])
def test_inward_addresses_are_refused_outside_the_sandbox(address: str) -> None:
    with pytest.raises(Refused):
        check_address(address, allow_private=False)


@pytest.mark.parametrize("address", ["1.1.1.1", "203.119.0.1", "2400:3200::1"])
def test_public_addresses_pass(address: str) -> None:
    check_address(address, allow_private=False)


def test_the_sandbox_may_reach_loopback_but_never_metadata_or_multicast() -> None:
    check_address("127.0.0.1", allow_private=True)
    for address in ("169.254.169.254", "224.0.0.1", "0.0.0.0"):
        with pytest.raises(Refused):
            check_address(address, allow_private=True)


async def test_a_photo_is_fetched_once_then_served_from_disk(photos: PhotoServer, tmp_path: Path) -> None:
    images = RemoteImages(FetchPolicy(allow_private=True), tmp_path)
    try:
        assert await images.get(photos.url("/red.png")) == photos.red
        assert await images.get(photos.url("/red.png")) == photos.red
        assert photos.hits["/red.png"] == 1
        assert len(list(tmp_path.iterdir())) == 1
    finally:
        await images.aclose()


async def test_redirects_are_followed_and_checked_a_loop_is_not(photos: PhotoServer) -> None:
    images = RemoteImages(FetchPolicy(allow_private=True), None)
    try:
        assert await images.get(photos.url("/redirect")) == photos.red
        assert await images.get(photos.url("/loop")) is None
        assert photos.hits["/loop"] == 4  # the first answer and three redirects, then it gives up
    finally:
        await images.aclose()


async def test_what_is_not_a_small_image_is_refused_and_remembered(photos: PhotoServer) -> None:
    images = RemoteImages(FetchPolicy(allow_private=True, max_bytes=100_000), None)
    try:
        for path in ("/page.html", "/huge.png", "/missing"):
            assert await images.get(photos.url(path)) is None
            assert await images.get(photos.url(path)) is None
            assert photos.hits[path] == 1, path  # the failure is remembered: no second request
        for url in ("ftp://127.0.0.1/x.png", "file:///etc/passwd", "http://user:pw@127.0.0.1/red.png", "/red.png"):
            assert await images.get(url) is None, url
    finally:
        await images.aclose()


async def test_outside_the_sandbox_loopback_is_never_requested(photos: PhotoServer) -> None:
    before = photos.hits["/red.png"]
    images = RemoteImages(FetchPolicy(allow_private=False), None)
    try:
        assert await images.get(photos.url("/red.png")) is None
        assert await images.get(f"http://localhost:{photos.port}/red.png") is None
    finally:
        await images.aclose()
    assert photos.hits["/red.png"] == before
