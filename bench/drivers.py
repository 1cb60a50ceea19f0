"""Driver figures: R30x image transfer against the UART line rate, camera reads through the driver.

- ``drivers.r30x_transfer_ratio``: the time of an UpImage transfer (acknowledge + data packets)
  from the simulated module on a pty paced at 57,600 baud, over the time those bytes take on the
  line (10 bits per byte). 1.0 is the line rate; the target is <= 1.10.
- ``drivers.camera_read_ratio``: frames per second the face-camera driver delivers (its live
  preview path) over frames per second of plain ``cv2.VideoCapture`` reads of the same MJPEG
  source. The target is >= 0.95.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from bench.report import Row

R30X_BAUD = 57600
R30X_TRANSFERS = 2
CAMERA_FPS = 30.0
CAMERA_FRAMES = 60


def r30x_line_bytes(packet_size: int = 128) -> int:
    """Bytes on the wire for one UpImage: the acknowledge and every data packet."""
    from drivers import r30x_protocol as proto
    from drivers.r30x_protocol import Confirmation, Pid

    data = proto.IMAGE_BYTES
    packets = [
        proto.encode_packet(Pid.DATA, bytes(min(packet_size, data - start)))
        for start in range(0, data, packet_size)
    ]
    return len(proto.ack(Confirmation.OK)) + sum(len(p) for p in packets)


def r30x_transfer() -> list[Row]:
    from drivers.r30x import R30xFingerprintScanner
    from simulator.devices.r30x import SimulatedR30x

    finger = np.random.default_rng(1).integers(0, 256, (288, 256), dtype=np.uint8)
    sim = SimulatedR30x(lambda: finger, baudrate=R30X_BAUD, pace=True)
    sim.start()
    scanner = R30xFingerprintScanner("fingerprint-0", sim.port, baudrate=R30X_BAUD)
    try:
        scanner.open()
        scanner.capture(timeout=30)  # fills the module's image buffer
        times = []
        for _ in range(R30X_TRANSFERS):
            started = time.perf_counter()
            scanner.upload()
            times.append(time.perf_counter() - started)
    finally:
        scanner.close()
        sim.stop()
    line_bytes = r30x_line_bytes()
    line_time = line_bytes * 10 / R30X_BAUD
    measured = min(times)
    return [
        Row(
            "drivers.r30x_transfer_ratio",
            measured / line_time,
            "x line time",
            "<= 1.10",
            f"UpImage {line_bytes} B at {R30X_BAUD} baud: {measured:.2f} s measured, "
            f"{line_time:.2f} s line time (best of {R30X_TRANSFERS}, pty paced by the simulator)",
        )
    ]


def _bench_frame() -> np.ndarray:
    rows, cols = np.mgrid[0:480, 0:640]
    frame = np.stack([(rows * 255 // 480), (cols * 255 // 640), ((rows + cols) % 256)], axis=2)
    return frame.astype(np.uint8)


def _raw_fps(url: str) -> float:
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened() or not capture.read()[0]:
            raise RuntimeError(f"VideoCapture cannot read {url}")
        started = time.perf_counter()
        for _ in range(CAMERA_FRAMES):
            ok, _ = capture.read()
            if not ok:
                raise RuntimeError("the bench camera stopped")
        return CAMERA_FRAMES / (time.perf_counter() - started)
    finally:
        capture.release()


def _driver_fps(url: str) -> float:
    from drivers.camera import FaceCamera

    camera = FaceCamera(
        "face-camera-0", url, fps=CAMERA_FPS, backend="ffmpeg", allow_file_sources=True
    )
    camera.open()
    cancel = threading.Event()
    try:
        frames = camera.frames(cancel=cancel, timeout=5)
        next(frames)
        started = time.perf_counter()
        for _ in range(CAMERA_FRAMES):
            next(frames)
        elapsed = time.perf_counter() - started
        cancel.set()
        frames.close()
        return CAMERA_FRAMES / elapsed
    finally:
        camera.close()


def camera_read() -> list[Row]:
    from simulator.devices.mjpeg import MjpegCameraServer

    frame = _bench_frame()
    server = MjpegCameraServer(lambda _index: frame, lambda: 0, fps=CAMERA_FPS, name="bench")
    server.start()
    try:
        raw = _raw_fps(server.url)
        driver = _driver_fps(server.url)
    finally:
        server.stop()
    return [
        Row(
            "drivers.camera_read_ratio",
            driver / raw,
            "x raw reads",
            ">= 0.95",
            f"face-camera driver {driver:.1f} fps vs raw VideoCapture {raw:.1f} fps, "
            f"{CAMERA_FRAMES} frames of 640x480 MJPEG at {CAMERA_FPS:g} fps over loopback HTTP",
        )
    ]


def drivers() -> list[Row]:
    return r30x_transfer() + camera_read()


BENCHES = {"drivers": drivers}
