"""Write NIST's NFIQ 2 forest (``quality/models/nist_plain_tir-ink.yaml.gz``) from nbis-python.

    python -m bench.extract_nfiq2_forest [--out FILE]

nbis-python builds NFIQ 2 with its random-forest parameters embedded, the way NIST's build does
with NFIQ2_EMBED_RANDOM_FOREST_PARAMETERS (usnistgov/NFIQ2, RandomForestML.cpp): the model's
OpenCV YAML, base64-encoded, as an array of string pieces (``g_strRandomForestTrainedParams``)
that NFIQ 2 joins and decodes when it starts. This script finds that array in nbis-python's
``libnbis.so`` (x86-64 ELF: the array holds relocated pointers to the pieces, in order), joins
and decodes it the same way, checks the MD5 of the result against NIST's, and writes it gzipped.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import struct
from pathlib import Path

from quality.nfiq2_forest import MODEL_MD5, MODEL_PATH

YAML_START = base64.b64encode(b"%YAML:1.0\n---\nmy_random_trees")[:12]  # "JVlBTUw6MS4w"
BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
R_X86_64_RELATIVE = 8
SHT_RELA = 4


def library() -> Path:
    import nbis

    return Path(nbis.__file__).parent / "nbis" / "libnbis.so"


class Elf64:
    """The little an x86-64 shared library needs to be read for: its sections' addresses and
    file offsets, and the pointers its R_X86_64_RELATIVE relocations fill in."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != b"\x7fELF" or data[4] != 2:
            raise ValueError("not a 64-bit ELF library")
        self.data = data
        table = struct.unpack_from("<Q", data, 0x28)[0]
        entry_size, count = struct.unpack_from("<HH", data, 0x3A)
        # (type, address, file offset, size) of each section (Elf64_Shdr).
        self.sections = [
            struct.unpack_from("<4xI8xQQQ", data, table + index * entry_size)
            for index in range(count)
        ]

    def offset(self, address: int) -> int:
        """The file offset of a loaded address."""
        for _kind, start, offset, size in self.sections:
            if start and start <= address < start + size:
                return address - start + offset
        raise ValueError(f"address {address:#x} is in no section")

    def address(self, offset: int) -> int:
        for _kind, start, file_offset, size in self.sections:
            if start and file_offset <= offset < file_offset + size:
                return offset - file_offset + start
        raise ValueError(f"offset {offset:#x} is in no loaded section")

    def pointers(self) -> dict[int, int]:
        """{address of a pointer: the address it is relocated to point at}."""
        found: dict[int, int] = {}
        for kind, _start, offset, size in self.sections:
            if kind != SHT_RELA:
                continue
            for entry in range(offset, offset + size, 24):
                where, info, addend = struct.unpack_from("<QQq", self.data, entry)
                if info & 0xFFFFFFFF == R_X86_64_RELATIVE:
                    found[where] = addend
        return found


def embedded_model(data: bytes) -> bytes:
    """The YAML NFIQ 2 decodes from the embedded pieces."""
    elf = Elf64(data)
    first = data.find(YAML_START)
    if first < 0:
        raise ValueError("no embedded NFIQ 2 forest in this library")
    pointers = elf.pointers()
    target = elf.address(first)
    slot = next(where for where, points_at in pointers.items() if points_at == target)
    pieces = []
    while slot in pointers:
        start = elf.offset(pointers[slot])
        piece = data[start : data.index(b"\0", start)]
        if not piece or not set(piece) <= BASE64:
            break
        pieces.append(piece)
        slot += 8
    return base64.b64decode(b"".join(pieces))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    model = embedded_model(library().read_bytes())
    digest = hashlib.md5(model).hexdigest()
    if digest != MODEL_MD5:
        raise SystemExit(f"the embedded forest's MD5 is {digest}, not NIST's {MODEL_MD5}")
    args.out.write_bytes(gzip.compress(model, compresslevel=9, mtime=0))
    print(f"{args.out}: {len(model)} bytes of YAML, MD5 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
