"""Fuzzing the package reader: any damage to a sealed package ends in a PackageError subclass
(never another exception, never a wrong record), seeded with the committed corpus."""

from __future__ import annotations

import contextlib

import pytest
from fuzz_material import CORPUS, corpus, sealed_package
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uploader import errors
from uploader.keys import load_station_public_key
from uploader.package import open_package, read_header, verify_package

FUZZ = settings(
    max_examples=80,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
CORPUS_STATION = {
    "KIT-FUZZ": load_station_public_key(CORPUS / "package" / "station-KIT-FUZZ.pub.pem")
}


@pytest.fixture(scope="module")
def package():
    sealed, station, centre = sealed_package()
    return sealed.data, {"KIT-FUZZ": station.public_key}, centre.private_key


@pytest.mark.parametrize("path", corpus("package"), ids=lambda p: p.stem)
def test_package_corpus_verifies_or_is_refused(path):
    data = path.read_bytes()
    if path.stem == "valid":
        assert verify_package(data, CORPUS_STATION).station_id == "KIT-FUZZ"
        with pytest.raises(errors.UnknownStation):
            verify_package(data, {})
        return
    with pytest.raises(errors.PackageError):
        verify_package(data, CORPUS_STATION)


def test_an_intact_package_opens(package):
    data, trusted, centre_key = package
    opened = open_package(data, centre_key, trusted, decode_images=False)
    assert opened.record_id == "REC-FUZZ-1"


def _damaged(data: bytes) -> st.SearchStrategy[bytes]:
    size = len(data)
    flip = st.tuples(st.integers(0, size - 1), st.integers(1, 255)).map(
        lambda t: data[: t[0]] + bytes([data[t[0]] ^ t[1]]) + data[t[0] + 1 :]
    )
    cut = st.integers(0, size - 1).map(lambda n: data[:n])
    insert = st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=16)).map(
        lambda t: data[: t[0]] + t[1] + data[t[0] :]
    )
    overwrite = st.tuples(st.integers(0, size - 1), st.binary(min_size=1, max_size=64)).map(
        lambda t: (data[: t[0]] + t[1] + data[t[0] + len(t[1]) :])[:size]
    )
    return st.one_of(flip, cut, insert, overwrite)


@FUZZ
@given(data=st.data())
def test_any_damage_is_refused_with_a_package_error(package, data):
    original, trusted, centre_key = package
    damaged = data.draw(_damaged(original))
    if damaged == original:
        return
    with contextlib.suppress(errors.PackageError):  # the header alone may still parse
        read_header(damaged)
    with pytest.raises(errors.PackageError):
        open_package(damaged, centre_key, trusted, decode_images=False)


@FUZZ
@given(blob=st.binary(max_size=512))
def test_random_bytes_are_not_a_package(blob):
    with pytest.raises(errors.PackageError):
        verify_package(blob, CORPUS_STATION)
