"""The device end of a serial line: a pty pair, and a base class for simulated serial devices.

The host (a driver) opens the pty's slave path with ``serial.Serial`` exactly as it would open
``/dev/ttyUSB0``. Unplugging closes both ends, so the host's next read fails the way a yanked
USB-serial adapter does; plugging in again creates a new pty behind the same stable symlink.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import termios
import threading
import time
import tty
from pathlib import Path
from typing import Any

_POLL_S = 0.02
_WRITE_STALL_S = 2.0
_PACE_CHUNK = 64


class PtyPort:
    """One pty pair. ``port`` is the path a host opens (a stable symlink when ``link_path``)."""

    def __init__(self, link_path: str | os.PathLike[str] | None = None) -> None:
        self.link_path = Path(link_path) if link_path else None
        self.master_fd = -1
        self.slave_fd = -1
        self.slave_path = ""
        self._close_lock = threading.Lock()

    @property
    def port(self) -> str:
        return str(self.link_path) if self.link_path else self.slave_path

    def open(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        self.master_fd, self.slave_fd = master, slave
        self.slave_path = os.ttyname(slave)
        if self.link_path:
            temporary = self.link_path.with_name(self.link_path.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            temporary.symlink_to(self.slave_path)
            temporary.replace(self.link_path)

    def close(self) -> None:
        with self._close_lock:
            if self.link_path:
                with contextlib.suppress(FileNotFoundError):
                    self.link_path.unlink()
            fds = (self.master_fd, self.slave_fd)
            self.master_fd = self.slave_fd = -1
            for fd in fds:
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)

    def line_speed(self) -> int | None:
        """The termios speed constant (``termios.B19200``, ...) the host set on its end."""
        try:
            return termios.tcgetattr(self.slave_fd)[5]  # ospeed; pyserial sets both alike
        except (OSError, termios.error):
            return None

    def read(self, timeout: float) -> bytes:
        """Whatever the host sent, waiting at most ``timeout``; b"" if nothing."""
        ready, _, _ = select.select([self.master_fd], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master_fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as error:
            if error.errno == errno.EIO:  # no host end open at the moment
                return b""
            raise

    def write_some(self, data: bytes | memoryview, timeout: float) -> int:
        """Write what fits within ``timeout``; the count written (0 when the host is stalled)."""
        _, ready, _ = select.select([], [self.master_fd], [], timeout)
        if not ready:
            return 0
        try:
            return os.write(self.master_fd, data)
        except BlockingIOError:
            return 0


class DeviceUnplugged(Exception):
    """Raised inside a simulator's I/O thread when it must stop talking (unplug or stop)."""


class SerialDeviceSimulator:
    """A simulated serial device: one pty, one daemon I/O thread, optional line pacing.

    Subclasses implement ``on_bytes`` (bytes from the host) and may implement ``on_idle``
    (called every few milliseconds, e.g. to stream reports); they answer with ``send``.
    """

    name = "serial-device"

    def __init__(
        self,
        *,
        link_path: str | os.PathLike[str] | None = None,
        baudrate: int = 9600,
        pace: bool = False,
    ) -> None:
        self.baudrate = baudrate
        self.pace = pace
        self._pty = PtyPort(link_path)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._line_free_at = 0.0
        self.bytes_sent = 0
        self.state_lock = threading.RLock()
        # Injected faults by name with their parameters. Every serial device takes
        # "slow_link" (baudrate=<the line's real speed>, default a quarter of ``baudrate``).
        self.faults: dict[str, dict[str, Any]] = {}

    @property
    def port(self) -> str:
        """The path a driver opens."""
        return self._pty.port

    @property
    def slave_path(self) -> str:
        return self._pty.slave_path

    @property
    def connected(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Plug in: create the pty and start answering."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            if not self._stop.is_set():
                return  # already plugged in
            thread.join(3.0)  # still winding down from an unplug: let it finish first
        self._pty.open()
        self._stop = threading.Event()
        self.on_connect()
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Unplug: stop answering and close both ends of the pty."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        self._pty.close()

    plug = start
    unplug = stop

    def disconnect_from_inside(self) -> None:
        """Unplug from the I/O thread itself (a fault such as 'unplug mid-transfer')."""
        self._stop.set()
        self._pty.close()
        raise DeviceUnplugged

    def line_speed(self) -> int | None:
        """The termios speed constant the host set on the line (a device at another speed
        would hear only garbage); None when the line is closed."""
        return self._pty.line_speed()

    def on_connect(self) -> None:
        """Reset per-connection state (power-on)."""

    def on_bytes(self, data: bytes) -> None:
        raise NotImplementedError

    def on_idle(self) -> None:
        """Called between reads."""

    def line_rate(self) -> int | None:
        """The baud rate the line is paced at now (None: as fast as the pty goes)."""
        slow = self.faults.get("slow_link")
        if slow is not None:
            return max(300, int(slow.get("baudrate", self.baudrate // 4)))
        return self.baudrate if self.pace else None

    def send(self, data: bytes) -> None:
        """Transmit to the host, paced at ``line_rate()``."""
        view = memoryview(data)
        stalled_since: float | None = None
        rate = self.line_rate()
        while view:
            if self._stop.is_set():
                raise DeviceUnplugged
            chunk = view[:_PACE_CHUNK] if rate else view
            if rate:
                now = time.monotonic()
                start = max(now, self._line_free_at)
                if start > now:
                    time.sleep(start - now)
            written = self._pty.write_some(chunk, _POLL_S)
            if written:
                stalled_since = None
                if rate:
                    start = max(time.monotonic(), self._line_free_at)
                    self._line_free_at = start + written * 10 / rate
                self.bytes_sent += written
                view = view[written:]
                continue
            now = time.monotonic()
            stalled_since = stalled_since or now
            if now - stalled_since > _WRITE_STALL_S:
                return  # the host stopped reading; drop the rest like a UART would

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    data = self._pty.read(_POLL_S)
                except OSError:
                    return
                with self.state_lock:
                    if data:
                        self.on_bytes(data)
                    self.on_idle()
        except DeviceUnplugged:
            return
