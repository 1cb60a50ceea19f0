"""The station configuration: every documented key takes effect, every mistake is named."""

from __future__ import annotations

import copy
import dataclasses
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from capture.engine import CaptureSettings
from domain.settings import SettingsError
from drivers.base import Modality
from station.cli import _load_config, build_parser
from station.config import DeviceEntry, StationConfig, TlsConfig, WebConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "rekam.example.toml"
DOCS = ROOT / "docs" / "configuration.md"
# A value that must be valid where "add one" or "append text" would not be.
OTHER_VALUES: dict[tuple[str | int, ...], object] = {
    ("station", "language"): "id",
    ("station", "listen"): "127.0.0.1:50052",
    ("station", "metrics_listen"): "127.0.0.1:9465",
    ("station", "web", "listen"): "127.0.0.1:50081",
    ("identity", "backend"): "file",
}


def _leaves(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[tuple, object]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [(path, value)]


def _example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text())


def _other(path: tuple, value: object) -> object:
    if path in OTHER_VALUES:
        return OTHER_VALUES[path]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    assert isinstance(value, str), path
    return value + "-changed"


def _effective(config: StationConfig, path: tuple) -> object:
    """The setting a file key ends up in (``[station]`` keys sit on the config itself)."""
    if path[0] == "station":
        path = ("station_id" if path[1] == "id" else path[1], *path[2:])
    found: Any = config
    for part in path:
        found = found[part] if isinstance(found, dict | list) else getattr(found, part)
    return found


def _set(document: dict, path: tuple, value: object) -> dict:
    changed = copy.deepcopy(document)
    *parents, leaf = path
    table: Any = changed
    for part in parents:
        table = table[part]
    table[leaf] = value
    return changed


@pytest.mark.parametrize(("path", "value"), _leaves(_example()), ids=lambda v: str(v))
def test_every_key_of_the_example_takes_effect(path: tuple, value: object) -> None:
    document = _example()
    before = _effective(StationConfig.from_mapping(document), path)
    new = _other(path, value)
    config = StationConfig.from_mapping(_set(document, path, new))
    after = _effective(config, path)
    assert after != before
    assert after == type(before)(new)
    if path[0] == "quality" and path[-1] == "min_score":
        assert config.thresholds.normal[Modality(path[1])] == new
    if path[0] == "relaxed_thresholds":
        assert config.thresholds.relaxed[Modality(path[1])] == new


def test_the_documentation_names_every_key_that_exists() -> None:
    text = DOCS.read_text()
    defaults = StationConfig()
    tables = {
        "station.tls": TlsConfig,
        "station.web": WebConfig,
        "centre": type(defaults.centre),
        "identity": type(defaults.identity),
        "uploader": type(defaults.uploader),
        "capture": CaptureSettings,
        "[devices]": DeviceEntry,
    }
    keys = {table: [f.name for f in dataclasses.fields(cls)] for table, cls in tables.items()}
    keys["station"] = [
        f.metadata["key"].removeprefix("station.")
        for f in dataclasses.fields(StationConfig)
        if "key" in f.metadata and f.name not in ("tls", "web")
    ]
    for table, names in keys.items():
        assert f"`[{table}]`" in text
        for name in names:
            assert f"`{name}`" in text, f"[{table}] {name} is not in docs/configuration.md"
    for table in ("quality.<modality>", "relaxed_thresholds"):
        assert f"`[{table}]`" in text


