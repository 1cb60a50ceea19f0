"""The station's keys in a TPM 2.0 (swtpm): created inside it, useless outside it."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from tpm2_pytss.constants import TPMA_OBJECT
from tpm2_pytss.types import TPM2B_PUBLIC

from simulator.devices.swtpm import SoftwareTpm
from uploader.keys import ECDSA_P256_SHA256, load_station_public_key
from uploader.tpm import (
    JOURNAL_SEALED_FILE,
    SIGNING_KEY_FILE,
    SIGNING_PUBLIC_FILE,
    Tpm,
    TpmError,
    TpmSealedKey,
    TpmStationKey,
)


def test_the_signing_key_is_made_inside_the_tpm_and_cannot_leave_it(tpm, tmp_path):
    key = TpmStationKey.load_or_create(tpm, tmp_path / "keys")
    public, _ = TPM2B_PUBLIC.unmarshal((tmp_path / "keys" / SIGNING_KEY_FILE).read_bytes())
    attributes = public.publicArea.objectAttributes
    assert attributes & TPMA_OBJECT.FIXEDTPM and attributes & TPMA_OBJECT.FIXEDPARENT
    assert attributes & TPMA_OBJECT.SENSITIVEDATAORIGIN  # the TPM generated the private key
    assert key.algorithm == ECDSA_P256_SHA256
    published = load_station_public_key(tmp_path / "keys" / SIGNING_PUBLIC_FILE)
    assert published == key.public_key


def test_tpm_signatures_are_raw_r_s_that_standard_ecdsa_verifies(tpm, tmp_path):
    key = TpmStationKey.load_or_create(tpm, tmp_path / "keys")
    data = b"REKAMPKG" + bytes(range(256)) * 40
    signature = key.sign(data)
    assert len(signature) == 64
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key.public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.public_key.verify(der, data + b"!", ec.ECDSA(hashes.SHA256()))


def test_keys_come_back_after_a_restart_of_the_same_tpm(software_tpm, tmp_path):
    keys = tmp_path / "keys"
    with Tpm(software_tpm.tcti) as tpm:
        first = TpmStationKey.load_or_create(tpm, keys)
        journal_key = TpmSealedKey(tpm, keys / JOURNAL_SEALED_FILE).journal_key()
    software_tpm.stop()
    software_tpm.start()
    with Tpm(software_tpm.tcti) as tpm:
        again = TpmStationKey.load_or_create(tpm, keys)
        assert again.key_id == first.key_id
        assert TpmSealedKey(tpm, keys / JOURNAL_SEALED_FILE).journal_key() == journal_key
    assert len(journal_key) == 32
    assert journal_key not in (keys / JOURNAL_SEALED_FILE).read_bytes()


def test_another_tpm_opens_neither_blob(tpm, tmp_path):
    keys = tmp_path / "keys"
    TpmStationKey.load_or_create(tpm, keys)
    TpmSealedKey(tpm, keys / JOURNAL_SEALED_FILE).journal_key()
    with SoftwareTpm(tmp_path / "another-tpm", lifetime_s=600) as other, Tpm(other.tcti) as theirs:
        with pytest.raises(TpmError, match="another TPM"):
            TpmStationKey.load_or_create(theirs, keys)
        with pytest.raises(TpmError, match="another TPM"):
            TpmSealedKey(theirs, keys / JOURNAL_SEALED_FILE).journal_key()


def test_an_unreachable_tpm_is_named(tmp_path):
    emulator = SoftwareTpm(tmp_path / "gone")
    emulator.start()
    tcti = emulator.tcti
    emulator.stop()
    with pytest.raises(TpmError, match="cannot use the TPM"):
        Tpm(tcti)
