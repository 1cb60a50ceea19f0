"""A simulated camera: an MJPEG-over-HTTP stream on 127.0.0.1 that OpenCV opens directly.

``GET /stream.mjpg`` answers ``multipart/x-mixed-replace`` with one JPEG part per frame at
``fps``; ``GET /snapshot.jpg`` answers one JPEG. Frames come from ``frame_source(index)``; the
encoded JPEGs are cached per scene (``scene_key()`` changes when someone else stands at the
kit), so serving costs a socket write per frame, not a render and an encode.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Hashable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

FrameSource = Callable[[int], np.ndarray]
SceneKey = Callable[[], Hashable]

BOUNDARY = "rekamframe"
CAMERA_FAULTS = (
    "dark",  # frames far too dark: gain=<0..1 multiplier, default 0.15>
    "blur",  # frames out of focus: kernel=<odd size, default 21>
    "stall",  # the camera keeps the connection but sends no frames
    "slow_link",  # fps=<frames per second the link still carries, default 5>
)
_SEND_BUFFER = 64 * 1024


class MjpegCameraServer:
    """One simulated camera. ``url`` is what a driver hands to ``cv2.VideoCapture``."""

    def __init__(
        self,
        frame_source: FrameSource,
        scene_key: SceneKey,
        *,
        fps: float = 30.0,
        distinct_frames: int = 4,
        jpeg_quality: int = 90,
        port: int = 0,
        name: str = "camera",
    ) -> None:
        self.frame_source = frame_source
        self.scene_key = scene_key
        self.fps = fps
        self.distinct_frames = max(1, distinct_frames)
        self.jpeg_quality = jpeg_quality
        self.name = name
        self.faults: dict[str, dict[str, Any]] = {}
        self.frames_served = 0
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._cache: dict[Hashable, bytes] = {}
        self._cache_scene: Hashable = None
        self._cache_lock = threading.Lock()
        self._clients: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._clients_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/stream.mjpg"

    @property
    def connected(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Plug in: listen on 127.0.0.1 (the same port as before after an unplug)."""
        if self._server is not None:
            return
        self._stopping = threading.Event()
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _StreamHandler)
        server.daemon_threads = True
        server.camera = self  # type: ignore[attr-defined]
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Unplug: close the listener and every open stream."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._clients_lock:
            clients = list(self._clients)
            handlers = list(self._handlers)
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for handler in handlers:
            handler.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            self._thread = None

    plug = start
    unplug = stop

    def set_fault(self, name: str, **params: Any) -> None:
        if name not in CAMERA_FAULTS:
            raise ValueError(f"unknown camera fault {name!r}; known: {', '.join(CAMERA_FAULTS)}")
        self.faults[name] = dict(params)

    def clear_faults(self) -> None:
        self.faults.clear()

    def link_fps(self) -> float:
        """Frames per second the stream carries now (lower under a "slow_link" fault)."""
        slow = self.faults.get("slow_link")
        if slow is None:
            return self.fps
        return max(0.5, min(self.fps, float(slow.get("fps", 5.0))))

    # -- frames -----------------------------------------------------------------------------
    def jpeg(self, index: int) -> bytes:
        """The encoded frame ``index`` of the current scene (cached)."""
        fault_key = tuple(sorted((k, tuple(sorted(v.items()))) for k, v in self.faults.items()))
        scene = (self.scene_key(), fault_key)
        slot = index % self.distinct_frames
        with self._cache_lock:
            if scene != self._cache_scene:
                self._cache = {}
                self._cache_scene = scene
            cached = self._cache.get(slot)
            if cached is not None:
                return cached
            frame = self._apply_faults(self.frame_source(slot))
            ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if not ok:
                raise RuntimeError("JPEG encoding failed")
            data = encoded.tobytes()
            if self.scene_key() == scene[0]:  # the scene did not change while rendering
                self._cache[slot] = data
            return data

    def _apply_faults(self, frame: np.ndarray) -> np.ndarray:
        if "blur" in self.faults:
            kernel = int(self.faults["blur"].get("kernel", 21)) | 1
            frame = cv2.GaussianBlur(frame, (kernel, kernel), 0)
        if "dark" in self.faults:
            gain = float(self.faults["dark"].get("gain", 0.15))
            frame = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        return frame

    # -- used by the handler ----------------------------------------------------------------
    def _register(self, client: socket.socket) -> None:
        with self._clients_lock:
            self._clients.add(client)
            self._handlers.add(threading.current_thread())

    def _unregister(self, client: socket.socket) -> None:
        with self._clients_lock:
            self._clients.discard(client)
            self._handlers.discard(threading.current_thread())


class _StreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "RekamSimCamera/1.0"

    def do_GET(self) -> None:
        camera: MjpegCameraServer = self.server.camera  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        if path == "/snapshot.jpg":
            body = camera.jpeg(0)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path != "/stream.mjpg":
            self.send_error(404)
            return
        camera._register(self.connection)
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-cache, no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self._stream(camera)
        except OSError:
            pass  # the client went away or the camera was unplugged
        finally:
            camera._unregister(self.connection)

    def _stream(self, camera: MjpegCameraServer) -> None:
        due = time.monotonic()
        index = 0
        while not camera._stopping.is_set():
            period = 1.0 / camera.link_fps()
            if "stall" not in camera.faults:
                body = camera.jpeg(index)
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode("ascii")
                self.wfile.write(head + body + b"\r\n")
                self.wfile.flush()
                camera.frames_served += 1
                index += 1
            due += period
            pause = due - time.monotonic()
            if pause > 0:
                camera._stopping.wait(pause)
            else:
                due = time.monotonic()  # the client is slow: never build a backlog

    def log_message(self, format: str, *args: object) -> None:
        return
