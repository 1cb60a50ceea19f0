"""Run one ``station/commands/<name>.py`` sub-command through its own ``register``."""

from __future__ import annotations

import argparse
import importlib


def run_command(name: str, argv: list[str]) -> int:
    """``rekam <name> ARGV`` with only that sub-command registered; returns the exit status."""
    parser = argparse.ArgumentParser(prog="rekam")
    importlib.import_module(f"station.commands.{name}").register(
        parser.add_subparsers(dest="command", required=True)
    )
    args = parser.parse_args([name, *argv])
    return int(args.func(args) or 0)
