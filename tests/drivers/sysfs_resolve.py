"""Run under ``umockdev-run``: resolve port specs against the emulated /sys and /dev and print
the outcome as JSON. Usage: ``python sysfs_resolve.py '<json request>'``.

The request: ``{"serial": [spec, ...], "video": [spec, ...], "remember": spec,
"seen": {"spec": ..., "device": {...}}}``; ``remember`` opens nothing but notes the adapter at
``spec`` as ``open_serial`` does, and prints it; ``seen`` restores such a note first (the
adapter seen before the replug, as the daemon's memory holds it across it).
"""

from __future__ import annotations

import dataclasses
import json
import sys

from serial.tools import list_ports

from drivers import usb_identity
from drivers.serial_ports import find_port, remember_opened
from drivers.usb_identity import AmbiguousPort, UsbIdentity, find_video_device


def outcome(resolve, spec: str) -> object:
    try:
        return resolve(spec)
    except AmbiguousPort as error:
        return {"error": error.code, "candidates": [c.describe() for c in error.candidates]}


def main(request: dict) -> dict:
    if "seen" in request:
        seen = request["seen"]
        device = UsbIdentity(**seen["device"])
        usb_identity.note_opened(seen["spec"], device.node, device, lambda: None)
    result: dict = {
        "comports": [
            [p.device, p.vid, p.pid, p.serial_number, p.location] for p in list_ports.comports()
        ],
        "serial": {spec: outcome(find_port, spec) for spec in request.get("serial", [])},
        "video": {spec: outcome(find_video_device, spec) for spec in request.get("video", [])},
    }
    if "remember" in request:
        spec = request["remember"]
        remember_opened(spec, find_port(spec))
        entry = usb_identity.opened(spec)
        assert entry is not None and entry.device is not None
        result["remembered"] = dataclasses.asdict(entry.device)
    return result


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
