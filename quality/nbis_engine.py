"""The one door to NBIS (``nbis-python``: MINDTCT, Bozorth3, NFIQ 2). Its C code keeps static
state, so every call, from any module, goes through ``NBIS_LOCK``."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

NBIS_LOCK = threading.Lock()


@cache
def extractor(*, compute_nfiq2: bool, ppi: float | None) -> Any:
    """An NBIS extractor with these settings (made once); call it only under ``NBIS_LOCK``."""
    import nbis

    settings = nbis.NbisExtractorSettings(
        min_quality=0.0,
        get_center=False,
        check_fingerprint=False,
        compute_nfiq2=compute_nfiq2,
        ppi=ppi,
    )
    return nbis.new_nbis_extractor(settings)
