"""The web door (station.web), played by a page's requests over real loopback sockets.

Each attack test plays a hostile page or a thief of a URL: a disallowed origin, a rebinding
host name, a forged or stale preview pass, a role that may not watch, a page that vanishes
mid-stream. The client side is tests/station/grpcweb_client.py, written from the protocol
document, not from the gateway."""

from __future__ import annotations

import http.client
import json
import socket
import time

import cv2
import numpy as np
import pytest
from grpcweb_client import bearer, decode_frames, grpc_web_call
from simkit import Kit
from test_preview_flow_control import never_passing_face
from test_preview_pull import pull_request, pulled_capture_request

from capture.engine import CaptureSettings
from simulator.kit import FACE_ID, FINGERPRINT_ID
from station.cli import _load_config, build_parser
from station.client import StationClient
from station.config import StationConfig, WebConfig
from station.server import WEB_SERVICES, ConfigurationError, check_exposure
from station.v1 import devices_pb2, enrollment_pb2
from station.web.forwarding import Forwarder, method_table
from station.web.gateway import WebDoor, WebDoorSettings
from station.web.preview import BOUNDARY, PreviewPasses

DEVICES = "/station.v1.Devices/ListDevices"
WATCH = "/station.v1.Devices/WatchDevices"


def _port(kit: Kit) -> int:
    assert kit.daemon.web is not None
    return kit.daemon.web.port


def _request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read() if method != "GET" else b"",
        )
    finally:
        connection.close()


def _wait_until(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.05) + 1):
        if condition() or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return bool(condition())


# -- gRPC-Web ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [False, True], ids=["grpc-web+proto", "grpc-web-text"])
def test_a_unary_call_answers_the_devices(web_station: Kit, text: bool) -> None:
    answer = grpc_web_call(
        _port(web_station), DEVICES, b"", bearer(web_station.operator_token), text=text
    )
    assert answer.http_status == 200
    assert answer.headers["content-type"].startswith(
        "application/grpc-web-text" if text else "application/grpc-web+proto"
    )
    assert answer.grpc_status == 0
    (message,) = answer.messages
    ids = {device.id for device in devices_pb2.ListDevicesResponse.FromString(message).devices}
    assert {FACE_ID, FINGERPRINT_ID} <= ids


def test_a_server_stream_is_forwarded_message_by_message(web_station: Kit) -> None:
    request = devices_pb2.WatchDevicesRequest(include_current=True).SerializeToString()
    headers = {**bearer(web_station.operator_token), "grpc-timeout": "1500m"}
    answer = grpc_web_call(_port(web_station), WATCH, request, headers, text=True)
    events = [devices_pb2.DeviceEvent.FromString(m) for m in answer.messages]
    assert len(events) >= 5
    assert all(e.kind == devices_pb2.DeviceEvent.KIND_ATTACHED for e in events)
    assert answer.grpc_status == 4  # DEADLINE_EXCEEDED: the grpc-timeout header reached the call


def test_a_pulled_preview_frame_is_answered_through_the_door(web_station: Kit) -> None:
    eid = never_passing_face(web_station, 61)
    client = StationClient(web_station.address, web_station.operator_token)
    call = client.enrollment.Capture(
        pulled_capture_request(eid), metadata=client.metadata, timeout=60
    )
    try:
        assert next(call).WhichOneof("event") == "prompt"
        answer = grpc_web_call(
            _port(web_station),
            "/station.v1.Enrollment/GetPreview",
            pull_request(eid).SerializeToString(),
            bearer(web_station.operator_token),
        )
    finally:
        call.cancel()
        client.close()
    assert answer.grpc_status == 0
    (message,) = answer.messages
    frame = enrollment_pb2.GetPreviewResponse.FromString(message).frame
    assert frame.sequence > 0 and frame.image.media_type == "image/jpeg"


def test_the_same_roles_apply_and_are_audited(web_station: Kit) -> None:
    """A technician may not start an enrollment, through the web door as natively."""
    request = enrollment_pb2.StartEnrollmentRequest().SerializeToString()
    answer = grpc_web_call(
        _port(web_station),
        "/station.v1.Enrollment/StartEnrollment",
        request,
        bearer(web_station.technician_token),
    )
    assert answer.grpc_status == 7  # PERMISSION_DENIED
    assert "grpc-status-details-bin" in answer.trailers
    denied = list(web_station.daemon.audit.entries("access_denied"))
    assert any(e.actor == "tech-citra" and "StartEnrollment" in e.target for e in denied)


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("/station.v1.Devices/NoSuchMethod", 12),
        ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", 12),  # bidi
    ],
)
def test_methods_a_browser_cannot_call_are_unimplemented(
    web_station: Kit, method: str, code: int
) -> None:
    answer = grpc_web_call(_port(web_station), method, b"", bearer(web_station.operator_token))
    assert answer.grpc_status == code
    assert answer.messages == []


