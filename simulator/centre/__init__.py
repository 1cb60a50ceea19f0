"""The simulated central registry: ingest API, package verification, fingerprint
deduplication (ABIS "penunggalan") and record statuses, on loopback."""

from quality.matching import FingerprintMatcher
from simulator.centre.cli import main
from simulator.centre.server import CentreFaults, CentreServer

__all__ = ["CentreFaults", "CentreServer", "FingerprintMatcher", "main"]
