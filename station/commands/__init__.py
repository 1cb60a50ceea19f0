"""Extra ``rekam`` sub-commands, one module each.

Each module listed in ``COMMANDS`` has ``register(subparsers)``, which adds its parser and sets
``func`` (called with the parsed arguments, returning the exit status).
"""

COMMANDS: tuple[str, ...] = ("quality", "inspect", "diag", "audit", "report")
