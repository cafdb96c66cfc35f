"""ASGI factories for the API processes of the fault tests (``uvicorn --factory``), configured from
``LIEBIAN_*`` as ``liebian serve --workers N`` configures its processes."""

from __future__ import annotations

from fastapi import FastAPI

from liebian.app import create_app, create_app_from_env


def api_only() -> FastAPI:
    """An API process that runs no worker: only the worker processes of the test sweep and carry out jobs."""
    app = create_app(run_worker=False)
    app.state.clock_sync = app.state.settings.sandbox  # several processes share the sandbox clock
    return app


def api_and_worker() -> FastAPI:
    """What every process of ``liebian serve --workers N`` runs: the API and a worker."""
    return create_app_from_env()