def test_a_malicious_body_is_refused_without_a_call(web_station: Kit) -> None:
    headers = {"content-type": "application/grpc-web+proto", **bearer(web_station.operator_token)}
    for body in (b"\x01\x00\x00\x00\x00", b"\x00\x00\x00\x00\x09ab", b"\x00\x00"):
        status, _, raw = _request(_port(web_station), "POST", DEVICES, headers, body)
        assert status == 200
        messages, trailers = decode_frames(raw, text=False)
        assert messages == []
        assert trailers["grpc-status"] == "3"  # INVALID_ARGUMENT


def test_an_oversized_body_is_refused_unread(web_station: Kit) -> None:
    with socket.create_connection(("127.0.0.1", _port(web_station)), timeout=10) as conn:
        conn.sendall(
            f"POST {DEVICES} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "content-type: application/grpc-web+proto\r\n"
            f"content-length: {64 * 1024 * 1024}\r\n\r\n".encode()
        )
        assert conn.recv(64).startswith(b"HTTP/1.1 413")


# -- CORS and host names ----------------------------------------------------------------------
def _preflight(port: int, origin: str) -> tuple[int, dict[str, str]]:
    status, headers, _ = _request(
        port,
        "OPTIONS",
        DEVICES,
        {
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type,x-grpc-web",
        },
    )
    return status, headers


def test_the_preflight_is_answered_for_an_allowed_origin(web_station: Kit) -> None:
    (allowed,) = web_station.daemon.config.web.allowed_origins
    status, headers = _preflight(_port(web_station), allowed)
    assert status == 204
    assert headers["access-control-allow-origin"] == allowed
    assert "authorization" in headers["access-control-allow-headers"]
    assert "POST" in headers["access-control-allow-methods"]


def test_another_origin_gets_no_cors_answer_and_no_call(web_station: Kit) -> None:
    """A page on another origin (even another loopback port) is refused, with no
    Access-Control header that would let the browser go on."""
    for origin in ("http://127.0.0.1:8081", "http://evil.example", "null"):
        status, headers = _preflight(_port(web_station), origin)
        assert status == 403
        assert not any(key.startswith("access-control-") for key in headers)
        answer = grpc_web_call(
            _port(web_station),
            DEVICES,
            b"",
            {**bearer(web_station.operator_token), "origin": origin},
        )
        assert answer.http_status == 403
        assert answer.messages == []
        assert not any(key.startswith("access-control-") for key in answer.headers)


