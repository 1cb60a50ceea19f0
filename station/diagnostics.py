"""Technician diagnostics: per device, a sequence of pass/fail checks with a remedy sentence.

Every device gets ``connectivity`` (its port, bus or source is there and it opens),
``identity`` (it names itself, as the configuration expects) and ``mode`` (the settings
negotiated with it: baud rate, image size, camera format and rate, pen ranges; what the driver
reports in ``identity.mode`` on top of its capabilities) compared with the ``expect_*`` options
of its ``[[devices]]`` entry (``Device.expected``). Then, by kind:

- fingerprint scanners: ``platen`` (nothing on the glass must read blank: no residue, no dirt)
  and, with a test capture, ``test_capture`` (a finger image of usable quality);
- cameras: ``stream`` (frames arrive at the configured size) and, with a test capture (someone
  or a test chart in front), ``exposure`` and ``focus``;
- signature pads: ``pen`` (the pad reports sane coordinate and pressure ranges) and, with a test
  capture, ``test_capture`` (a stroke with pressure arrives).

A check that cannot run because an earlier one failed is not reported. A configured device
whose driver cannot be loaded gets one failed ``connectivity`` naming the cause.

Result details and remedies are catalogue messages (area ``devices``), rendered in the reader's
language.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from domain.messages import Message, msg
from drivers.base import (
    EXPECT_PREFIX,
    Ability,
    Device,
    DeviceStatus,
    ImageDevice,
    Modality,
    PenDevice,
)
from drivers.errors import DeviceError, DeviceUnavailable
from quality.fingerprint import assess_fingerprint
from station.devices import UnusableDevice


@dataclass(frozen=True)
class DiagnosticLimits:
    """Pass/fail limits of the checks (configuration, not code, decides a kit's numbers)."""

    capture_timeout_s: float = 10.0
    platen_dark_level: int = 128
    platen_dark_fraction_max: float = 0.01
    fingerprint_quality_min: int = 10
    stream_frames: int = 3
    exposure_mean_min: float = 50.0
    exposure_mean_max: float = 210.0
    exposure_clipped_max: float = 0.25
    focus_min: float = 0.18
    pen_points_min: int = 10


@dataclass(frozen=True)
class CheckResult:
    """One check on one device."""

    device_id: str
    check: str
    passed: bool
    detail: Message
    remedy: Message | None = None
    figures: dict[str, float] = field(default_factory=dict)


REMEDY_CODES: dict[str, str] = {
    "connectivity": "DEVICE_DIAG_REMEDY_CONNECTIVITY",
    "identity": "DEVICE_DIAG_REMEDY_IDENTITY",
    "identity_mismatch": "DEVICE_DIAG_REMEDY_IDENTITY_MISMATCH",
    "mode": "DEVICE_DIAG_REMEDY_MODE",
    "platen": "DEVICE_DIAG_REMEDY_PLATEN",
    "fingerprint_capture": "DEVICE_DIAG_REMEDY_FINGERPRINT_CAPTURE",
    "stream": "DEVICE_DIAG_REMEDY_STREAM",
    "exposure": "DEVICE_DIAG_REMEDY_EXPOSURE",
    "focus": "DEVICE_DIAG_REMEDY_FOCUS",
    "pen": "DEVICE_DIAG_REMEDY_PEN",
    "pen_capture": "DEVICE_DIAG_REMEDY_PEN_CAPTURE",
}


def _result(
    device: Device,
    check: str,
    passed: bool,
    detail: Message,
    figures: dict[str, float] | None = None,
    remedy: str | None = None,
) -> CheckResult:
    return CheckResult(
        device.device_id,
        check,
        passed,
        detail,
        None if passed else msg(REMEDY_CODES[remedy or check]),
        {k: float(v) for k, v in (figures or {}).items()},
    )


# -- measures -------------------------------------------------------------------------------
def grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def dark_fraction(image: np.ndarray, level: int) -> float:
    """The share of pixels darker than ``level``: on a blank platen, dirt and residue."""
    return float(np.count_nonzero(grey(image) < level)) / max(1, image.shape[0] * image.shape[1])


def exposure(image: np.ndarray) -> tuple[float, float]:
    """(mean grey level, share of pixels clipped at black or white)."""
    values = grey(image)
    clipped = np.count_nonzero((values <= 5) | (values >= 250)) / max(1, values.size)
    return float(values.mean()), float(clipped)


def focus(image: np.ndarray) -> float:
    """Mean absolute Laplacian over the contrast: edge sharpness, independent of brightness."""
    values = grey(image).astype(np.float32)
    laplacian = cv2.Laplacian(values, cv2.CV_32F, ksize=3)
    return float(np.abs(laplacian).mean() / (values.std() + 1.0))


# -- the checks -----------------------------------------------------------------------------
def diagnose(
    device: Device,
    *,
    include_capture: bool,
    limits: DiagnosticLimits | None = None,
    reopen: Callable[[Device], bool] | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[CheckResult]:
    """The checks of one device, in order. ``reopen`` opens a disconnected device."""
    limits = limits or DiagnosticLimits()
    connected = yield from _connectivity(device, reopen)
    if not connected:
        return
    yield _identity(device)
    mode = _mode(device)
    if mode is not None:
        yield mode
    modality = device.capabilities.modality
    if isinstance(device, PenDevice):
        yield from _pen_checks(device, include_capture, limits, cancel)
    elif isinstance(device, ImageDevice) and modality is Modality.FINGERPRINT:
        yield from _fingerprint_checks(device, include_capture, limits, cancel)
    elif isinstance(device, ImageDevice):
        yield from _camera_checks(device, include_capture, limits, cancel)


def diagnose_unusable(entry: UnusableDevice) -> Iterator[CheckResult]:
    """The checks of a configured device whose driver cannot be loaded: one failed
    ``connectivity``, the driver error's sentence as the remedy."""
    yield CheckResult(
        entry.device_id,
        "connectivity",
        False,
        msg("DEVICE_DIAG_DEVICE_FAILED", detail=entry.error.detail),
        entry.error.message,
    )


IDENTITY_FIELDS = ("vendor", "model", "serial", "firmware")


def _identity(device: Device) -> CheckResult:
    identity = device.identity
    known = identity.vendor not in ("", "unknown") and identity.model not in ("", "unknown")
    name = " ".join(p for p in (identity.vendor, identity.model, identity.serial) if p)
    differing = {
        key: value
        for key, value in device.expected.items()
        if key in IDENTITY_FIELDS and not same_setting(getattr(identity, key), value)
    }
    if differing:
        expected = ", ".join(f"{key} {value}" for key, value in differing.items())
        detail = msg("DEVICE_DIAG_IDENTITY_MISMATCH", name=name, expected=expected)
        return _result(device, "identity", False, detail, remedy="identity_mismatch")
    detail = (
        msg("DEVICE_DIAG_IDENTITY_FIRMWARE", name=name, firmware=identity.firmware)
        if identity.firmware
        else msg("DEVICE_DIAG_IDENTITY", name=name)
    )
    return _result(device, "identity", known, detail)


def observed_mode(device: Device) -> dict[str, str]:
    """The settings negotiated with the device: what its capabilities tell (image size and
    resolution, pen ranges), then what the driver reports in ``identity.mode``."""
    caps = device.capabilities
    mode: dict[str, str] = {}
    if caps.width and caps.height:
        key = "range" if isinstance(device, PenDevice) else "image_size"
        mode[key] = f"{caps.width}x{caps.height}"
    if caps.ppi:
        mode["ppi"] = str(caps.ppi)
    if caps.max_pressure:
        mode["max_pressure"] = str(caps.max_pressure)
    mode.update(device.identity.mode)
    return mode


def same_setting(actual: str, expected: str) -> bool:
    """Whether a reported setting is the configured one: case and spacing aside, numbers by
    value (57600 = 57600.0), sizes either way of writing (640x480 = 640X480)."""
    a, e = (str(v).strip().lower().replace(" ", "").replace("×", "x") for v in (actual, expected))
    if a == e:
        return True
    try:
        return float(a) == float(e)
    except ValueError:
        return False


def _mode(device: Device) -> CheckResult | None:
    """The ``mode`` check: None when the device reports nothing and nothing is expected."""
    mode = observed_mode(device)
    expected = {k: v for k, v in device.expected.items() if k not in IDENTITY_FIELDS}
    if not mode and not expected:
        return None
    text = ", ".join(f"{key} {value}" for key, value in mode.items())
    differing = [
        f'{EXPECT_PREFIX}{key}="{value}" -> {mode.get(key, "?")}'
        for key, value in expected.items()
        if key not in mode or not same_setting(mode[key], value)
    ]
    figures = {k: float(v) for k, v in mode.items() if _is_number(v)}
    if differing:
        detail = msg("DEVICE_DIAG_MODE_MISMATCH", mode=text, differences="; ".join(differing))
        return _result(device, "mode", False, detail, figures)
    return _result(device, "mode", True, msg("DEVICE_DIAG_MODE", mode=text), figures)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _failed(
    device: Device, check: str, error: DeviceError, remedy: str | None = None
) -> CheckResult:
    """The result of a check the device's error ended: lost connection or a failed check."""
    if isinstance(error, DeviceUnavailable):
        lost = msg("DEVICE_DIAG_LOST_DURING", check=check, detail=error.detail)
        return _result(device, "connectivity", False, lost)
    detail = msg("DEVICE_DIAG_DEVICE_FAILED", detail=error.detail)
    return _result(device, check, False, detail, remedy=remedy)


def _connectivity(
    device: Device, reopen: Callable[[Device], bool] | None
) -> Generator[CheckResult, None, bool]:
    started = time.perf_counter()
    try:
        present = bool(device.present())
    except DeviceError as error:  # e.g. the port names two adapters: its sentence says which
        with device.lock:
            device.close()
        failed = msg("DEVICE_DIAG_DEVICE_FAILED", detail=error.detail)
        yield CheckResult(device.device_id, "connectivity", False, failed, error.message)
        return False
    except Exception:  # a probe that fails otherwise says the device is not usable
        present = False
    if not present:
        with device.lock:
            device.close()
        absent = msg("DEVICE_DIAG_PORT_ABSENT", port=device.port)
        yield _result(device, "connectivity", False, absent)
        return False
    if device.status is DeviceStatus.DISCONNECTED:
        opened = reopen(device) if reopen is not None else _open(device)
        if not opened:
            closed = msg("DEVICE_DIAG_CANNOT_OPEN", port=device.port)
            yield _result(device, "connectivity", False, closed)
            return False
    figures = {"open_ms": (time.perf_counter() - started) * 1000}
    detail = msg(
        "DEVICE_DIAG_CONNECTED",
        transport=device.identity.transport or "port",
        port=device.identity.port or device.port,
    )
    yield _result(device, "connectivity", True, detail, figures)
    return True


def _open(device: Device) -> bool:
    try:
        with device.lock:
            device.open()
    except DeviceError:
        return False
    return True


def _fingerprint_checks(
    device: ImageDevice,
    include_capture: bool,
    limits: DiagnosticLimits,
    cancel: threading.Event | None,
) -> Iterator[CheckResult]:
    if device.supports(Ability.READ_PLATEN):
        try:
            with device.lock:
                blank = device.read_platen()
        except DeviceError as exc:
            yield _failed(device, "platen", exc)
            return
        fraction = 0.0 if blank is None else dark_fraction(blank, limits.platen_dark_level)
        passed = fraction <= limits.platen_dark_fraction_max
        detail = (
            msg("DEVICE_DIAG_PLATEN_BLANK")
            if passed
            else msg("DEVICE_DIAG_PLATEN_DARK", fraction=fraction)
        )
        yield _result(device, "platen", passed, detail, {"dark_fraction": fraction})
    if not include_capture:
        return
    try:
        with device.lock:
            image = device.capture(timeout=limits.capture_timeout_s, cancel=cancel)
    except DeviceError as exc:
        yield _failed(device, "test_capture", exc, "fingerprint_capture")
        return
    values = grey(image)
    score = assess_fingerprint(values).score
    yield _result(
        device,
        "test_capture",
        score >= limits.fingerprint_quality_min,
        msg(
            "DEVICE_DIAG_PRINT_QUALITY",
            width=values.shape[1],
            height=values.shape[0],
            score=score,
            minimum=limits.fingerprint_quality_min,
        ),
        {"quality": score, "mean_grey": float(values.mean()), "contrast": float(values.std())},
        remedy="fingerprint_capture",
    )


def _camera_checks(
    device: ImageDevice,
    include_capture: bool,
    limits: DiagnosticLimits,
    cancel: threading.Event | None,
) -> Iterator[CheckResult]:
    caps = device.capabilities
    started = time.perf_counter()
    frames = []
    try:
        with device.lock:
            for _ in range(max(1, limits.stream_frames)):
                frames.append(device.capture(timeout=limits.capture_timeout_s, cancel=cancel))
    except DeviceError as exc:
        yield _failed(device, "stream", exc)
        return
    elapsed = time.perf_counter() - started
    height, width = frames[-1].shape[:2]
    expected = (caps.width, caps.height) if caps.width and caps.height else (width, height)
    size_ok = (width, height) == expected or (
        caps.modality is Modality.IRIS and (width // 2, height) == expected
    )
    yield _result(
        device,
        "stream",
        size_ok,
        msg("DEVICE_DIAG_STREAM_FRAMES", frames=len(frames), width=width, height=height),
        {"fps": len(frames) / elapsed if elapsed > 0 else 0.0, "width": width, "height": height},
    )
    if not include_capture:
        return
    try:
        with device.lock:
            frame = device.capture(timeout=limits.capture_timeout_s, cancel=cancel)
    except DeviceError as exc:
        yield _failed(device, "exposure", exc)
        return
    mean, clipped = exposure(frame)
    exposed = (
        limits.exposure_mean_min <= mean <= limits.exposure_mean_max
        and clipped <= limits.exposure_clipped_max
    )
    yield _result(
        device,
        "exposure",
        exposed,
        msg("DEVICE_DIAG_EXPOSURE", mean=mean, clipped=clipped),
        {"mean_grey": mean, "clipped_fraction": clipped},
    )
    sharpness = focus(frame)
    yield _result(
        device,
        "focus",
        sharpness >= limits.focus_min,
        msg("DEVICE_DIAG_FOCUS", sharpness=sharpness, minimum=limits.focus_min),
        {"sharpness": sharpness},
    )


def _pen_checks(
    device: PenDevice,
    include_capture: bool,
    limits: DiagnosticLimits,
    cancel: threading.Event | None,
) -> Iterator[CheckResult]:
    caps = device.capabilities
    max_pressure = float(caps.max_pressure)
    sane = caps.width > 0 and caps.height > 0 and max_pressure > 0
    yield _result(
        device,
        "pen",
        sane,
        msg(
            "DEVICE_DIAG_PEN_RANGE",
            width=caps.width,
            height=caps.height,
            max_pressure=max_pressure,
        ),
        {"max_x": caps.width, "max_y": caps.height, "max_pressure": max_pressure},
    )
    if not include_capture:
        return
    try:
        with device.lock:
            trace = device.capture_signature(timeout=limits.capture_timeout_s, cancel=cancel)
    except DeviceError as exc:
        yield _failed(device, "test_capture", exc, "pen_capture")
        return
    touching = [p for p in trace.points if p.touching]
    peak = max((p.pressure for p in touching), default=0)
    yield _result(
        device,
        "test_capture",
        len(touching) >= limits.pen_points_min and peak > 0,
        msg("DEVICE_DIAG_PEN_STROKE", points=len(touching), peak=peak),
        {"points": len(trace.points), "touching_points": len(touching), "peak_pressure": peak},
        remedy="pen_capture",
    )
