"""A real headless Chromium calls the daemon through the web door, as an operator console or an
Electron renderer would: a page served from loopback runs tests/station/browser/page.html (a
hand-written gRPC-Web client) against a simulated kit.

Debian's ``chromium`` is driven by Playwright (``executable_path``: no browser download)."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright
from simkit import Kit, running_kit

from simulator.kit import FACE_ID, FINGERPRINT_ID
from station.config import WebConfig

PAGES = Path(__file__).resolve().parent / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class _QuietPages(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def page_server() -> Iterator[int]:
    """The test pages on a loopback port of their own (a different origin from the door)."""
    handler = functools.partial(_QuietPages, directory=str(PAGES))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser_kit(tmp_path_factory: pytest.TempPathFactory, page_server: int) -> Iterator[Kit]:
    web = WebConfig(listen="127.0.0.1:0", allowed_origins=[f"http://127.0.0.1:{page_server}"])
    with running_kit("KIT-WEB-02", tmp_path_factory.mktemp("kit") / "station", web=web) as kit:
        kit.present("adult", 5)
        yield kit


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is not installed at {CHROMIUM} (.ci/debian-packages.txt)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


def _page(chromium: Any, origin: str) -> Any:
    page = chromium.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{origin}/page.html")
    return page


def _door(kit: Kit) -> str:
    assert kit.daemon.web is not None
    return kit.daemon.web.url


@pytest.mark.parametrize("text_mode", [False, True], ids=["grpc-web+proto", "grpc-web-text"])
def test_a_page_lists_devices_and_watches_them(
    chromium: Any, page_server: int, browser_kit: Kit, text_mode: bool
) -> None:
    page = _page(chromium, f"http://127.0.0.1:{page_server}")
    args = {"base": _door(browser_kit), "token": browser_kit.operator_token, "text": text_mode}
    listed = page.evaluate("a => listDevices(a.base, a.token, a.text)", args)
    assert listed["httpStatus"] == 200 and listed["grpcStatus"] == 0
    assert {FACE_ID, FINGERPRINT_ID} <= set(listed["ids"])
    watched = page.evaluate("a => watchDevices(a.base, a.token, 3, a.text)", args)
    assert watched["aborted"] is True
    assert [event["kind"] for event in watched["events"]] == [1, 1, 1]  # KIND_ATTACHED
    assert {event["id"] for event in watched["events"]} <= set(listed["ids"])
    page.close()


def test_a_page_decodes_an_error_status(chromium: Any, page_server: int, browser_kit: Kit) -> None:
    page = _page(chromium, f"http://127.0.0.1:{page_server}")
    refused = page.evaluate("base => listDevices(base, 'rk_forged', false)", _door(browser_kit))
    assert refused["grpcStatus"] == 16  # UNAUTHENTICATED
    assert refused["ids"] == []
    status = refused["status"]
    assert status["code"] == 16
    assert status["details"]["google.rpc.ErrorInfo"] == {
        "first": "UNAUTHENTICATED",
        "second": "rekam.station.v1",
    }
    assert status["details"]["google.rpc.LocalizedMessage"]["second"] == refused["grpcMessage"]
    page.close()


def test_a_page_shows_the_live_preview_in_an_img(
    chromium: Any, page_server: int, browser_kit: Kit
) -> None:
    page = _page(chromium, f"http://127.0.0.1:{page_server}")
    args = {"base": _door(browser_kit), "token": browser_kit.operator_token, "device": FACE_ID}
    shown = page.evaluate("a => showPreview(a.base, a.token, a.device)", args)
    assert shown["width"] > 0 and shown["height"] > 0
    assert shown["tokenInUrl"] is False
    page.close()


def test_a_page_from_another_origin_is_refused_by_cors(
    chromium: Any, page_server: int, browser_kit: Kit
) -> None:
    """The same page on localhost (another origin than the allowed 127.0.0.1 one), even with a
    valid token, gets nothing: the browser's preflight finds no CORS answer."""
    refused_before = len(list(browser_kit.daemon.audit.entries("login_refused")))
    page = _page(chromium, f"http://localhost:{page_server}")
    args = {"base": _door(browser_kit), "token": browser_kit.operator_token}
    outcome = page.evaluate("a => attempt(() => listDevices(a.base, a.token, false))", args)
    assert outcome["ok"] is False
    assert outcome["error"].startswith("TypeError")  # fetch's network error for a CORS refusal
    preview = page.evaluate(
        "a => attempt(() => showPreview(a.base, a.token, 'face-camera-0'))", args
    )
    assert preview["ok"] is False
    assert len(list(browser_kit.daemon.audit.entries("login_refused"))) == refused_before
    page.close()
