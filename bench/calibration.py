"""Where the real calibration images are: ``$REKAM_CALIBRATION`` if set, else
``../shared/calibration`` beside the checkout. They are not part of the product; the agreement
suites skip with a note when the folder is absent."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def calibration_dir() -> Path:
    """The folder holding ``fingerprint/``, ``iris/`` and ``face/`` (may not exist)."""
    return Path(os.environ.get("REKAM_CALIBRATION", ROOT.parent / "shared" / "calibration"))