@pytest.mark.parametrize(
    ("document", "where", "suggestion"),
    [
        ({"station": {"langauge": "en"}}, "[station] langauge", "language"),
        ({"station": {"tls": {"certs": "a.pem"}}}, "[station.tls] certs", "cert"),
        ({"centre": {"ulr": "http://x"}}, "[centre] ulr", "url"),
        ({"uploader": {"max_backof_s": 3}}, "[uploader] max_backof_s", "max_backoff_s"),
        ({"capture": {"timeout": 3}}, "[capture] timeout", "timeout_s"),
        ({"quality": {"fingerprnt": {}}}, "[quality] fingerprnt", "fingerprint"),
        ({"quality": {"face": {"min_scor": 3}}}, "[quality.face] min_scor", "min_score"),
        (
            {"quality": {"fingerprint": {"min_nfiq": 30}}},
            "[quality.fingerprint] min_nfiq",
            "min_nfiq2",
        ),
        ({"relaxed_thresholds": {"irs": 3}}, "[relaxed_thresholds] irs", "iris"),
        (
            {"devices": [{"id": "a", "driver": "r30x", "port": "p", "option": {}}]},
            "[[devices]] #1 option",
            "options",
        ),
        ({"uploaders": {}}, "uploaders", "uploader"),
    ],
)
def test_an_unknown_key_is_named_with_the_closest_known_one(document, where, suggestion) -> None:
    with pytest.raises(SettingsError) as raised:
        StationConfig.from_mapping(document)
    assert str(raised.value) == f"{where}: unknown key; did you mean {suggestion}?"


@pytest.mark.parametrize(
    ("document", "where", "expected"),
    [
        ({"uploader": {"max_backoff_s": True}}, "[uploader] max_backoff_s", "a number, got true"),
        ({"capture": {"timeout_s": "20"}}, "[capture] timeout_s", 'a number, got "20"'),
        ({"centre": {"url": {"a": 1}}}, "[centre] url", "a string, got a table"),
        ({"station": {"id": 7}}, "[station] id", "a string, got 7"),
        ({"station": {"data_dir": 7}}, "[station] data_dir", "a path (a string), got 7"),
        ({"quality": {"face": {"require_eyes": 1}}}, "[quality.face] require_eyes", "true or"),
        ({"quality": {"iris": {"min_score": 50.5}}}, "[quality.iris] min_score", "a whole num"),
        ({"uploader": 3}, "uploader", "a table, got 3"),
        ({"station": {"tls": "on"}}, "[station] tls", 'a table, got "on"'),
        ({"devices": {"id": "x"}}, "devices", "an array, got a table"),
        ({"devices": ["fp"]}, "[[devices]] #1", 'a table, got "fp"'),
        ({"sinks": {"s3": "bucket"}}, "[sinks] s3", 'a table, got "bucket"'),
    ],
)
def test_a_wrong_type_is_refused(document, where, expected) -> None:
    with pytest.raises(SettingsError) as raised:
        StationConfig.from_mapping(document)
    assert str(raised.value).startswith(f"{where}: expected {expected}")


def test_the_thresholds_table_is_refused_with_the_key_to_use() -> None:
    with pytest.raises(SettingsError) as raised:
        StationConfig.from_mapping({"thresholds": {"fingerprint": 90}})
    assert raised.value.key == ("thresholds",)
    assert "[quality.<modality>] min_score" in str(raised.value)
    assert "[quality.fingerprint] min_score = 40" in str(raised.value)


def test_relaxed_thresholds_are_percentages() -> None:
    with pytest.raises(SettingsError, match=r"\[relaxed_thresholds\] iris: .*0\.\.100"):
        StationConfig.from_mapping({"relaxed_thresholds": {"iris": 300}})


@pytest.mark.parametrize(("tag", "language"), [("en", "en"), ("id", "id"), ("id-ID", "id")])
def test_the_language_is_a_catalogue_language(tag: str, language: str) -> None:
    assert StationConfig.from_mapping({"station": {"language": tag}}).language == language


def test_a_language_without_a_catalogue_is_refused() -> None:
    with pytest.raises(SettingsError) as raised:
        StationConfig.from_mapping({"station": {"language": "fr"}})
    assert str(raised.value) == '[station] language: no sentences in "fr"; the catalogue has en, id'


