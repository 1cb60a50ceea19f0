"""After an outage the kit delivers again within seconds: the uploads in flight when the link
went down count as one failure, a probe that the centre answers ends the pause, and so does an
operator's RetryDelivery. The outage is real (nothing listens on the centre's port, then the
real centre starts there); its length is stood for by the backoff state it leaves behind."""

from __future__ import annotations

import random

from delivery_helpers import STATION, free_ports, wait_until

from simulator.centre import CentreServer
from simulator.centre.samples import small_record
from uploader.centre_client import CentreClient
from uploader.delivery import DeliveryWorker
from uploader.keys import load_centre_public_key
from uploader.outbox import Outbox, RecordState
from uploader.package import seal
from uploader.retry import Backoff, LinkPause
from uploader.service import Uploader

LONG_PAUSE_S = 120.0  # what the backoff reaches after minutes of outage (its cap is 600 s)


def _long_outage(link: LinkPause) -> float:
    """Fail the link round after round until its pause is long; returns the pause."""
    for _ in range(60):
        link.failed(link.attempt())
        if link.remaining() > LONG_PAUSE_S:
            break
    return link.remaining()


def test_uploads_in_flight_when_the_link_dies_count_as_one_failure(centre, sealer, outbox):
    (dead_port,) = free_ports(1)  # nothing listens: every connection is refused
    for index in range(2):
        outbox.enqueue(sealer(f"O-{index}", index))
    client = CentreClient(f"https://127.0.0.1:{dead_port}", trust=centre.trust, timeout=5.0)
    backoff = Backoff(base=30.0, cap=600.0, rng=random.Random(1))  # no second round here
    worker = DeliveryWorker(outbox, client, backoff=backoff, max_concurrent=2)
    worker.start()
    try:
        assert wait_until(lambda: worker.counters.network_errors == 2 and worker.in_flight == 0)
    finally:
        worker.stop()
    assert worker.link.failures == 1


def test_the_first_probe_the_centre_answers_ends_a_long_pause(tmp_path, station_keys):
    (port,) = free_ports(1)
    centre = CentreServer(tmp_path / "late-centre", port=port, decision_delay=3600.0)
    centre.provision(STATION, station_keys.public_pem())
    with Outbox(tmp_path / "kit") as outbox:
        public = load_centre_public_key(centre.public_key_path)
        outbox.enqueue(seal(small_record("P-1", 1, STATION), station_keys, public))
        uploader = Uploader(
            outbox,
            f"https://127.0.0.1:{port}",
            trust=centre.trust,
            probe_interval=0.5,
            backoff_cap=600.0,
            rng=random.Random(5),
        )
        assert _long_outage(uploader.delivery.link) > LONG_PAUSE_S
        with uploader:
            assert wait_until(lambda: outbox.get("P-1").attempts == 0)  # resting
            centre.start()  # the centre is back
            try:
                assert wait_until(lambda: outbox.get("P-1").delivered_at is not None)
            finally:
                centre.close()
        assert uploader.delivery.link.failures == 0
        assert outbox.get("P-1").attempts == 1  # one upload, right after the probe


def test_retry_delivery_ends_the_pause(centre, sealer, outbox):
    outbox.enqueue(sealer("W-1", 1))  # waiting behind the pause
    outbox.enqueue(sealer("R-1", 2))
    outbox.mark_dead("R-1", "HTTP 422 UNKNOWN_STATION: before the kit was enrolled")
    uploader = Uploader(
        outbox,
        centre.url,
        trust=centre.trust,
        # a sink that is not the centre client itself (as an S3 store is): nothing probes it
        make_sink=lambda _centre: CentreClient(centre.url, trust=centre.trust),
        rng=random.Random(5),
    )
    assert uploader.delivery.probe is None
    assert _long_outage(uploader.delivery.link) > LONG_PAUSE_S
    with uploader:
        uploader.retry("R-1")
        assert wait_until(
            lambda: all(outbox.get(r).state != RecordState.SEALED for r in ("W-1", "R-1"))
        )
    assert uploader.delivery.link.failures == 0
