"""A TPM 2.0 for the identity tests: swtpm on loopback, one per test, killed at teardown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.devices.swtpm import SoftwareTpm
from uploader.tpm import Tpm


@pytest.fixture
def software_tpm(tmp_path: Path) -> Iterator[SoftwareTpm]:
    """The kit's TPM (its state, hence its seeds, in this test's tmp_path)."""
    with SoftwareTpm(tmp_path / "kit-tpm-state", lifetime_s=600) as emulator:
        yield emulator


@pytest.fixture
def tpm(software_tpm: SoftwareTpm) -> Iterator[Tpm]:
    """A connection to the kit's TPM."""
    with Tpm(software_tpm.tcti) as connection:
        yield connection
