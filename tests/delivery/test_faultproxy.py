"""The seeded TCP fault proxy: pass-through, reset, cut, blackhole, bandwidth cap, determinism."""

from __future__ import annotations

import contextlib
import socket

import pytest

from simulator.faultproxy import FaultPlan, FaultProxy
from uploader.centre_client import CentreClient, CentreUnreachable


def test_passes_traffic_through_and_counts_bytes(centre):
    with FaultProxy("127.0.0.1", centre.port, FaultPlan(bytes_per_second=2_000_000)) as proxy:
        health = CentreClient(proxy.url, trust=centre.trust).health()
        assert health["status"] == "ok"
        assert proxy.counters.connections == 1
        assert proxy.counters.bytes_up > 0 and proxy.counters.bytes_down > 0


def test_reset_and_blackhole_are_network_errors(centre):
    with FaultProxy("127.0.0.1", centre.port, FaultPlan(reset=1.0)) as proxy:
        with pytest.raises(CentreUnreachable):
            CentreClient(proxy.url, trust=centre.trust).health()
        assert proxy.counters.reset == 1
    with FaultProxy("127.0.0.1", centre.port, FaultPlan(blackhole=1.0)) as proxy:
        with pytest.raises(CentreUnreachable):
            CentreClient(proxy.url, trust=centre.trust, timeout=0.5).health()
        assert proxy.counters.blackhole == 1


def test_cut_after_n_bytes_delivers_exactly_n():
    received = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as sink:
        port = sink.getsockname()[1]
        plan = FaultPlan(cut=1.0, cut_after_bytes=(1000, 1000))
        with (
            FaultProxy("127.0.0.1", port, plan) as proxy,
            socket.create_connection((proxy.host, proxy.port), timeout=5) as client,
        ):
            with contextlib.suppress(OSError):
                client.sendall(b"x" * 5000)
            server_side, _ = sink.accept()
            with server_side:
                server_side.settimeout(5)
                for _ in range(100):
                    chunk = server_side.recv(4096)
                    if not chunk:
                        break
                    received.extend(chunk)
        assert proxy.counters.cut == 1
    assert len(received) == 1000


def test_same_seed_same_faults(centre):
    plan = FaultPlan(cut=0.3, reset=0.3, delay=0.5, delay_s=0.0)
    fates = []
    for _ in range(2):
        with FaultProxy("127.0.0.1", centre.port, plan, seed=42) as proxy:
            fates.append([proxy._draw() for _ in range(50)])
    assert fates[0] == fates[1]
    kinds = {fate.kind for fate in fates[0]}
    assert {"cut", "reset", "pass"} <= kinds


def test_plan_validation():
    with pytest.raises(ValueError):
        FaultPlan(cut=0.7, reset=0.5)
