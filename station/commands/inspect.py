"""``rekam inspect``: verify a sealed package and, with the centre's key, open it.

    rekam inspect PACKAGE --stations stations.txt                 # which station sealed it?
    rekam inspect PACKAGE --station-key kit-01.pub.pem            # signed by this key?
    rekam inspect PACKAGE --station-key /etc/rekam/stations/      # a directory of station keys
    rekam inspect PACKAGE --stations LIST --centre-key centre_x25519.pem [--json]

A package names the station that sealed it in its clear header; only a trusted station list
binds a station id to its key, as the centre's enrollment does. With ``--stations`` (lines of
``STATION_ID PUBLIC_KEY_PEM``, paths relative to the list; ``#`` starts a comment) a package
whose key is not the claimed station's is refused. With ``--station-key`` alone the signature
is checked against the key with the package's key id, and the station is reported unverified.

Without ``--centre-key`` the station signature over the whole package is checked and the clear
header printed; nothing inside can be read. With the centre's private key the package is
decrypted, the signed manifest checked against the transaction, every image decoded (images
whose headers declare more than a record's image may are refused before decoding, see
``uploader.image_limits``), and a summary printed (subject NIK and category, operator, samples
with quality, exceptions).

Exit status: 0 when the package verified (and opened), 1 when it was refused (altered,
truncated, unknown station, sealed for another centre key, ...), 2 when a file or key could not
be read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from domain.messages import msg
from quality.matching import minutiae_count
from uploader import errors
from uploader.keys import (
    KeyFileError,
    StationKeyring,
    key_id,
    load_centre_private_key,
    load_public_key,
)
from uploader.package import (
    MAX_PACKAGE_BYTES,
    OpenedPackage,
    PackageHeader,
    read_header,
    valid_identifier,
    verify_package,
)
from uploader.untrusted import open_untrusted

# What each refusal means for the person holding the package.
EXPLANATIONS = {
    errors.NotAPackage.reason: msg("INSPECT_NOT_A_PACKAGE"),
    errors.UnsupportedVersion.reason: msg("INSPECT_UNSUPPORTED_VERSION"),
    errors.TruncatedPackage.reason: msg("INSPECT_TRUNCATED_PACKAGE"),
    errors.MalformedPackage.reason: msg("INSPECT_MALFORMED_PACKAGE"),
    errors.UnknownStation.reason: msg("INSPECT_UNKNOWN_STATION"),
    errors.SignatureInvalid.reason: msg("INSPECT_SIGNATURE_INVALID"),
    errors.WrongRecipient.reason: msg("INSPECT_WRONG_CENTRE_KEY"),
    errors.DecryptionFailed.reason: msg("INSPECT_DECRYPTION_FAILED"),
    errors.ContentInvalid.reason: msg("INSPECT_CONTENT_INVALID"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rekam inspect`` to the ``rekam`` command."""
    parser = subparsers.add_parser(
        "inspect",
        help="verify a sealed package; with the centre's key, open and summarise it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("package", type=Path, metavar="PACKAGE")
    parser.add_argument(
        "--stations",
        type=Path,
        metavar="LIST",
        help="the trusted station list: lines of STATION_ID PUBLIC_KEY_PEM (binds ids to keys)",
    )
    parser.add_argument(
        "--station-key",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help="a station public key (Ed25519 or EC P-256), or a directory of them (repeatable); "
        "the station stays unverified",
    )
    parser.add_argument(
        "--centre-key",
        type=Path,
        metavar="KEY",
        help="the centre's private key (PEM: ML-KEM-768 and X25519, see docs/record.md)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def _when(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="seconds")


def load_station_list(path: Path) -> dict[str, Any]:
    """Station id -> public key from a trusted station list; raises KeyFileError."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read the station list {path}: {exc}") from exc
    stations: dict[str, Any] = {}
    for number, line in enumerate(lines, 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or not valid_identifier(fields[0]) or fields[0] in stations:
            raise KeyFileError(f"{path}:{number}: expected one STATION_ID PUBLIC_KEY_PEM line")
        stations[fields[0]] = load_public_key(path.parent / fields[1])
    if not stations:
        raise KeyFileError(f"the station list {path} names no station")
    return stations


def header_summary(header: PackageHeader, data: bytes) -> dict[str, Any]:
    """The clear-text facts of a verified package."""
    return {
        "package_bytes": len(data),
        "package_sha256": hashlib.sha256(data).hexdigest(),
        "version": header.version,
        "station_id": header.station_id,
        "station_key_id": header.station_key_id.hex(),
        "record_id": header.record_id,
        "sealed_at": _when(header.sealed_at_ms),
        "centre_key_id": header.centre_key_id.hex(),
        "signature": "valid",
    }


def content_summary(opened: OpenedPackage) -> dict[str, Any]:
    """What the centre sees once the package is open (no images, no name)."""
    manifest = opened.manifest
    decoded = opened.transaction
    return {
        "subject": manifest.get("subject", {}),
        "operator": manifest.get("operator", ""),
        "supervisor": manifest.get("supervisor", ""),
        "started_at": manifest.get("started_at"),
        "completed_at": manifest.get("completed_at"),
        "transaction": manifest.get("transaction", {}),
        "samples": manifest.get("samples", []),
        "quality": manifest.get("quality", {}),
        "signature": manifest.get("signature", {}),
        "exceptions": manifest.get("exceptions", []),
        "flags": manifest.get("flags", []),
        "devices": manifest.get("devices", []),
        "decoded": {
            "fingerprints": len(decoded.fingerprints),
            "face": decoded.face is not None,
            "irises": len(decoded.irises),
            "signature_vectors": len(decoded.signature_vectors),
            # ISO/IEC 19794-2 templates (Type-9) of the card fingers: minutiae per finger.
            "minutiae": {
                str(position): minutiae_count(data) for position, data in decoded.minutiae.items()
            },
        },
    }


def _print_text(summary: dict[str, Any], out: TextIO) -> None:
    print(
        f"package    {summary['package_bytes']} bytes, sha256 {summary['package_sha256']}", file=out
    )
    print(
        f"station    {summary['station_id']} (key {summary['station_key_id']}), "
        f"signature {summary['signature']}",
        file=out,
    )
    verified = summary["station_verified"]
    binding = "CENTRE_STATION_VERIFIED" if verified else "CENTRE_STATION_UNVERIFIED"
    sentence = msg(binding, station=summary["station_id"], key_id=summary["station_key_id"])
    print(f"           {sentence.render()}", file=out)
    print(f"record     {summary['record_id']}, sealed {summary['sealed_at']}", file=out)
    print(f"centre key {summary['centre_key_id']}", file=out)
    content = summary.get("content")
    if content is None:
        print("content    sealed for the centre; pass --centre-key to open it", file=out)
        return
    subject = content["subject"]
    print(
        f"subject    NIK {subject.get('nik', '')}, category {subject.get('category', '')}, "
        f"demographics {subject.get('demographics_ref', '')}",
        file=out,
    )
    print(
        f"operator   {content['operator']}"
        + (f", supervisor {content['supervisor']}" if content["supervisor"] else ""),
        file=out,
    )
    print(f"enrolled   {content['started_at']} .. {content['completed_at']}", file=out)
    transaction = content["transaction"]
    print(
        f"transaction {transaction.get('format', '')}, {transaction.get('size', 0)} bytes, "
        "hash matches the signed manifest",
        file=out,
    )
    print("samples", file=out)
    for sample in content["samples"]:
        if sample.get("exception") and not sample.get("encoding"):
            detail = f"exception {sample['exception']}"
        else:
            detail = (
                f"quality {sample['quality']:>3}  {sample['encoding']} "
                f"{sample['width']}x{sample['height']}  {sample['encoded_bytes']} bytes  "
                f"attempts {sample['attempts']}"
            )
            if sample.get("forced"):
                detail += "  forced"
        print(f"  {sample['position']:<13} {sample['modality']:<12} {detail}", file=out)
    signature = content["signature"]
    state = f"{signature.get('points', 0)} points" if signature.get("present") else "none"
    if signature.get("exception"):
        state += f" ({signature['exception']})"
    print(f"signature  {state}", file=out)
    exceptions = ", ".join(f"{e['position']} {e['exception']}" for e in content["exceptions"])
    print(f"exceptions {exceptions or 'none'}", file=out)
    if content["flags"]:
        print(f"flags      {', '.join(content['flags'])}", file=out)
    decoded = content["decoded"]
    print(
        f"decoded    {decoded['fingerprints']} fingerprints, "
        f"{'a face' if decoded['face'] else 'no face'}, {decoded['irises']} irises, "
        f"{decoded['signature_vectors']} signature vectors",
        file=out,
    )
    templates = ", ".join(f"{p} {n} minutiae" for p, n in decoded["minutiae"].items())
    print(f"templates  {templates or 'none'} (ISO/IEC 19794-2, Type-9)", file=out)


def _refuse(error: errors.PackageError, path: Path, out: TextIO, as_json: bool) -> int:
    explanation = EXPLANATIONS.get(error.reason, msg("INSPECT_REFUSED")).render()
    if as_json:
        print(
            json.dumps(
                {
                    "package": str(path),
                    "error": {
                        "reason": error.reason,
                        "explanation": explanation,
                        "detail": error.detail,
                    },
                }
            ),
            file=out,
        )
    else:
        print(
            f"rekam inspect: {path}: {error.reason}: {explanation} ({error.detail})",
            file=sys.stderr,
        )
    return 1


def _listed_key(claimed: PackageHeader, stations: dict[str, Any]) -> Any:
    """The key the trusted list gives the claimed station, if it is the package's key."""
    station_key = stations.get(claimed.station_id)
    if station_key is None:
        raise errors.UnknownStation(
            f"the package claims station {claimed.station_id!r}, which is not in the trusted "
            "station list"
        )
    if key_id(station_key) != claimed.station_key_id:
        raise errors.UnknownStation(
            f"the package claims station {claimed.station_id!r} but was sealed with key "
            f"{claimed.station_key_id.hex()}; the trusted station list gives that station key "
            f"{key_id(station_key).hex()}"
        )
    return station_key


def _ring_key(claimed: PackageHeader, keyring: StationKeyring) -> Any:
    station_key = keyring.get(claimed.station_key_id)
    if station_key is None:
        raise errors.UnknownStation(
            f"the package claims station {claimed.station_id!r} with key "
            f"{claimed.station_key_id.hex()}; none of the {len(keyring)} trusted station keys "
            "matches (pass that station's public key with --station-key)"
        )
    return station_key


def inspect_package(
    data: bytes,
    keyring: StationKeyring | None,
    centre_key: Any | None,
    stations: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Verify (and with ``centre_key`` open) ``data``; raises an :class:`errors.PackageError`.

    With ``stations`` (the trusted station list) the claimed station must own the key that
    signed; with only ``keyring`` the signature is checked and the station reported unverified.
    """
    claimed = read_header(data)
    if stations is not None:
        station_key = _listed_key(claimed, stations)
    else:
        station_key = _ring_key(claimed, keyring or StationKeyring())
    trusted = {claimed.station_id: station_key}
    if centre_key is None:
        summary = header_summary(verify_package(data, trusted), data)
    else:
        opened = open_untrusted(data, centre_key, trusted)
        summary = header_summary(opened.header, data)
        summary["content"] = content_summary(opened)
    summary["station_verified"] = stations is not None
    return summary


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Inspect one package; see the module docstring for the exit status."""
    out = out or sys.stdout
    if not (args.stations or args.station_key):
        print("rekam inspect: pass --stations LIST (or --station-key PEM)", file=sys.stderr)
        return 2
    try:
        stations = load_station_list(args.stations) if args.stations else None
        keyring = StationKeyring.load(args.station_key) if args.station_key else None
        centre_key = load_centre_private_key(args.centre_key) if args.centre_key else None
        size = args.package.stat().st_size
        if size > MAX_PACKAGE_BYTES:
            raise errors.MalformedPackage(f"{size} bytes is larger than any package")
        data = args.package.read_bytes()
    except KeyFileError as exc:
        print(f"rekam inspect: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"rekam inspect: cannot read {args.package}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except errors.PackageError as exc:
        return _refuse(exc, args.package, out, args.json)
    try:
        summary = inspect_package(data, keyring, centre_key, stations)
    except errors.PackageError as exc:
        return _refuse(exc, args.package, out, args.json)
    summary = {"package": str(args.package), **summary}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2), file=out)
    else:
        _print_text(summary, out)
    return 0
