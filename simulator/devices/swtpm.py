"""A TPM 2.0 for kits without one: the swtpm emulator (libtpms) on two loopback TCP ports.

``SoftwareTpm(state_dir).start()`` runs ``swtpm socket --tpm2`` with its state (the TPM's seeds,
hence every key it wrapped) in ``state_dir``; ``tcti`` is the string the TSS connects with
(``swtpm:host=127.0.0.1,port=P``; the control channel is on ``P + 1``, as the swtpm TCTI
expects). The process lives at most ``lifetime_s`` (``timeout`` kills it even if its parent
dies) and ``stop()`` ends it. Starting the same ``state_dir`` again gives back the same TPM;
a new ``state_dir`` is another TPM, whose seeds no key blob of the first one opens.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"
_PORT_ATTEMPTS = 20
_READY_TIMEOUT_S = 10.0


class SwtpmUnavailable(RuntimeError):
    """swtpm is not installed, or did not start listening."""


def _free_port_pair() -> int:
    """A port P with P and P + 1 free on loopback (checked, then released for swtpm)."""
    for _ in range(_PORT_ATTEMPTS):
        with socket.socket() as first, socket.socket() as second:
            first.bind((LOOPBACK, 0))
            port = first.getsockname()[1]
            try:
                second.bind((LOOPBACK, port + 1))
            except OSError:
                continue
            return port
    raise SwtpmUnavailable("no two consecutive free loopback ports")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


class SoftwareTpm:
    """One swtpm process; ``tcti`` is valid between ``start()`` and ``stop()``."""

    def __init__(self, state_dir: Path, *, lifetime_s: float = 1800.0) -> None:
        self.state_dir = Path(state_dir)
        self.lifetime_s = lifetime_s
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def tcti(self) -> str:
        return f"swtpm:host={LOOPBACK},port={self.port}"

    def start(self) -> SoftwareTpm:
        if shutil.which("swtpm") is None:
            raise SwtpmUnavailable("swtpm is not installed (Debian package swtpm)")
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for _ in range(_PORT_ATTEMPTS):
            self.port = _free_port_pair()
            self._process = subprocess.Popen(
                [
                    "timeout", "--signal=KILL", str(int(self.lifetime_s)),
                    "swtpm", "socket", "--tpm2",
                    "--tpmstate", f"dir={self.state_dir}",
                    "--server", f"type=tcp,port={self.port},bindaddr={LOOPBACK}",
                    "--ctrl", f"type=tcp,port={self.port + 1},bindaddr={LOOPBACK}",
                    "--flags", "not-need-init,startup-clear",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if self._wait_ready():
                return self
            self.stop()
        raise SwtpmUnavailable("swtpm did not start listening on loopback")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            if _listening(self.port) and _listening(self.port + 1):
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """End swtpm: SIGTERM to ``timeout``, which passes it on to swtpm."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None

    def __enter__(self) -> SoftwareTpm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
