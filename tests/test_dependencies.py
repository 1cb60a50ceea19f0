"""Dependencies point one way (design, section 3): every project module's imports, read with ast.

``domain`` sits at the bottom; ``drivers``, ``quality`` and ``uploader`` build on it alone;
``capture`` on those below it; ``station`` on everything but the simulator. Only the simulator
(which plugs its commands and its kit into the station), the benchmarks and the tests import
``station``, and the simulator imports nothing from ``drivers``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("domain", "drivers", "quality", "uploader", "capture", "station", "simulator", "bench")

# What each package may import besides itself.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "drivers": {"domain"},
    "quality": {"domain"},
    "uploader": {"domain"},
    "capture": {"domain", "drivers", "quality"},
    "station": {"domain", "drivers", "quality", "uploader", "capture"},
    "simulator": {"domain", "quality", "uploader", "station"},
    "bench": set(PROJECT),
}

def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[str]:
    """Absolute names of the project modules ``path`` imports (relative ones stay in-package)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [name for name in names if name.split(".")[0] in PROJECT]


def violations() -> list[str]:
    found = []
    for package in PROJECT:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = module_name(path)
            for imported in imported_modules(path):
                target = imported.split(".")[0]
                if target == package:
                    continue
                if target not in ALLOWED[package]:
                    found.append(f"{module} imports {imported}")
    return found


def test_dependencies_point_one_way() -> None:
    found = violations()
    assert not found, "imports against the direction of dependencies:\n" + "\n".join(found)


def test_the_check_reads_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "import os\nfrom . import sibling\n"
        "def run():\n    from simulator.control import post\n    import station.cli\n"
    )
    assert imported_modules(source) == ["simulator.control", "station.cli"]
