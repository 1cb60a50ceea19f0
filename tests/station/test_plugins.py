"""Sub-commands and kits are plug-ins: the ``rekam.commands`` and ``rekam.kits`` groups."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

import station.commands
from station.cli import build_parser, main
from station.config import StationConfig
from station.kits import KitNotFound, attach_kit

OWN_AND_SIMULATOR_COMMANDS = {"quality", "inspect", "diag", "audit", "report", "sim", "demo"}


def subcommands() -> set[str]:
    action = next(a for a in build_parser()._actions if a.dest == "command")
    return set(action.choices)


def test_installed_commands_are_registered_beside_serve_and_operator() -> None:
    assert subcommands() == {"serve", "operator", *OWN_AND_SIMULATOR_COMMANDS}


def test_a_command_that_fails_to_load_is_reported_and_the_rest_still_run(
    monkeypatch, capsys
) -> None:
    group = station.commands.COMMANDS_GROUP
    entries = [
        EntryPoint("broken", "no_such_rekam_plugin:register", group),
        EntryPoint("report", "station.commands.report:register", group),
    ]
    monkeypatch.setattr(station.commands, "entry_points", lambda group: entries)
    assert subcommands() == {"serve", "operator", "report"}
    error = capsys.readouterr().err
    assert "'broken' command (no_such_rekam_plugin:register)" in error
    assert "No module named 'no_such_rekam_plugin'" in error


def test_undeclared_arguments_pass_through_only_where_a_command_asks(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sim", "center", "--help"])  # answered by the centre's own parser
    assert exited.value.code == 0
    assert "usage: rekam sim center" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        main(["report", "--month", "2026-11", "--no-such-option"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_an_unknown_kit_is_named_in_the_error(tmp_path) -> None:
    with pytest.raises(KitNotFound, match="'hardware-in-the-loop'"):
        attach_kit("hardware-in-the-loop", StationConfig(data_dir=tmp_path))
