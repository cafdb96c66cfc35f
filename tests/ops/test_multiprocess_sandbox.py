"""`liebian serve --workers 2` in sandbox mode: one fake WeChat shared by every process, over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.conftest import ADDRESS, create_database, drop_database
from tests.ops.test_cli_and_embedded import LIEBIAN, _free_port, _wait_healthy


def test_two_workers_share_one_fake_wechat_and_its_callbacks_come_over_http(server_url: str, tmp_path: Path) -> None:
    url = asyncio.run(create_database(server_url))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIEBIAN_")}
    env.update(LIEBIAN_HOME=str(tmp_path / "home"), LIEBIAN_DATABASE_URL=url, LIEBIAN_WORKER_POLL_SECONDS="0.2")
    proc = subprocess.Popen([LIEBIAN, "serve", "--workers", "2", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(base, proc)
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as api:
            shop = api.post("/sandbox/shops", json={"slug": "multi", "name": "多进程"}).json()
            staff = {"Authorization": f"Bearer {shop['staff_token']}"}
            product = api.post("/console/products", headers=staff, json={
                "title": "茶", "skus": [{"specs": {}, "price_fen": 1234, "stock": 5}]}).json()
            token = api.post("/shops/multi/auth/wechat-login", json={"code": "sandbox:小明"}).json()["access_token"]
            buyer = {"Authorization": f"Bearer {token}"}
            orders = []
            for _ in range(4):  # spread over both processes by the kernel
                r = api.post("/shops/multi/orders", headers=buyer, json={
                    "lines": [{"sku_id": product["skus"][0]["id"], "quantity": 1}], "address": ADDRESS,
                    "payment_method": "wechat"})
                assert r.status_code == 201, r.text
                orders.append(r.json())
            for order in orders:
                r = api.post(f"/sandbox/wechat/payments/{order['payment']['out_trade_no']}/succeed")
                assert r.status_code == 204, r.text
            for order in orders:
                view = api.get(f"/shops/multi/orders/{order['order_no']}", headers=buyer).json()
                assert view["status"] == "paid", view
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
        asyncio.run(drop_database(server_url, url))
    assert "fake WeChat (shared by the workers)" in output, output
