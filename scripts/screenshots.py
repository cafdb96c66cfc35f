"""Screenshots of the storefront and the console for the README (``make screenshots``).

Starts ``liebian serve --demo`` on a free port with a throwaway ``LIEBIAN_HOME`` (sandbox mode, its own embedded
PostgreSQL, the demo shop seeded and its first day played), waits for ``/healthz``, drives Debian's Chromium
through Playwright (a phone for the storefront, a desktop for the console), saves one PNG per page under
``docs/screenshots/`` and stops the server. Which product, group and bargain to show is asked of the API, so
the script follows whatever the demo data holds; a page whose data is missing is skipped and said so.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only console-fission,...] [--keep-home]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
               "--no-first-run", "--mute-audio", "--hide-scrollbars"]
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
                         "has_touch": True, "locale": "zh-CN"}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 1, "locale": "zh-CN"}
CUSTOMER = "小明"  # the demo's first customer: he shares, opens a group, and is a promoter
SETTLE_SECONDS = 0.8  # ECharts' and CSS transitions' last frames before the picture

console = Console()


class Skip(Exception):
    """The demo data has nothing to show on this page."""


@dataclass
class Shot:
    name: str  # the PNG's file name, without .png
    what: str
    phone: bool
    path: Callable[[Demo], Awaitable[str]]  # the page's path, found through the API
    prepare: Callable[[Any, Demo], Awaitable[None]] | None = None  # clicks before the picture


# --- the server --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def liebian_command() -> list[str]:
    script = Path(sys.executable).parent / "liebian"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from liebian.cli import app; app()"]


class Server:
    """``liebian serve --demo`` in a process group of its own, its output in a log file."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = home / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIEBIAN_")}
        env.update({"LIEBIAN_HOME": str(self.home), "LIEBIAN_MODE": "sandbox", "PYTHONUNBUFFERED": "1"})
        log = self.log_path.open("wb")
        self.process = subprocess.Popen([*liebian_command(), "serve", "--demo", "--port", str(self.port)],  # noqa: S603
                                        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"liebian serve exited ({self.process.returncode}):\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"liebian serve did not answer /healthz within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM lets serve stop its embedded PostgreSQL; after 60 s the whole group is killed."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# --- what the demo holds, through the API --------------------------------------------------------------

class Demo:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        from liebian.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG

        self.slug, self.email, self.password = DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD
        self.staff: dict[str, str] = {}

    async def login(self) -> None:
        r = await self.client.post("/api/v1/console/auth/login", json={"email": self.email, "password": self.password})
        r.raise_for_status()
        self.staff = {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def get(self, path: str, *, staff: bool = False) -> Any:
        r = await self.client.get(path, headers=self.staff if staff else None)
        r.raise_for_status()
        return r.json()

    async def product_with_promotions(self) -> str:
        page = await self.get(f"/api/v1/shops/{self.slug}/products?limit=50")
        best: tuple[int, int] | None = None
        for item in page["items"]:
            detail = await self.get(f"/api/v1/shops/{self.slug}/products/{item['id']}")
            count = len(detail.get("promotions") or [])
            if best is None or count > best[0]:
                best = (count, item["id"])
        if best is None:
            raise Skip("the demo shop has no product")
        return f"/s/{self.slug}/p/{best[1]}"

    async def first(self, path: str, what: str) -> int:
        body = await self.get(path, staff=True)
        items = body["items"] if isinstance(body, dict) else body
        if not items:
            raise Skip(f"the demo has no {what}")
        return int(items[0]["id"])

    async def group(self) -> str:
        return f"/s/{self.slug}/g/{await self.first('/api/v1/console/groupbuy/groups?limit=5', 'group')}"

    async def bargain(self) -> str:
        return f"/s/{self.slug}/b/{await self.first('/api/v1/console/bargain/bargains?limit=5', 'bargain')}"


def fixed(path: str) -> Callable[[Demo], Awaitable[str]]:
    async def found(demo: Demo) -> str:
        return path.format(slug=demo.slug)
    return found


async def run_seeding(page: Any, _: Demo) -> None:
    """The seeding page is shown with a finished job: start one (k = 5) and wait for its answer."""
    status = page.get_by_test_id("job-status")
    if await status.get_attribute("data-status") != "succeeded":
        await page.get_by_test_id("seeding-k").fill("5")
        await page.get_by_test_id("seeding-start").click()
        await page.wait_for_function(
            "() => ['succeeded', 'failed'].includes(document.querySelector('[data-testid=job-status]')"
            "?.dataset.status)", timeout=180_000)


SHOTS = [
    Shot("storefront-home", "storefront home", True, fixed("/s/{slug}")),
    Shot("storefront-product", "product with promotions", True, lambda d: d.product_with_promotions()),
    Shot("storefront-group", "group-buy page", True, lambda d: d.group()),
    Shot("storefront-bargain", "bargain page", True, lambda d: d.bargain()),
    Shot("storefront-promoter", "promoter centre", True, fixed("/s/{slug}/promoter")),
    Shot("console-dashboard", "console dashboard", False, fixed("/console")),
    Shot("console-campaigns", "console campaigns", False, fixed("/console/campaigns/groupbuy")),
    Shot("console-fission", "fission funnel and K-factor", False, fixed("/console/fission")),
    Shot("console-cascades", "cascade tree", False, fixed("/console/fission/cascades")),
    Shot("console-kol", "KOL leaderboard and Lorenz curve", False, fixed("/console/fission/kol")),
    Shot("console-seeding", "IMM seeding suggestion", False, fixed("/console/fission/seeding"), run_seeding),
]


# --- the browser -------------------------------------------------------------------------------------

def chromium() -> str:
    for candidate in (os.environ.get("LIEBIAN_CHROMIUM", ""), *CHROMIUM):
        if candidate and Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    if not found:
        raise SystemExit("no Chromium: install Debian's chromium package ('make browser')")
    return found


async def settle(page: Any) -> None:
    """The page's data has arrived and its charts are drawn (or, after a while, whatever is there)."""
    with contextlib.suppress(Exception):
        await page.wait_for_load_state("networkidle", timeout=20_000)
    with contextlib.suppress(Exception):
        await page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.lb-chart')).every((c) => c.dataset.ready === '1')",
            timeout=20_000)
    await asyncio.sleep(SETTLE_SECONDS)


async def sign_in(context: Any, base: str, demo: Demo, *, phone: bool) -> None:
    page = await context.new_page()
    if phone:
        await page.goto(f"{base}/s/{demo.slug}/login")
        await page.get_by_test_id("persona-name").fill(CUSTOMER)
        await page.get_by_test_id("login-submit").click()
        await page.wait_for_url(f"{base}/s/{demo.slug}", timeout=30_000)
    else:
        await page.goto(f"{base}/console/login")
        await page.get_by_test_id("email").fill(demo.email)
        await page.get_by_test_id("password").fill(demo.password)
        await page.get_by_test_id("login-submit").click()
        await page.wait_for_url(f"{base}/console", timeout=30_000)
    await page.close()


async def take(base: str, out: Path, shots: list[Shot]) -> list[tuple[str, str]]:
    from playwright.async_api import async_playwright

    results: list[tuple[str, str]] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client, async_playwright() as playwright:
        demo = Demo(client)
        await demo.login()
        browser = await playwright.chromium.launch(executable_path=chromium(), headless=True, args=LAUNCH_ARGS)
        contexts: dict[bool, Any] = {}
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("screenshots", total=len(shots))
            for shot in shots:
                progress.update(task, description=f"{shot.what}")
                try:
                    if shot.phone not in contexts:
                        contexts[shot.phone] = await browser.new_context(**(PHONE if shot.phone else DESKTOP))
                        await sign_in(contexts[shot.phone], base, demo, phone=shot.phone)
                    path = await shot.path(demo)
                    page = await contexts[shot.phone].new_page()
                    await page.goto(base + path)
                    await settle(page)
                    if shot.prepare:
                        await shot.prepare(page, demo)
                        await settle(page)
                    target = out / f"{shot.name}.png"
                    # A phone shows one screen (its fixed bottom bar where it belongs); the console its whole page.
                    await page.screenshot(path=str(target), full_page=not shot.phone)
                    await page.close()
                    shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
                    results.append((shot.name, f"[green]saved[/green] {shown}"))
                except Skip as why:
                    results.append((shot.name, f"[yellow]skipped[/yellow]: {why}"))
                except Exception as exc:  # one page failing must not lose the others' pictures
                    results.append((shot.name, f"[red]failed[/red]: {type(exc).__name__}: {str(exc)[:200]}"))
                progress.advance(task)
        await browser.close()
    return results


def report(results: list[tuple[str, str]]) -> int:
    for name, outcome in results:
        console.print(f"  {name:<22} {outcome}")
    return 1 if any("failed" in outcome for _, outcome in results) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    parser.add_argument("--only", default="", help="comma-separated shot names (default: all)")
    parser.add_argument("--port", type=int, default=0, help="port for the server (default: a free one)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the server to be up")
    parser.add_argument("--keep-home", action="store_true", help="keep the temporary LIEBIAN_HOME (and its log)")
    parser.add_argument("--url", default="", help="photograph a server already running there (e.g. make run's) "
                        "instead of starting one; it must hold the demo shop")
    args = parser.parse_args()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = wanted - {s.name for s in SHOTS}
    if unknown:
        parser.error(f"unknown shot(s): {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in SHOTS)}")
    shots = [s for s in SHOTS if not wanted or s.name in wanted]
    if not subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout.strip():  # noqa: S607
        console.print("[yellow]no Chinese font found (fc-list :lang=zh): Chinese text will show as boxes; "
                      "install fonts-wqy-microhei or fonts-noto-cjk[/yellow]")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.url:
        return report(asyncio.run(take(args.url.rstrip("/"), args.out, shots)))
    home = Path(tempfile.mkdtemp(prefix="liebian-screens-"))
    server = Server(home, args.port or free_port())
    failed = False
    try:
        with console.status(f"Starting liebian serve --demo on {server.base} (embedded PostgreSQL, demo data)…"):
            server.start()
            server.wait_healthy(args.timeout)
        console.print(f"[dim]server up on {server.base}; LIEBIAN_HOME={home}[/dim]")
        failed = report(asyncio.run(take(server.base, args.out, shots))) != 0
    except (RuntimeError, httpx.HTTPError) as exc:
        console.print(f"[red]{exc}[/red]")
        failed = True
    finally:
        with console.status("Stopping the server…"):
            server.stop()
        if args.keep_home:
            console.print(f"[dim]kept {home}[/dim]")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
