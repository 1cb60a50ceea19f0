"""Guided capture: prompts, live preview with quality, auto-capture, best-of-N, the enrollment."""
