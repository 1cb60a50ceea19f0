"""Generate the station.v1 Python modules from proto/station/v1/*.proto (``make proto``)."""

from __future__ import annotations

import sys
import tempfile
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "proto"
GENERATED_DIR = REPO_ROOT / "station" / "v1"


def proto_sources() -> list[Path]:
    return sorted((PROTO_ROOT / "station" / "v1").glob("*.proto"))


def generate(out_root: Path) -> list[Path]:
    """Run protoc (grpcio-tools) into ``out_root``; return the generated files."""
    from grpc_tools import protoc

    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *[str(p.relative_to(PROTO_ROOT)) for p in proto_sources()],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed on proto/station/v1")
    return sorted((out_root / "station" / "v1").glob("*_pb2*.py*"))


def generated_files() -> dict[str, bytes]:
    """The generated modules as they would be written now, by file name."""
    with tempfile.TemporaryDirectory() as tmp:
        return {p.name: p.read_bytes() for p in generate(Path(tmp))}


def main() -> int:
    fresh = generated_files()
    for stale in GENERATED_DIR.glob("*_pb2*.py*"):
        if stale.name not in fresh:
            stale.unlink()
    for name, content in fresh.items():
        (GENERATED_DIR / name).write_bytes(content)
    print(f"wrote {len(fresh)} files to {GENERATED_DIR.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
