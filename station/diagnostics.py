"""Technician diagnostics: per device, a sequence of pass/fail checks with a remedy sentence.

Every device gets ``connectivity`` (its port, bus or source is there and it opens) and
``identity`` (it names itself). Then, by kind:

- fingerprint scanners: ``platen`` (nothing on the glass must read blank: no residue, no dirt)
  and, with a test capture, ``test_capture`` (a finger image of usable quality);
- cameras: ``stream`` (frames arrive at the configured size) and, with a test capture (someone
  or a test chart in front), ``exposure`` and ``focus``;
- signature pads: ``pen`` (the pad reports sane coordinate and pressure ranges) and, with a test
  capture, ``test_capture`` (a stroke with pressure arrives).

A check that cannot run because an earlier one failed is not reported.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from drivers.base import Device, DeviceStatus, ImageDevice, Modality, PenDevice
from drivers.errors import DeviceError, DeviceUnavailable, OperatorText
from quality.fingerprint import assess_fingerprint
from station.devices import is_present


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
    detail: str
    remedy: OperatorText | None = None
    figures: dict[str, float] = field(default_factory=dict)


REMEDIES: dict[str, OperatorText] = {
    "connectivity": OperatorText(
        "Reconnect the device's cable (or power it on), then run the diagnostics again.",
        "Sambungkan kembali kabel perangkat (atau nyalakan), lalu jalankan diagnostik lagi.",
    ),
    "identity": OperatorText(
        "The device did not identify itself: check the configured driver and port.",
        "Perangkat tidak mengenali dirinya: periksa driver dan port yang dikonfigurasi.",
    ),
    "platen": OperatorText(
        "Lift any finger off the scanner and clean the glass with a dry, lint-free cloth, "
        "then run the diagnostics again.",
        "Angkat jari dari pemindai dan bersihkan kacanya dengan kain kering yang tidak "
        "berserat, lalu jalankan diagnostik lagi.",
    ),
    "fingerprint_capture": OperatorText(
        "The test print was unusable: clean the glass, press a finger flat on it, and try again.",
        "Sidik jari uji tidak terbaca: bersihkan kaca, tempelkan jari dengan rata, lalu ulangi.",
    ),
    "stream": OperatorText(
        "The camera sends no usable picture: reconnect it and check its resolution settings.",
        "Kamera tidak mengirim gambar yang layak: sambungkan ulang dan periksa pengaturan "
        "resolusinya.",
    ),
    "exposure": OperatorText(
        "The picture is too dark or too bright: switch on the kit's lamp or move out of direct "
        "sunlight, and check the camera's lens cover.",
        "Gambar terlalu gelap atau terlalu terang: nyalakan lampu kit atau hindari sinar "
        "matahari langsung, dan periksa penutup lensa kamera.",
    ),
    "focus": OperatorText(
        "The picture is out of focus: clean the lens and set the subject at the marked distance.",
        "Gambar tidak fokus: bersihkan lensa dan atur subjek pada jarak yang ditandai.",
    ),
    "pen": OperatorText(
        "The signature pad reports no usable range: reconnect it; if it repeats, replace it.",
        "Bantalan tanda tangan tidak melaporkan jangkauan yang layak: sambungkan ulang; jika "
        "terulang, ganti.",
    ),
    "pen_capture": OperatorText(
        "No pen stroke arrived: sign on the pad with the kit's pen and try again.",
        "Tidak ada goresan pena: tanda tangani bantalan dengan pena kit lalu ulangi.",
    ),
}


def _result(
    device: Device,
    check: str,
    passed: bool,
    detail: str,
    figures: dict[str, float] | None = None,
    remedy: str | None = None,
) -> CheckResult:
    return CheckResult(
        device.device_id,
        check,
        passed,
        detail,
        None if passed else REMEDIES[remedy or check],
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
    identity = device.identity
    known = identity.vendor not in ("", "unknown") and identity.model not in ("", "unknown")
    yield _result(
        device,
        "identity",
        known,
        " ".join(p for p in (identity.vendor, identity.model, identity.serial) if p)
        + (f", firmware {identity.firmware}" if identity.firmware else ""),
    )
    modality = device.capabilities.modality
    if isinstance(device, PenDevice):
        yield from _pen_checks(device, include_capture, limits, cancel)
    elif isinstance(device, ImageDevice) and modality is Modality.FINGERPRINT:
        yield from _fingerprint_checks(device, include_capture, limits, cancel)
    elif isinstance(device, ImageDevice):
        yield from _camera_checks(device, include_capture, limits, cancel)


def _failed(
    device: Device, check: str, error: DeviceError, remedy: str | None = None
) -> CheckResult:
    """The result of a check the device's error ended: lost connection or a failed check."""
    if isinstance(error, DeviceUnavailable):
        return _result(device, "connectivity", False, f"lost during {check}: {error.detail}")
    return _result(device, check, False, error.detail, remedy=remedy)


def _connectivity(
    device: Device, reopen: Callable[[Device], bool] | None
) -> Generator[CheckResult, None, bool]:
    started = time.perf_counter()
    if not is_present(device):
        with device.lock:
            device.close()
        yield _result(device, "connectivity", False, f"{device.port} is not there")
        return False
    if device.status is DeviceStatus.DISCONNECTED:
        opened = reopen(device) if reopen is not None else _open(device)
        if not opened:
            yield _result(device, "connectivity", False, f"cannot open {device.port}")
            return False
    figures = {"open_ms": (time.perf_counter() - started) * 1000}
    detail = f"{device.identity.transport or 'port'} {device.identity.port or device.port}"
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
    read_platen = getattr(device, "read_platen", None)
    if callable(read_platen):
        try:
            with device.lock:
                blank = read_platen()
        except DeviceError as exc:
            yield _failed(device, "platen", exc)
            return
        if blank is None:
            yield _result(device, "platen", True, "empty glass reads blank", {"dark_fraction": 0})
        else:
            fraction = dark_fraction(blank, limits.platen_dark_level)
            passed = fraction <= limits.platen_dark_fraction_max
            detail = (
                "empty glass reads blank"
                if passed
                else f"{fraction:.1%} of the empty glass reads dark (dirt, residue or a finger)"
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
        f"{values.shape[1]}x{values.shape[0]} print, quality {score} "
        f"(at least {limits.fingerprint_quality_min})",
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
        f"{len(frames)} frames of {width}x{height}",
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
        f"mean grey {mean:.0f}, {clipped:.0%} clipped",
        {"mean_grey": mean, "clipped_fraction": clipped},
    )
    sharpness = focus(frame)
    yield _result(
        device,
        "focus",
        sharpness >= limits.focus_min,
        f"sharpness {sharpness:.3f} (at least {limits.focus_min:g})",
        {"sharpness": sharpness},
    )


def _pen_checks(
    device: PenDevice,
    include_capture: bool,
    limits: DiagnosticLimits,
    cancel: threading.Event | None,
) -> Iterator[CheckResult]:
    caps = device.capabilities
    max_pressure = float(getattr(getattr(device, "query", None), "max_pressure", 0) or 0)
    sane = caps.width > 0 and caps.height > 0 and max_pressure > 0
    yield _result(
        device,
        "pen",
        sane,
        f"range {caps.width}x{caps.height}, pressure 0..{max_pressure:.0f}",
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
        f"{len(touching)} pen points on the pad, peak pressure {peak}",
        {"points": len(trace.points), "touching_points": len(touching), "peak_pressure": peak},
        remedy="pen_capture",
    )
