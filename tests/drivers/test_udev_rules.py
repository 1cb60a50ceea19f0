"""docs/udev/70-rekam.rules: every supported USB device reaches the daemon's group.

The rules are parsed with the syntax of udev(7): one rule per line, comma-separated
``KEY[{attribute}] operator "value"`` pairs, ``==``/``!=`` to match, ``=``/``+=``/``:=`` to
assign. The daemon's group is read from the systemd unit, so the two cannot drift apart.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drivers import vcom5s

DOCS = Path(__file__).resolve().parents[2] / "docs"
RULES = DOCS / "udev" / "70-rekam.rules"
UNIT = DOCS / "systemd" / "rekam.service"

# USB-serial adapters the UART devices (R30x, ISDV4) are sold with, by their USB ids
# (the ids their Linux drivers cp210x, ch341, ftdi_sio and pl2303 bind to).
USB_SERIAL_ADAPTERS = {
    "CP210x": (0x10C4, 0xEA60),
    "CH340": (0x1A86, 0x7523),
    "FTDI FT232R": (0x0403, 0x6001),
    "PL2303": (0x067B, 0x2303),
}
PAIR = re.compile(r'^([A-Z_]+)(?:\{([^}]+)\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"$')
KEYS = {"ACTION", "SUBSYSTEM", "ENV", "ATTR", "ATTRS", "GROUP", "MODE", "SYMLINK", "GOTO"}


@dataclass
class Rule:
    matches: dict[str, str] = field(default_factory=dict)
    assigns: dict[str, str] = field(default_factory=dict)


def parse_rules(text: str) -> list[Rule]:
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("LABEL="):
            continue
        rule = Rule()
        for pair in re.split(r",\s*(?=[A-Z_]+[{=!+:-])", line):
            parsed = PAIR.match(pair.strip())
            assert parsed, f"line {number}: cannot parse {pair!r}"
            key, attribute, operator, value = parsed.groups()
            assert key in KEYS, f"line {number}: unexpected key {key}"
            name = f"{key}{{{attribute}}}" if attribute else key
            (rule.matches if operator in ("==", "!=") else rule.assigns)[name] = value
        rules.append(rule)
    return rules


def daemon_group() -> str:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(UNIT.read_text())
    return unit["Service"]["Group"]


def rule_for(rules: list[Rule], subsystem: str, attr: str, ids: tuple[int, int]) -> Rule:
    vendor, product = (f"{value:04x}" for value in ids)
    found = [
        rule
        for rule in rules
        if rule.matches.get("SUBSYSTEM") == subsystem
        and rule.matches.get(f"{attr}{{idVendor}}") == vendor
        and rule.matches.get(f"{attr}{{idProduct}}") == product
    ]
    assert len(found) == 1, f"{len(found)} rules for {vendor}:{product} on {subsystem}"
    return found[0]


def test_the_usb_fingerprint_sensor_node_belongs_to_the_daemons_group():
    rule = rule_for(
        parse_rules(RULES.read_text()), "usb", "ATTR", (vcom5s.VENDOR_ID, vcom5s.PRODUCT_ID)
    )
    assert rule.matches["ENV{DEVTYPE}"] == "usb_device"  # the usbfs node, not an interface
    assert rule.assigns["GROUP"] == daemon_group() == "rekam"
    assert rule.assigns["MODE"] == "0660"
    assert rule.assigns["SYMLINK"].startswith("rekam/fingerprint-")


@pytest.mark.parametrize("adapter", sorted(USB_SERIAL_ADAPTERS))
def test_each_usb_serial_adapter_tty_belongs_to_the_daemons_group(adapter):
    rules = parse_rules(RULES.read_text())
    rule = rule_for(rules, "tty", "ATTRS", USB_SERIAL_ADAPTERS[adapter])
    assert rule.assigns["GROUP"] == daemon_group()
    assert rule.assigns["MODE"] == "0660"


def test_removal_events_skip_the_rules():
    first = parse_rules(RULES.read_text())[0]
    assert first.matches == {"ACTION": "remove"}
    assert first.assigns["GOTO"] in RULES.read_text().split('LABEL="', 1)[1]


def test_the_parser_refuses_what_udev_would():
    with pytest.raises(AssertionError):
        parse_rules('SUBSYSTEM=="usb", GROUP=rekam')
