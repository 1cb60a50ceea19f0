"""A small JSON-over-HTTP control surface for a running simulated kit (loopback only).

POST /v1/resident            {"kind": "adult", "seed": 1}   (or {} for nobody at the kit);
                             optional "nik", "birth_date" (YYYY-MM-DD), "sex" ("male",
                             "female") fix the demographics. Answers {"resident": {"kind",
                             "seed", "nik", "name", "birth_date", "sex", "category",
                             "backdrop"}}: what an app enrolls the resident with, and the
                             backdrop colour their birth year gives the face camera
POST /v1/resident/position   {"position": "right_index"}   what the operator asks the resident
                             to present next: a finger, "right_eye", "face", "signature", ...
POST /v1/devices/<id>/unplug
POST /v1/devices/<id>/plug
POST /v1/devices/<id>/fault  {"name": "no_finger", ...params}   ("clear" removes all)
GET  /v1/kit                 the kit's devices, whether each is plugged in, who stands at it
                             (as POST /v1/resident answered) and what they were asked to present

Fault parameters may arrive as text (``rekam sim fault fingerprint-0 truncate times=2``):
numbers and booleans written as text are read as numbers and booleans.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from domain.vocabulary import Sex

MAX_BODY = 64 * 1024


class KitControlServer:
    """Serves the control surface for ``kit``; ``make_resident(kind, seed, nik=, birth_date=,
    sex=)`` builds residents (one with ``describe()`` says who it is: its demographics)."""

    def __init__(
        self,
        kit: Any,
        make_resident: Callable[..., Any],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.kit = kit
        self.make_resident = make_resident
        self.resident: dict[str, Any] = {}
        self.position = ""
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="kit-control", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> KitControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def handle(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["v1", "kit"]:
            devices = [
                {**spec, "plugged": self.kit.is_plugged(spec["id"])}
                for spec in self.kit.device_specs()
            ]
            return HTTPStatus.OK, {
                "devices": devices,
                "resident": self.resident,
                "position": self.position,
            }
        if method == "POST" and parts == ["v1", "resident", "position"]:
            position = str(body.get("position", ""))
            try:
                self.kit.ask_for(position)
            except ValueError as exc:
                return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
            self.position = position
            return HTTPStatus.OK, {"position": position}
        if method == "POST" and parts == ["v1", "resident"]:
            kind = body.get("kind")
            self.position = ""
            if not kind:
                self.kit.present(None)
                self.resident = {}
                return HTTPStatus.OK, {"resident": None}
            try:
                seed = int(body.get("seed", 0))
                resident = self.make_resident(str(kind), seed, **demographics(body))
            except (ValueError, KeyError) as exc:
                return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
            self.kit.present(resident)
            described = getattr(resident, "describe", dict)()  # a persona tells who it is
            self.resident = {"kind": kind, "seed": seed, **described}
            return HTTPStatus.OK, {"resident": self.resident}
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "devices"]:
            device_id, action = parts[2], parts[3]
            try:
                if action == "unplug":
                    self.kit.unplug(device_id)
                elif action == "plug":
                    self.kit.plug(device_id)
                elif action == "fault":
                    params = {key: coerce_param(value) for key, value in body.items()}
                    name = str(params.pop("name", ""))
                    self.kit.set_fault(device_id, name, **params)
                else:
                    return HTTPStatus.NOT_FOUND, {"error": f"unknown action {action!r}"}
            except (KeyError, ValueError) as exc:
                return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
            return HTTPStatus.OK, {"device": device_id, "action": action}
        return HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {method} {path}"}


def demographics(body: dict[str, Any]) -> dict[str, Any]:
    """The fixed demographics a /v1/resident body asks for (ValueError for a malformed one)."""
    fixed: dict[str, Any] = {}
    if body.get("nik"):
        fixed["nik"] = str(body["nik"])
    if body.get("birth_date"):
        fixed["birth_date"] = date.fromisoformat(str(body["birth_date"]))
    if body.get("sex"):
        fixed["sex"] = Sex(str(body["sex"]).lower())
    return fixed


def coerce_param(value: Any) -> Any:
    """A fault parameter as the simulator wants it: "3" -> 3, "0.5" -> 0.5, "true" -> True."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("true", "yes", "on"):
        return True
    if text.lower() in ("false", "no", "off"):
        return False
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            continue
    return value


def _handler_for(control: KitControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "rekam-sim-control/1"

        def _respond(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._respond(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
            except ValueError as exc:
                self._respond(HTTPStatus.BAD_REQUEST, {"error": f"bad JSON: {exc}"})
                return
            status, payload = control.handle(method, self.path, body)
            self._respond(status, payload)

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


class KitControl:
    """Client of a running kit's control surface at ``url``: what an operator (or a technician
    staging faults) does to the simulated kit. Raises RuntimeError on an error answer."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def present(self, kind: str | None, seed: int = 0, **demographics: str) -> dict:
        """Put a resident of ``kind`` (see simulator.personas) at the kit; None: nobody.
        ``demographics``: ``nik``, ``birth_date`` (YYYY-MM-DD), ``sex`` to fix."""
        body = {"kind": kind, "seed": seed, **demographics} if kind else {}
        return post(self.url, "/v1/resident", body, self.timeout)

    def ask_for(self, position: str) -> dict:
        """Tell the resident what to present next, as the operator does before each capture."""
        return post(self.url, "/v1/resident/position", {"position": position}, self.timeout)

    def device(self, device_id: str, action: str, **params: Any) -> dict:
        """``unplug``, ``plug`` or ``fault`` (with ``name=`` and the fault's parameters)."""
        return post(self.url, f"/v1/devices/{device_id}/{action}", params, self.timeout)


def post(url: str, path: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> dict:
    """Client helper: POST JSON to a control server; raises RuntimeError on an error answer."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise RuntimeError(f"kit control refused {path}: {exc.code} {detail}") from exc
