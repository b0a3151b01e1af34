"""pytest fixtures: a real `millwright serve` per test, on its own data dir and port.

The binary is $MILLWRIGHT_BIN (default .build/debug/millwright under the repo root).
When a test fails, the tail of every server log it produced is added to the report.
"""

from __future__ import annotations

import secrets
from typing import Callable, List

import pytest

from millwright_support import Server, binary_path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, server in enumerate(getattr(item, "_millwright_servers", [])):
            report.sections.append((f"millwright server {i} logs ({report.when})", server.logs()))


@pytest.fixture
def make_server(request, tmp_path) -> Callable[..., Server]:
    """Factory: make_server(start=True) -> Server with a fresh data dir under tmp_path.
    Every server it made is stopped at teardown."""
    servers: List[Server] = []
    request.node._millwright_servers = servers

    def make(start: bool = True) -> Server:
        n = len(servers)
        server = Server(
            data_dir=tmp_path / f"data-{n}",
            log_dir=tmp_path / f"logs-{n}",
            token="mw-test-" + secrets.token_urlsafe(24),
        )
        servers.append(server)
        if start:
            server.start()
        return server

    if not binary_path().exists():
        pytest.fail(
            f"millwright binary not found at {binary_path()}; build it first (swift build) "
            "or set MILLWRIGHT_BIN",
            pytrace=False,
        )
    yield make
    for server in servers:
        server.stop(timeout=10)


@pytest.fixture
def server(make_server) -> Server:
    """A started, ready server on a fresh data dir."""
    return make_server()
