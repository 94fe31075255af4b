"""Fixtures: real authorization servers for the end-to-end tests."""

from __future__ import annotations

import shutil
from typing import Iterator

import pytest

from servers import E2E, ROOT, Server


def _need_node() -> None:
    if shutil.which("node") is None or not (E2E / "provider.mjs").exists():
        pytest.fail("node and tests/e2e/provider.mjs are needed (run tests/setup.sh)")
    if not (ROOT / "tests" / "node_modules" / "oidc-provider").exists():
        pytest.fail("oidc-provider is not installed: npm ci --prefix tests")


@pytest.fixture(scope="session")
def make_server() -> Iterator:
    """Starts providers with the given env; all are stopped at the end."""
    _need_node()
    servers: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(**env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def issuer(make_server) -> str:
    """A provider polling every second (DEVICE_INTERVAL=1) with the usual 10 min codes."""
    return make_server(DEVICE_INTERVAL="1").issuer

