"""The checks on an exception's proof photo sent by the operator app: a size cap, and a JPEG or
PNG picture of sane dimensions that decodes. The header's dimensions are read (Pillow, lazily)
before any pixel is decoded, so a small file announcing a huge picture is refused unopened."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image

from domain.messages import Message, msg

FORMATS = ("JPEG", "PNG")
MIN_SIDE = 64
MAX_SIDE = 4096


class ProofPhotoRefused(ValueError):
    """``reason``: PROOF_PHOTO_TOO_LARGE or PROOF_PHOTO_INVALID; ``message`` for the operator."""

    def __init__(self, reason: str, message: Message) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


def check_proof_photo(data: bytes, max_bytes: int) -> None:
    """Raise ProofPhotoRefused unless ``data`` is an acceptable proof photo."""
    if len(data) > max_bytes:
        raise ProofPhotoRefused(
            "PROOF_PHOTO_TOO_LARGE",
            msg("PROOF_PHOTO_TOO_LARGE", size_kb=-(-len(data) // 1024), limit_kb=max_bytes // 1024),
        )
    invalid = ProofPhotoRefused(
        "PROOF_PHOTO_INVALID", msg("PROOF_PHOTO_INVALID", min_side=MIN_SIDE, max_side=MAX_SIDE)
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as header:
                width, height = header.size
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise invalid from None
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise invalid
    picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if picture is None or picture.shape[:2] != (height, width):
        raise invalid
