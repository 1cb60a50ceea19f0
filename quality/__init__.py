"""Capture quality: each modality's image or trace -> 0..100 score, named measures, reasons."""

from quality.base import QualityResult, Reason

__all__ = ["QualityResult", "Reason"]
