"""A kit process for the crash tests: the real daemon (outbox, uploader, gRPC server) plus a loader
thread that seals records and commits them through the same calls CompleteEnrollment's sealer
makes (``seal`` then ``Outbox.enqueue``), acknowledging each one only after enqueue returned.

Run: ``python kit_process.py DATA_DIR CENTRE_URL CENTRE_KEY COUNT RECEIPT_KEY TLS_PIN``.
Appends ``<index>`` lines to ``DATA_DIR/acks`` and creates ``DATA_DIR/ready`` once serving.
SIGTERM stops it cleanly; the tests SIGKILL it at random moments.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from simulator.centre.samples import small_record
from station.config import CentreConfig, StationConfig, UploaderConfig
from station.server import StationDaemon
from uploader.keys import load_centre_public_key
from uploader.package import seal

STATION = "KIT-01"


def record_id(index: int) -> str:
    return f"CR-{index:04d}"


def load(daemon: StationDaemon, centre_key: Path, count: int, acks: Path, stop: threading.Event):
    public = load_centre_public_key(centre_key)
    with open(acks, "a", buffering=1) as ack_file:
        for index in range(count):
            if stop.is_set():
                return
            rid = record_id(index)
            if daemon.outbox.get(rid) is None:
                sealed = seal(small_record(rid, index, STATION), daemon.keys, public)
                daemon.outbox.enqueue(sealed, category="regular", meta={"enrollment_id": rid})
                daemon.uploader.kick()
            ack_file.write(f"{index}\n")


def main(argv: list[str]) -> int:
    data_dir, centre_url, centre_key, count = Path(argv[0]), argv[1], Path(argv[2]), int(argv[3])
    receipt_key, tls_pin = Path(argv[4]), argv[5]
    config = StationConfig(
        station_id=STATION,
        data_dir=data_dir,
        listen="127.0.0.1:0",
        centre=CentreConfig(
            url=centre_url, public_key=centre_key, receipt_key=receipt_key, tls_pin=tls_pin
        ),
        uploader=UploaderConfig(
            delivery_interval_s=0.05,
            poll_interval_s=0.5,
            max_backoff_s=0.5,
            max_concurrent_uploads=3,
            transfer_timeout_s=10.0,
            min_free_mb=16,
        ),
    )
    daemon = StationDaemon(config)
    daemon.uploader.client.timeout = 3.0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    daemon.start()
    (data_dir / "ready").write_text(str(os.getpid()))
    loader = threading.Thread(
        target=load, args=(daemon, centre_key, count, data_dir / "acks", stop), daemon=True
    )
    loader.start()
    stop.wait()
    loader.join(10)
    daemon.stop(grace=1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
