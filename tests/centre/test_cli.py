"""``rekam sim center`` entry point: starts, provisions, serves, stops on request."""

from __future__ import annotations

import re
import threading

import pytest
from centre_records import wait_until

from simulator.centre import main
from uploader.centre_client import CentreClient, CentreUnreachable
from uploader.centre_trust import CentreTrust
from uploader.keys import StationKeys


def test_main_serves_until_stopped(tmp_path, capsys):
    StationKeys.load_or_create(tmp_path / "station")
    pem = tmp_path / "station" / "station_ed25519.pub.pem"
    stop = threading.Event()
    argv = ["--port", "0", "--data-dir", str(tmp_path / "centre"),
            "--provision", "KIT-7", str(pem)]
    runner = threading.Thread(target=main, args=(argv, stop))
    output: list[str] = []

    def printed_url() -> bool:
        output.append(capsys.readouterr().out)
        return re.search(r"centre: (https://127\.0\.0\.1:\d+)", "".join(output)) is not None

    runner.start()
    try:
        assert wait_until(printed_url, timeout=20)
        text = "".join(output)
        url = re.search(r"centre: (https://127\.0\.0\.1:\d+)", text).group(1)
        assert "station KIT-7: HTTP 201 PROVISIONED" in text
        trust = CentreTrust.load(
            tmp_path / "centre" / "centre_receipts.pub.pem",
            re.search(r"centre TLS pin: (\S+)", text).group(1),
        )
        assert CentreClient(url, trust=trust).health()["status"] == "ok"
        assert (tmp_path / "centre" / "centre_public.pem").exists()
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
    with pytest.raises(CentreUnreachable):
        CentreClient(url, trust=trust, timeout=1).health()