def test_a_rebound_host_name_is_refused(web_station: Kit) -> None:
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1."""
    headers = {
        "host": f"evil.example:{_port(web_station)}",
        "content-type": "application/grpc-web+proto",
        **bearer(web_station.operator_token),
    }
    status, _, body = _request(_port(web_station), "POST", DEVICES, headers, b"\0\0\0\0\0")
    assert status == 403
    assert b"grpc-status" not in body


def test_a_page_that_leaves_ends_its_stream(web_station: Kit) -> None:
    """A page that navigates away mid-stream must not leave the call running in the daemon."""
    door = web_station.daemon.web
    assert door is not None
    request = devices_pb2.WatchDevicesRequest().SerializeToString()
    body = b"\0" + len(request).to_bytes(4, "big") + request
    with socket.create_connection(("127.0.0.1", door.port), timeout=10) as conn:
        conn.sendall(
            f"POST {WATCH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "content-type: application/grpc-web+proto\r\n"
            f"authorization: Bearer {web_station.operator_token}\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert conn.recv(15).startswith(b"HTTP/1.1 200")
        assert _wait_until(lambda: door.forwarder.running() == 1)
    assert _wait_until(lambda: door.forwarder.running() == 0)


# -- MJPEG previews ---------------------------------------------------------------------------
def _preview_url(kit: Kit, token: str, device: str = FACE_ID) -> tuple[int, dict]:
    status, _, body = _request(
        _port(kit), "POST", f"/v1/devices/{device}/preview-url", bearer(token)
    )
    return status, json.loads(body)


def _first_jpeg(port: int, path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            return response.status, response.getheader("content-type", ""), b""
        boundary = f"--{BOUNDARY}\r\n".encode()
        assert response.readline() == boundary
        part_headers = {}
        for _ in range(10):
            line = response.readline().strip()
            if not line:
                break
            key, _, value = line.decode().partition(":")
            part_headers[key.strip().lower()] = value.strip()
        assert part_headers["content-type"] == "image/jpeg"
        jpeg = response.read(int(part_headers["content-length"]))
        return 200, response.getheader("content-type", ""), jpeg
    finally:
        connection.close()


def test_a_signed_preview_url_shows_the_camera_as_mjpeg(web_station: Kit) -> None:
    web_station.present("adult", 3)
    status, granted = _preview_url(web_station, web_station.operator_token)
    assert status == 200
    path = granted["url"].split(str(_port(web_station)), 1)[1]
    assert "rk_" not in path  # the token itself never goes into a URL
    status, content_type, jpeg = _first_jpeg(_port(web_station), path, {})
    assert status == 200
    assert content_type.startswith("multipart/x-mixed-replace")
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None and frame.shape[2] == 3 and max(frame.shape[:2]) <= 480
    opened = list(web_station.daemon.audit.entries("preview_opened"))
    assert any(e.actor == "op-ani" and e.target == FACE_ID for e in opened)


def test_a_bearer_header_opens_the_preview_too(web_station: Kit) -> None:
    path = f"/v1/devices/{FACE_ID}/preview.mjpeg"
    assert _first_jpeg(_port(web_station), path, bearer(web_station.operator_token))[0] == 200
    assert _first_jpeg(_port(web_station), path, {})[0] == 401


def test_a_role_that_does_not_capture_gets_no_preview(web_station: Kit) -> None:
    assert _preview_url(web_station, web_station.technician_token)[0] == 403
    assert _preview_url(web_station, "rk_stolen-guess")[0] == 401


def test_a_forged_or_moved_pass_opens_nothing(web_station: Kit) -> None:
    _, granted = _preview_url(web_station, web_station.operator_token)
    path = granted["url"].split(str(_port(web_station)), 1)[1]
    claims, signature = path.split("access=", 1)[1].split(".")
    forged = path.replace(signature, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB"))
    moved = path.replace(FACE_ID, "iris-camera-0", 1)
    for attempt in (forged, moved, path.split("?")[0] + "?access=" + claims):
        assert _first_jpeg(_port(web_station), attempt, {})[0] == 401


def test_a_device_without_live_preview_has_no_preview(web_station: Kit) -> None:
    assert _preview_url(web_station, web_station.operator_token, FINGERPRINT_ID)[0] == 404


def test_a_pass_expires() -> None:
    now = [1000.0]
    passes = PreviewPasses(ttl_s=60, clock=lambda: now[0])
    text, granted = passes.issue(FACE_ID, "op-ani")
    assert passes.check(text, FACE_ID) == granted
    assert passes.check(text, "iris-camera-0") is None
    now[0] += 61
    assert passes.check(text, FACE_ID) is None
    other = PreviewPasses(ttl_s=60, clock=lambda: 1000.0)  # another daemon's key
    assert other.check(passes.issue(FACE_ID, "op-ani")[0], FACE_ID) is None


# -- configuration ----------------------------------------------------------------------------
@pytest.mark.parametrize("listen", ["0.0.0.0:50080", "192.168.1.20:50080", "127.0.0.1"])
def test_the_door_never_listens_beyond_loopback(listen: str) -> None:
    config = StationConfig(web=WebConfig(listen=listen))
    with pytest.raises(ConfigurationError, match=r"\[station.web\] listen"):
        check_exposure(config)


def test_the_door_is_off_unless_configured_or_simulated() -> None:
    parser = build_parser()
    assert not _load_config(parser.parse_args(["serve"])).web.enabled
    simulated = _load_config(parser.parse_args(["serve", "--simulate"])).web
    assert simulated.listen == "127.0.0.1:0"
    chosen = _load_config(
        parser.parse_args(
            ["serve", "--simulate", "--web-listen", "", "--web-origin", "http://127.0.0.1:3000"]
        )
    ).web
    assert not chosen.enabled
    assert chosen.allowed_origins == ["http://127.0.0.1:3000"]


def test_connections_beyond_the_limit_are_turned_away(web_station: Kit) -> None:
    """Idle connections (a page flooding the door) hold at most max_connections threads."""
    settings = WebDoorSettings(
        host="127.0.0.1",
        port=0,
        allowed_origins=[],
        preview_url_ttl_s=60,
        max_connections=2,
        capture=CaptureSettings(),
    )
    forwarder = Forwarder(web_station.address, method_table(WEB_SERVICES), 1024 * 1024)
    door = WebDoor(settings, forwarder, web_station.daemon.tokens, lambda _: None).start()
    try:
        held = [socket.create_connection(("127.0.0.1", door.port), timeout=10) for _ in range(2)]
        assert _wait_until(lambda: door.busy() == 2)
        with socket.create_connection(("127.0.0.1", door.port), timeout=10) as third:
            assert third.recv(64).startswith(b"HTTP/1.1 503")
        for connection in held:
            connection.close()
        assert _wait_until(lambda: door.busy() == 0)
        answer = grpc_web_call(door.port, DEVICES, b"", bearer(web_station.operator_token))
        assert answer.grpc_status == 0
    finally:
        door.stop()
