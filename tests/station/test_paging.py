"""Page tokens: versioned keyset cursors no caller can forge, alter or carry to another caller,
another filter or another process; page sizes within the documented range."""

from __future__ import annotations

import base64

import pytest

from station.paging import VERSION, PageSizeInvalid, PageTokens, page_size


def test_a_token_round_trips_only_for_its_caller_and_query():
    pages = PageTokens()
    token = pages.token("op-ani", "records:SEALED", 41)
    assert pages.after("op-ani", "records:SEALED", token) == 41
    assert pages.after("op-ani", "records:SEALED", "") == 0
    for caller, query in (("op-eko", "records:SEALED"), ("op-ani", "records:")):
        with pytest.raises(ValueError):
            pages.after(caller, query, token)
    with pytest.raises(ValueError):
        PageTokens().after("op-ani", "records:SEALED", token)  # another process's key


def test_a_token_of_another_version_or_length_is_refused():
    pages = PageTokens()
    raw = base64.urlsafe_b64decode(pages.token("op-ani", "q", 7) + "==")
    assert raw[0] == VERSION
    for forged in (bytes([VERSION + 1]) + raw[1:], raw + b"\x00", raw[:-1]):
        with pytest.raises(ValueError):
            pages.after("op-ani", "q", base64.urlsafe_b64encode(forged).decode())


@pytest.mark.parametrize(("asked", "served"), [(0, 50), (1, 1), (100, 100)])
def test_page_sizes_in_range(asked, served):
    assert page_size(asked, 50, 100) == served


@pytest.mark.parametrize("asked", [-1, 101, 2**31 - 1])
def test_page_sizes_out_of_range(asked):
    with pytest.raises(PageSizeInvalid):
        page_size(asked, 50, 100)
