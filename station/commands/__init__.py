"""``rekam`` sub-commands as plug-ins, one module each.

Every entry point of the ``rekam.commands`` group names a ``register(subparsers)`` function,
which adds its parser and sets ``func`` (called with the parsed arguments, returning the exit
status). The station's own commands (``quality``, ``inspect``, ``diag``, ``audit``, ``report``)
register there, and so do other installed packages (the simulator's ``sim`` and ``demo``). A
parser that sets ``pass_through=True`` receives the arguments it does not declare in
``args.extra`` (``rekam sim center`` hands them to the centre's own parser).
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

COMMANDS_GROUP = "rekam.commands"


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add every installed command; one that fails to load is reported with its cause."""
    for entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            register = entry.load()
        except Exception as exc:
            print(
                f"rekam: the {entry.name!r} command ({entry.value}) is unavailable: {exc!r}",
                file=sys.stderr,
            )
            continue
        register(subparsers)