def test_devices_are_checked() -> None:
    fp = {"id": "fp", "driver": "r30x", "port": "/dev/ttyUSB0"}
    config = StationConfig.from_mapping({"devices": [fp]})
    assert config.devices == [{**fp, "options": {}}]
    with pytest.raises(SettingsError, match=r'^\[\[devices\]\] #2 id: a second device .*"fp"'):
        StationConfig.from_mapping({"devices": [fp, {**fp, "port": "/dev/ttyUSB1"}]})
    with pytest.raises(SettingsError, match=r"^\[\[devices\]\] #1 port: missing"):
        StationConfig.from_mapping({"devices": [{"id": "fp", "driver": "r30x"}]})
    with pytest.raises(SettingsError, match=r"^\[\[devices\]\] #1 driver: must not be empty"):
        StationConfig.from_mapping({"devices": [{**fp, "driver": ""}]})
    with pytest.raises(SettingsError, match=r"^\[\[devices\]\] #1 options: expected a table"):
        StationConfig.from_mapping({"devices": [{**fp, "options": 57600}]})


def test_sink_tables_are_kept_for_their_plugins() -> None:
    config = StationConfig.from_mapping({"sinks": {"s3": {"bucket": "b", "anything": 1}}})
    assert config.sinks == {"s3": {"bucket": "b", "anything": 1}}
    assert StationConfig().sinks == {}


def test_path_settings_become_paths_and_an_empty_one_is_unset() -> None:
    config = StationConfig.from_mapping(
        {"centre": {"public_key": "/etc/c.pem"}, "station": {"tls": {"cert": "", "key": "k.pem"}}}
    )
    assert config.centre.public_key == Path("/etc/c.pem")
    assert config.tls == TlsConfig(cert=None, key=Path("k.pem"))


def test_capture_settings_parse_on_their_own() -> None:
    settings = CaptureSettings.from_mapping({"preview_fps": 10, "consecutive_good": 5})
    assert settings == CaptureSettings(preview_fps=10.0, consecutive_good=5)
    with pytest.raises(SettingsError) as raised:
        CaptureSettings.from_mapping({"preview_fsp": 3})
    assert str(raised.value) == "preview_fsp: unknown key; did you mean preview_fps?"


def test_load_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[station\n")
    with pytest.raises(SettingsError, match=f"^{re.escape(str(broken))}: not valid TOML"):
        StationConfig.load(broken)
    absent = tmp_path / "absent.toml"
    with pytest.raises(SettingsError, match=f"^{re.escape(str(absent))}: cannot read it"):
        StationConfig.load(absent)
    typo = tmp_path / "typo.toml"
    typo.write_text('[station]\nid = "KIT-1"\nlistn = "127.0.0.1:1"\n')
    with pytest.raises(SettingsError) as raised:
        StationConfig.load(typo)
    assert str(raised.value) == f"{typo}: [station] listn: unknown key; did you mean listen?"


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path: Path) -> None:
    file = tmp_path / "rekam.toml"
    file.write_text('[station]\nlisten = "127.0.0.1:6000"\ndata_dir = "/srv/rekam"\n')
    args = build_parser().parse_args(["serve", "--config", str(file), "--listen", "127.0.0.1:7"])
    config = _load_config(args)
    assert config.listen == "127.0.0.1:7"
    assert config.data_dir == Path("/srv/rekam")
    assert config.station_id == StationConfig().station_id


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--config", "{file}"],
        ["operator", "list", "--config", "{file}"],
        ["operator", "--config", "{file}", "list"],
        ["audit", "verify", "--config", "{file}"],
        ["report", "--month", "2025-01", "--config", "{file}"],
        ["quality", "--modality", "face", "--config", "{file}", "photo.jpg"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_commands_report_a_bad_configuration_in_one_line(tmp_path: Path, command) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\nid = "KIT-1"\n\n[uploader]\nmax_backof_s = 60\n')
    argv = [part.replace("{file}", str(bad)) for part in command]
    done = subprocess.run(
        [sys.executable, "-m", "station.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"rekam {command[0]}: {bad}: [uploader] max_backof_s: unknown key; "
        "did you mean max_backoff_s?"
    ]
