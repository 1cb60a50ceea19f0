"""Runs inside ``umockdev-run``: the 5thSense driver through pyusb's libusb1 backend.

Usage: ``vcom5s_child.py PORT IMAGE_OUT [OPTIONS_JSON]``. Opens the sensor, captures one
finger, closes it, saves the image (``numpy.save``) and prints one JSON line: the identity and
its note, or the driver error (reason, code, detail) that ended the attempt.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np

from drivers.errors import DeviceError
from drivers.vcom5s import Vcom5sFingerprintScanner


def main(port: str, image_out: str, options: dict[str, int]) -> dict[str, object]:
    backend = "usb.backend.libusb1"  # the real one, never the simulated bus
    driver = Vcom5sFingerprintScanner("fp-usb", port, usb_backend=backend, **options)
    report: dict[str, object] = {}
    try:
        driver.open()
        report["identity"] = dataclasses.asdict(driver.identity)
        report["identity_note"] = driver.identity_note
        np.save(image_out, driver.capture(timeout=10.0))
    except DeviceError as exc:
        report["error"] = {"reason": exc.reason, "code": exc.code, "detail": exc.detail}
    finally:
        report["status"] = driver.status.name
        driver.close()
    return report


if __name__ == "__main__":
    extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    print(json.dumps(main(sys.argv[1], sys.argv[2], extra)))
