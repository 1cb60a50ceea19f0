"""A kit process for the clock tests: the real daemon (outbox, uploader, auth, enrollment API)
run under ``clockshift.so``, so the test steps its wall clock while it runs.

Run: ``python clock_kit.py DATA_DIR CENTRE_URL CENTRE_DIR``. Once serving it writes
``DATA_DIR/ready`` (JSON: port, an operator token valid 90 days, one valid 20 seconds). It seals a
small record for every file ``DATA_DIR/commands/seal-<record id>`` that appears (through the
daemon's own ``seal`` and ``Outbox.enqueue``, as ``tests/delivery/kit_process.py`` does), and stops
on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

from simulator.centre.identity import RECEIPT_PUBLIC_FILE, TLS_PIN_FILE
from simulator.centre.samples import small_record
from station.auth import Role
from station.config import CentreConfig, StationConfig, UploaderConfig
from station.server import StationDaemon
from uploader.keys import load_centre_public_key
from uploader.package import seal

STATION = "KIT-CLOCK"
SHORT_TOKEN_S = 20.0
RETENTION_S = 30.0


def seal_requested(daemon: StationDaemon, centre_key: Path, commands: Path, stop: threading.Event):
    public = load_centre_public_key(centre_key)
    index = 0
    while not stop.wait(0.05):
        for request in sorted(commands.glob("seal-*")):
            record_id = request.name.removeprefix("seal-")
            sealed = seal(small_record(record_id, index, STATION), daemon.keys, public)
            daemon.outbox.enqueue(sealed, category="regular", meta={"enrollment_id": record_id})
            daemon.uploader.kick()
            request.unlink()
            index += 1


def main(argv: list[str]) -> int:
    data_dir, centre_url, centre_dir = Path(argv[0]), argv[1], Path(argv[2])
    config = StationConfig(
        station_id=STATION,
        data_dir=data_dir,
        listen="127.0.0.1:0",
        centre=CentreConfig(
            url=centre_url,
            public_key=centre_dir / "centre_public.pem",
            receipt_key=centre_dir / RECEIPT_PUBLIC_FILE,
            tls_pin=(centre_dir / TLS_PIN_FILE).read_text().strip(),
        ),
        uploader=UploaderConfig(
            delivery_interval_s=0.05,
            poll_interval_s=0.3,
            max_backoff_s=0.5,
            package_retention_days=RETENTION_S / 86400,
            purge_interval_s=0.2,
        ),
    )
    daemon = StationDaemon(config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    port = daemon.start()
    tokens = {
        "port": port,
        "operator": daemon.tokens.add("op-ani", Role.OPERATOR),
        "short": daemon.tokens.add(
            "op-sebentar", Role.OPERATOR, expires_days=SHORT_TOKEN_S / 86400
        ),
        "pid": os.getpid(),
    }
    commands = data_dir / "commands"
    commands.mkdir(exist_ok=True)
    (data_dir / "ready").write_text(json.dumps(tokens))
    sealer = threading.Thread(
        target=seal_requested,
        args=(daemon, config.centre.public_key, commands, stop),
        daemon=True,
    )
    sealer.start()
    stop.wait()
    sealer.join(5)
    daemon.stop(grace=1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
