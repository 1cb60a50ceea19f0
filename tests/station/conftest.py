"""The `station` fixture: a whole kit in one process, shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simkit import Kit, running_kit

from station.config import WebConfig


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    with running_kit("KIT-TEST-01", tmp_path_factory.mktemp("kit") / "station") as kit:
        yield kit


@pytest.fixture(scope="module")
def web_station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """A kit whose web door (gRPC-Web, MJPEG previews) admits pages from one origin."""
    web = WebConfig(listen="127.0.0.1:0", allowed_origins=["http://127.0.0.1:8080"])
    with running_kit("KIT-WEB-01", tmp_path_factory.mktemp("kit") / "station", web=web) as kit:
        yield kit
