"""In-progress enrollments on disk, encrypted, so a daemon crash loses no resident's work.

Each enrollment is a folder ``<root>/<enrollment_id>/`` holding ``state.bin`` (the enrollment
without biometrics) and one ``<sha256>.bin`` per sample image or pen trace. Every file is
AES-256-GCM encrypted with the journal key, its name bound in as associated data, and written
durably (``domain.files``). The folder is removed when the enrollment is sealed into
the outbox or cancelled, so no biometrics stay behind.

The journal key comes from a :class:`JournalKeyProvider`: on a kit, a secret sealed by its TPM
(``uploader.tpm.TpmSealedKey``); on development and simulated kits, :class:`FileJournalKey`, 32
raw bytes in a file, which a copy of the disk reads as easily as the journal.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from capture.enrollment import Enrollment, EnrollmentState, ExceptionMark, Sample
from capture.subject import Subject
from domain.categories import policy_for
from domain.files import fsync_dir, write_durably
from domain.messages import Message, Param, msg
from domain.vocabulary import Category
from drivers.base import PenPoint, SignatureTrace
from quality.base import QualityResult, Reason

log = logging.getLogger(__name__)

KEY_BYTES = 32
STATE_FILE = "state.bin"


class JournalError(Exception):
    """A journal entry cannot be read back (wrong key, damaged file)."""


class JournalKeyProvider(Protocol):
    """Where the journal key comes from."""

    def journal_key(self) -> bytes:
        """The 32-byte AES-256-GCM key, created on first use."""
        ...


class FileJournalKey:
    """The journal key as a plain owner-only file: development and simulated kits only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def journal_key(self) -> bytes:
        return load_or_create_key(self.path)


class JournalWriteFailed(Exception):
    """The disk refused to save an enrollment (``full``: no space left; else an I/O error or a
    read-only file system). What was on disk before stays as it was."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(f"the enrollment could not be saved: {cause}")
        self.full = cause.errno in (errno.ENOSPC, errno.EDQUOT)


def load_or_create_key(path: Path) -> bytes:
    """The journal key at ``path`` (owner-only), created on first use."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise JournalError(f"journal key {path} has the wrong length")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    write_durably(path, key, mode=0o600)
    return key


