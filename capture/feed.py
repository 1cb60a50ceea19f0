"""Frames from a device to the capture loop.

A live source (a camera) is read by its own thread, which keeps only the newest frame: the
capture loop assesses one frame while the next one is read, and never falls behind the camera.
A device that captures on demand (a fingerprint scanner) is read in the caller's thread.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import numpy as np

from capture.enrollment import utcnow
from drivers.base import ImageDevice

_WAIT_SLICE_S = 0.05


class FrameFeed:
    """``next_frame(deadline)`` gives (frame, time read) or None at the deadline.

    Device errors (CaptureTimeout, DeviceUnavailable, ...) are raised from ``next_frame``.
    """

    def __init__(
        self,
        device: ImageDevice,
        position: str,
        timeout: float,
        cancel: threading.Event,
        live: bool,
    ) -> None:
        self.cancel = cancel
        self.live = live
        self._stop = threading.Event() if live else cancel
        self._frames = device.frames(cancel=self._stop, position=position, timeout=timeout)
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, datetime] | None = None
        self._sequence = 0
        self._taken = 0
        self._error: BaseException | None = None
        self._ended = False
        self._reader: threading.Thread | None = None
        if live:
            self._reader = threading.Thread(target=self._read, name="frame-feed", daemon=True)
            self._reader.start()

    def _read(self) -> None:
        try:
            for frame in self._frames:
                with self._cond:
                    self._latest = (frame, utcnow())
                    self._sequence += 1
                    self._cond.notify_all()
                if self._stop.is_set():
                    break
        except BaseException as exc:  # handed to the capture loop
            with self._cond:
                self._error = exc
        finally:
            self._frames.close()
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def next_frame(self, deadline: float) -> tuple[np.ndarray, datetime] | None:
        if not self.live:
            try:
                return next(self._frames), utcnow()
            except StopIteration:
                return None
        with self._cond:
            while self._sequence == self._taken:
                if self._error is not None:
                    raise self._error
                remaining = deadline - time.monotonic()
                if self._ended or remaining <= 0 or self.cancel.is_set():
                    return None
                self._cond.wait(min(remaining, _WAIT_SLICE_S))
            self._taken = self._sequence
            assert self._latest is not None
            return self._latest

    def close(self) -> None:
        if self._reader is None:
            self._frames.close()
            return
        self._stop.set()
        self._reader.join(timeout=5)
