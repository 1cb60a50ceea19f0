"""What every test folder shares."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """Put the root logger back as it was after each test.

    ``rekam serve`` run in-process (``station.cli.main``) installs a stderr handler on the root
    logger, bound to the stream pytest captures for that one test. Left behind, it writes to a
    closed stream when a later test's threads log."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
