"""Builds complete enrollment records from synthetic images for the uploader tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

import cv2
import numpy as np
import skimage.data

from domain.vocabulary import FINGERS, Category, Sex
from uploader.content import (
    ImageSample,
    RecordContent,
    SignatureSample,
    Subject,
)


def ridge_print(seed: int, width: int = 256, height: int = 288) -> np.ndarray:
    """A loop-like ridge pattern (about 9 px period) with a few spiral minutiae."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.3, 0.6)
    radius = np.sqrt((xx - cx) ** 2 + ((yy - cy) * rng.uniform(0.7, 1.3)) ** 2)
    phase = 2 * np.pi * radius / rng.uniform(8.5, 10.0)
    for _ in range(6):
        mx, my = rng.uniform(20, width - 20), rng.uniform(20, height - 20)
        phase += rng.choice([-1, 1]) * np.arctan2(yy - my, xx - mx)
    image = 128 + 100 * np.cos(phase)
    mask = ((xx - width / 2) / (width * 0.48)) ** 2 + ((yy - height / 2) / (height * 0.5)) ** 2
    image = np.where(mask < 1, image, 255)
    return np.clip(image, 0, 255).astype(np.uint8)


def face_image() -> np.ndarray:
    rgb = skimage.data.astronaut()[0:400, 100:400]
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (480, 640))


def iris_image(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((480, 640), 170, np.uint8)
    cv2.circle(image, (320, 240), 120, 90, -1)
    for angle in np.linspace(0, 2 * np.pi, 90, endpoint=False):
        r0 = 45 + rng.uniform(0, 10)
        p0 = (int(320 + r0 * np.cos(angle)), int(240 + r0 * np.sin(angle)))
        p1 = (int(320 + 115 * np.cos(angle)), int(240 + 115 * np.sin(angle)))
        cv2.line(image, p0, p1, int(rng.uniform(60, 130)), 2)
    cv2.circle(image, (320, 240), 45, 15, -1)
    return image


def signature(points: int = 200) -> SignatureSample:
    trace = []
    for i in range(points):
        t = i * 7
        x = 1000 + 60 * i
        y = 3000 + int(800 * np.sin(i / 9))
        trace.append((t, x, y, 300 + (i % 200), i % 50 != 49))
    return SignatureSample(points=trace, max_x=24576, max_y=18432, max_pressure=1023)


def full_record(
    record_id: str = "REC-0001",
    station_id: str = "KIT-01",
    person_seed: int = 1,
    nik: str = "3174010101900001",
    amputated: tuple[str, ...] = (),
    blind: tuple[str, ...] = (),
) -> RecordContent:
    samples = []
    for name, code in ((f, f.finger_code) for f in FINGERS):
        if name in amputated:
            samples.append(ImageSample(name, "fingerprint", None, 0, 1, False, "amputated"))
        else:
            image = ridge_print(person_seed * 100 + code)
            samples.append(ImageSample(name, "fingerprint", image, 60 + code, 1, False))
    samples.append(ImageSample("face", "face", face_image(), 80, 1, False))
    for i, eye in enumerate(("right_eye", "left_eye")):
        if eye in blind:
            samples.append(ImageSample(eye, "iris", None, 0, 0, False, "blind"))
        else:
            samples.append(ImageSample(eye, "iris", iris_image(person_seed + i), 70, 2, False))
    return RecordContent(
        record_id=record_id,
        station_id=station_id,
        operator="op-siti",
        supervisor="sup-budi",
        subject=Subject(
            nik, "Siti Aminah", date(1990, 1, 1), Sex.FEMALE, Category.REGULAR, "DEMO-" + nik
        ),
        samples=samples,
        signature=signature(),
        devices=[{"device_id": "fingerprint-0", "vendor": "ZhianTec", "model": "R307"}],
        started_at=datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
        completed_at=datetime(2024, 5, 1, 9, 6, tzinfo=UTC),
        flags=["demo"],
    )
