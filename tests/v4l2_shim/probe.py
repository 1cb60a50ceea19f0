"""Runs a camera driver against an emulated V4L2 device and prints what it saw, as JSON.

Started by the tests in a child process whose LD_PRELOAD holds the V4L2 shim, so that OpenCV,
loaded after it, talks to the emulated device through its own V4L2 backend. Argument: a JSON
object with the device ``spec`` (as in ``[[devices]]``), ``stalls`` (seconds to wait before
each capture) and ``position``.
"""

from __future__ import annotations

import json
import sys
import time

from drivers.errors import DeviceError
from drivers.registry import create_device


def _error(error: DeviceError) -> dict:
    return {
        "code": error.code,
        "params": {key: str(value) for key, value in error.params.items()},
        "en": error.message.render("en"),
        "id": error.message.render("id"),
    }


def _opened(camera, request: dict) -> dict:
    seen: dict = {
        "width": camera.width,
        "height": camera.height,
        "fourcc": camera.fourcc,
        "fps": camera.fps,
        "backend": camera.backend_name,
        "model": camera.identity.model,
        "eye_width": camera.capabilities.width,
        "offered": [str(mode) for mode in camera.offered_modes],
        "applied": camera.applied_controls,
        "unsupported": list(camera.unsupported_controls),
        "levels": [],
        "shapes": [],
    }
    for stall in request.get("stalls", [0.0]):
        time.sleep(stall)
        frame = camera.capture(timeout=3, position=request.get("position"))
        seen["levels"].append(float(frame.mean()))
        seen["shapes"].append(list(frame.shape))
    return seen


def main() -> None:
    request = json.loads(sys.argv[1])
    camera = create_device(request["spec"])
    result: dict = {"present": camera.present()}
    try:
        camera.open()
        result.update(_opened(camera, request))
    except DeviceError as error:
        result["error"] = _error(error)
    finally:
        camera.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