class EnrollmentJournal:
    """Saves and restores enrollments in progress."""

    def __init__(self, root: Path, key: bytes) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self._aead = AESGCM(key)
        # Blob names of images already written, per enrollment: (the image, its file name),
        # so a save encodes only the samples that are new since the last one.
        self._written: dict[str, dict[int, tuple[np.ndarray, str]]] = {}

    # -- files -------------------------------------------------------------------------------
    def _write(self, path: Path, plaintext: bytes) -> None:
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, plaintext, path.name.encode())
        write_durably(path, sealed, mode=0o600)

    def _read(self, path: Path) -> bytes:
        data = path.read_bytes()
        try:
            return self._aead.decrypt(data[:12], data[12:], path.name.encode())
        except (InvalidTag, ValueError) as exc:
            raise JournalError(f"{path} cannot be decrypted") from exc

    def _blob(self, folder: Path, payload: bytes) -> str:
        name = hashlib.sha256(payload).hexdigest()[:32] + ".bin"
        if not (folder / name).exists():
            self._write(folder / name, payload)
        return name

    # -- save / restore ------------------------------------------------------------------------
    def save(self, enrollment: Enrollment) -> None:
        """Write the enrollment as it is now (only new sample files are written); raise
        :class:`JournalWriteFailed` when the disk refuses, leaving the saved state as it was."""
        try:
            self._save(enrollment)
        except OSError as exc:
            raise JournalWriteFailed(exc) from exc

    def _save(self, enrollment: Enrollment) -> None:
        folder = self.root / enrollment.enrollment_id
        fresh = not folder.exists()
        folder.mkdir(mode=0o700, exist_ok=True)
        if fresh:
            fsync_dir(self.root)
        state = {
            "enrollment_id": enrollment.enrollment_id,
            "subject": {
                **asdict(enrollment.subject),
                "birth_date": enrollment.subject.birth_date.isoformat(),
                "category": enrollment.subject.category.value,
            },
            "operator": enrollment.operator,
            "started_at": enrollment.started_at.isoformat(),
            "attempts": enrollment.attempts,
            "flags": enrollment.flags,
            "samples": {p: self._sample(folder, s) for p, s in enrollment.samples.items()},
            "candidates": {p: self._sample(folder, s) for p, s in enrollment.candidates.items()},
            "exceptions": {
                p: {
                    "kind": m.kind,
                    "note": m.note,
                    "approved_by": m.approved_by,
                    "proof_photo": self._blob(folder, m.proof_photo) if m.proof_photo else "",
                }
                for p, m in enrollment.exceptions.items()
            },
            "proof_photos": {p: self._blob(folder, b) for p, b in enrollment.proof_photos.items()},
        }
        self._write(folder / STATE_FILE, json.dumps(state).encode())
        self._drop_unreferenced(folder, state)

    def _sample(self, folder: Path, sample: Sample) -> dict:
        data = {
            "quality": {
                "modality": sample.quality.modality,
                "score": sample.quality.score,
                "measures": {k: float(v) for k, v in sample.quality.measures.items()},
                "reasons": [_reason_to_json(r) for r in sample.quality.reasons],
            },
            "threshold": sample.threshold,
            "device_id": sample.device_id,
            "attempts": sample.attempts,
            "forced": sample.forced,
            "forced_reason": sample.forced_reason,
            "forced_approved_by": sample.forced_approved_by,
            "relaxed_threshold": sample.relaxed_threshold,
            "approved": sample.approved,
            "captured_at": sample.captured_at.isoformat(),
            "image": "",
            "trace": "",
        }
        if sample.image is not None:
            data["image"] = self._image_blob(folder, sample.image)
        if sample.trace is not None:
            trace = sample.trace
            payload = json.dumps(
                {
                    "points": [asdict(p) for p in trace.points],
                    "max_x": trace.max_x,
                    "max_y": trace.max_y,
                    "max_pressure": trace.max_pressure,
                }
            ).encode()
            data["trace"] = self._blob(folder, payload)
        return data

    def _image_blob(self, folder: Path, image: np.ndarray) -> str:
        written = self._written.setdefault(folder.name, {})
        known = written.get(id(image))
        if known is not None and known[0] is image and (folder / known[1]).exists():
            return known[1]
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise JournalError("a sample image could not be encoded")
        name = self._blob(folder, png.tobytes())
        written[id(image)] = (image, name)
        return name

    def _drop_unreferenced(self, folder: Path, state: dict) -> None:
        referenced = {STATE_FILE}
        for group in ("samples", "candidates"):
            for sample in state[group].values():
                referenced.update(n for n in (sample["image"], sample["trace"]) if n)
        referenced.update(
            e["proof_photo"] for e in state["exceptions"].values() if e["proof_photo"]
        )
        referenced.update(state["proof_photos"].values())
        for path in folder.iterdir():
            if path.name not in referenced and not path.name.startswith("."):
                path.unlink(missing_ok=True)

    def remove(self, enrollment_id: str) -> None:
        """Forget an enrollment (sealed or cancelled): its folder and every sample file.
        The state file goes first, so a folder left half-removed is never restored."""
        folder = self.root / enrollment_id
        self._written.pop(enrollment_id, None)
        if folder.exists():
            (folder / STATE_FILE).unlink(missing_ok=True)
            shutil.rmtree(folder)
            fsync_dir(self.root)

    def load_all(self) -> list[Enrollment]:
        """Every enrollment that was in progress; unreadable ones are logged and kept aside."""
        restored = []
        for folder in sorted(self.root.iterdir()):
            if not (folder / STATE_FILE).exists():
                continue
            try:
                restored.append(self._load(folder))
            except (JournalError, KeyError, ValueError) as exc:
                log.error("enrollment %s could not be restored: %s", folder.name, exc)
        return restored

    def _load(self, folder: Path) -> Enrollment:
        state = json.loads(self._read(folder / STATE_FILE))
        subject_data = dict(state["subject"])
        subject = Subject(
            **{
                **subject_data,
                "birth_date": date.fromisoformat(subject_data["birth_date"]),
                "category": Category(subject_data["category"]),
            }
        )
        enrollment = Enrollment(
            subject=subject,
            plan=policy_for(subject.category),
            operator=state["operator"],
            enrollment_id=state["enrollment_id"],
            state=EnrollmentState.IN_PROGRESS,
            started_at=datetime.fromisoformat(state["started_at"]),
            attempts={k: int(v) for k, v in state["attempts"].items()},
            flags=list(state["flags"]),
        )
        for position, data in state["samples"].items():
            enrollment.samples[position] = self._load_sample(folder, position, data)
        for position, data in state["candidates"].items():
            enrollment.candidates[position] = self._load_sample(folder, position, data)
        for position, data in state["exceptions"].items():
            photo = self._read(folder / data["proof_photo"]) if data["proof_photo"] else b""
            enrollment.exceptions[position] = ExceptionMark(
                position, data["kind"], data["note"], data["approved_by"], photo
            )
        for position, name in state.get("proof_photos", {}).items():  # older journals: none
            enrollment.proof_photos[position] = self._read(folder / name)
        return enrollment

    def _load_sample(self, folder: Path, position: str, data: dict) -> Sample:
        quality = data["quality"]
        image = None
        if data["image"]:
            buffer = np.frombuffer(self._read(folder / data["image"]), np.uint8)
            image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
        trace = None
        if data["trace"]:
            raw = json.loads(self._read(folder / data["trace"]))
            trace = SignatureTrace(
                [PenPoint(**p) for p in raw["points"]],
                raw["max_x"],
                raw["max_y"],
                raw["max_pressure"],
            )
        return Sample(
            position=position,
            quality=QualityResult(
                quality["modality"],
                int(quality["score"]),
                dict(quality["measures"]),
                [_reason_from_json(r) for r in quality["reasons"]],
            ),
            threshold=int(data["threshold"]),
            device_id=data["device_id"],
            image=image,
            trace=trace,
            attempts=int(data["attempts"]),
            forced=bool(data["forced"]),
            forced_reason=data["forced_reason"],
            forced_approved_by=data.get("forced_approved_by", ""),
            relaxed_threshold=bool(data["relaxed_threshold"]),
            approved=bool(data["approved"]),
            captured_at=datetime.fromisoformat(data["captured_at"]),
        )


def _reason_to_json(reason: Reason) -> dict[str, Any]:
    return {"code": reason.code, "params": {k: _param_to_json(v) for k, v in reason.params}}


def _reason_from_json(data: dict[str, Any]) -> Reason:
    """The reason saved by ``_reason_to_json`` (an older journal's entry has no params)."""
    params = data.get("params", {})
    return Reason(data["code"], tuple(sorted((k, _param_from_json(v)) for k, v in params.items())))


def _param_to_json(value: Param) -> Any:
    """A message parameter as JSON: a value, or a message as its code and parameters."""
    if isinstance(value, Message):
        return {"code": value.code, "params": {k: _param_to_json(v) for k, v in value.params}}
    return value


def _param_from_json(value: Any) -> Param:
    if isinstance(value, dict):
        return msg(value["code"], **{k: _param_from_json(v) for k, v in value["params"].items()})
    return value
