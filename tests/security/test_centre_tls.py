"""The kit's side of the centre link: mutual TLS with a station client certificate, and a daemon
that refuses to start towards a centre it cannot authenticate."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from bare_station import bare_config
from tls_material import make_tls_material

from simulator.centre import CentreServer
from station.server import StationDaemon
from station.tls import TlsSetupError
from uploader.centre_client import CentreClient, CentreUnreachable


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    return make_tls_material(tmp_path_factory.mktemp("centre-tls"))


def test_a_centre_asking_for_mutual_tls_refuses_a_kit_without_its_certificate(tmp_path, material):
    client_ca = material.write("kits-ca.pem", material.ca.cert)
    with CentreServer(tmp_path / "centre", client_ca=client_ca) as centre:
        anonymous = CentreClient(centre.url, trust=centre.trust, timeout=5)
        with pytest.raises(CentreUnreachable):
            anonymous.health()
        stranger = dataclasses.replace(
            centre.trust,
            client_cert=material.write("stranger.pem", material.stranger_client.cert),
            client_key=material.write("stranger.key", material.stranger_client.key),
        )
        with pytest.raises(CentreUnreachable):
            CentreClient(centre.url, trust=stranger, timeout=5).health()
        kit = dataclasses.replace(
            centre.trust,
            client_cert=material.write("kit.pem", material.client.cert),
            client_key=material.write("kit.key", material.client.key),
        )
        assert CentreClient(centre.url, trust=kit, timeout=5).health()["status"] == "ok"


def test_a_plain_http_centre_is_refused_at_start_unless_simulated(tmp_path):
    config = bare_config(tmp_path)
    config.centre.url = "http://127.0.0.1:9"
    with pytest.raises(TlsSetupError, match="plain http"):
        StationDaemon(config)
    config.centre.url = "https://127.0.0.1:9"
    config.centre.tls_pin = ""
    with pytest.raises(TlsSetupError, match="tls_pin"):
        StationDaemon(config)
    config.centre.receipt_key = None
    with pytest.raises(TlsSetupError, match="receipt_key"):
        StationDaemon(config)


def test_rekam_serve_names_the_missing_pin_and_exits(tmp_path):
    config = bare_config(tmp_path)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "station.cli",
            "serve",
            "--data-dir",
            str(tmp_path / "station"),
            "--listen",
            "127.0.0.1:0",
            "--centre-url",
            "http://127.0.0.1:9",
            "--centre-key",
            str(config.centre.public_key),
            "--centre-receipt-key",
            str(config.centre.receipt_key),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "plain http" in completed.stderr and "--simulate" in completed.stderr
