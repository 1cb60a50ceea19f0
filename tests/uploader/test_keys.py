"""Key files: created once with tight permissions, reloaded unchanged, checked on load."""

from __future__ import annotations

import os
import stat

import pytest

from uploader.keys import (
    CENTRE_PRIVATE_FILE,
    STATION_PRIVATE_FILE,
    STATION_PUBLIC_FILE,
    CentreKeys,
    KeyFileError,
    StationKeys,
    load_centre_public_key,
    load_station_public_key,
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_station_keys_created_private_and_reloaded(tmp_path):
    folder = tmp_path / "keys"
    first = StationKeys.load_or_create(folder)
    assert mode(folder) == 0o700
    assert mode(folder / STATION_PRIVATE_FILE) == 0o600
    assert mode(folder / STATION_PUBLIC_FILE) == 0o600
    again = StationKeys.load_or_create(folder)
    assert again.key_id == first.key_id
    public = load_station_public_key(folder / STATION_PUBLIC_FILE)
    assert public.public_bytes_raw() == first.public_key.public_bytes_raw()
    signature = first.sign(b"hello")
    public.verify(signature, b"hello")


def test_world_readable_private_key_is_refused(tmp_path):
    StationKeys.load_or_create(tmp_path)
    os.chmod(tmp_path / STATION_PRIVATE_FILE, 0o644)
    with pytest.raises(KeyFileError):
        StationKeys.load_or_create(tmp_path)


def test_centre_keys_publish_public_pem(tmp_path):
    public_path = tmp_path / "centre_public.pem"
    keys = CentreKeys.load_or_create(tmp_path / "keys", public_path=public_path)
    assert mode(tmp_path / "keys" / CENTRE_PRIVATE_FILE) == 0o600
    assert mode(public_path) == 0o644
    assert load_centre_public_key(public_path).public_bytes_raw() == (
        keys.public_key.public_bytes_raw()
    )
    assert CentreKeys.load_or_create(tmp_path / "keys", public_path=public_path).key_id == (
        keys.key_id
    )


def test_loading_the_wrong_key_type_fails(tmp_path):
    StationKeys.load_or_create(tmp_path)
    with pytest.raises(KeyFileError):
        load_centre_public_key(tmp_path / STATION_PUBLIC_FILE)
    (tmp_path / "junk.pem").write_bytes(b"not a key")
    with pytest.raises(KeyFileError):
        load_station_public_key(tmp_path / "junk.pem")
    with pytest.raises(KeyFileError):
        load_station_public_key(tmp_path / "missing.pem")
