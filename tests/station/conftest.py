"""The `station` fixture: a whole kit in one process, shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simkit import Kit, running_kit


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    with running_kit("KIT-TEST-01", tmp_path_factory.mktemp("kit") / "station") as kit:
        yield kit
