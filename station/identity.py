"""The station's identity: the key it signs packages with and the key of its journal.

With ``[identity] backend = "tpm"`` both live in the kit's TPM 2.0 (``uploader.tpm``): the
signing key is created inside it and never leaves, the journal key is sealed by it, and the key
directory holds only blobs that no other TPM opens. With ``backend = "file"`` they are plain
files (``uploader.keys.StationKeys``, ``capture.journal.FileJournalKey``): a copy of the disk can
read every enrollment in progress and sign as the station, so it is for development and
simulated kits only, and every start says so in a WARNING.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capture.journal import FileJournalKey, JournalError
from station.config import IdentityConfig
from uploader.keys import KeyFileError, StationKeys, StationSigner

log = logging.getLogger(__name__)

JOURNAL_KEY_FILE = "journal.key"


class IdentityUnavailable(Exception):
    """The configured key store cannot be used; the message says why."""


@dataclass
class StationIdentity:
    """The signer, the journal key (unsealed at start), and the TPM connection (if any)."""

    signer: StationSigner
    journal_key: bytes
    backend: str
    tpm: Any = None  # uploader.tpm.Tpm for the TPM backend

    def close(self) -> None:
        if self.tpm is not None:
            self.tpm.close()
            self.tpm = None


def open_identity(settings: IdentityConfig, keys_dir: Path) -> StationIdentity:
    """The station's keys from the store ``settings`` names, created on first use."""
    if settings.backend == "file":
        log.warning(
            "[identity] backend = \"file\": the station's signing key and journal key are plain "
            "files in %s; a copy of this disk can read enrollments in progress and sign as this "
            "station. Development and simulated kits only; a kit uses backend = \"tpm\".",
            keys_dir,
        )
        try:
            signer = StationKeys.load_or_create(keys_dir)
            journal_key = FileJournalKey(keys_dir / JOURNAL_KEY_FILE).journal_key()
        except (KeyFileError, JournalError, OSError) as exc:
            raise IdentityUnavailable(str(exc)) from exc
        return StationIdentity(signer, journal_key, "file")
    try:
        from uploader import tpm
    except ImportError as exc:
        raise IdentityUnavailable(f"the TPM backend needs tpm2-pytss and libtss2: {exc}") from exc
    try:
        device = tpm.Tpm(settings.tcti)
    except tpm.TpmError as exc:
        raise IdentityUnavailable(str(exc)) from exc
    try:
        signer = tpm.TpmStationKey.load_or_create(device, keys_dir)
        journal_key = tpm.TpmSealedKey(device, keys_dir / tpm.JOURNAL_SEALED_FILE).journal_key()
    except (tpm.TpmError, KeyFileError, OSError) as exc:
        device.close()
        raise IdentityUnavailable(str(exc)) from exc
    log.info("station key %s is held by the TPM at %s", signer.key_id.hex(), settings.tcti)
    return StationIdentity(signer, journal_key, "tpm", device)
