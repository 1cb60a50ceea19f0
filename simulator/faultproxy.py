"""A seeded TCP fault proxy for bad networks between a kit and its centre.

``FaultProxy(target_host, target_port, plan, seed).start()`` listens on loopback and forwards
every accepted connection to the target. For each connection a seeded random draw decides its
fate from the :class:`FaultPlan`:

- ``delay``: every forwarded chunk waits ``delay_s`` first (latency);
- ``cut``: the connection is closed after ``cut_after_bytes`` (drawn per connection) have gone
  from the client to the target (the link dies mid-record);
- ``reset``: the connection is reset (RST) as soon as it is accepted;
- ``blackhole``: bytes are read and dropped, nothing is answered until the client gives up.

A bandwidth cap (``bytes_per_second``) applies to the whole link in both directions, like a slow
uplink that every connection shares. The same seed and the same sequence of connections give the
same faults. ``target`` may be changed while running (a restarted centre on another port).
"""

from __future__ import annotations

import contextlib
import logging
import random
import selectors
import socket
import struct
import threading
from dataclasses import dataclass, field

from uploader.throttle import RateLimiter

log = logging.getLogger(__name__)

_CHUNK = 16 * 1024


@dataclass
class FaultPlan:
    """Probabilities (0..1) of each fault per connection, and the link's properties."""

    cut: float = 0.0
    reset: float = 0.0
    blackhole: float = 0.0
    delay: float = 0.0
    delay_s: float = 0.05
    cut_after_bytes: tuple[int, int] = (1024, 256 * 1024)  # drawn uniformly per cut connection
    bytes_per_second: float | None = None

    def __post_init__(self) -> None:
        total = self.cut + self.reset + self.blackhole
        if not 0.0 <= total <= 1.0 or not 0.0 <= self.delay <= 1.0:
            raise ValueError("fault probabilities must lie in 0..1 (cut + reset + blackhole <= 1)")


@dataclass
class ProxyCounters:
    """What the proxy did: connections by fate, bytes each way."""

    connections: int = 0
    cut: int = 0
    reset: int = 0
    blackhole: int = 0
    delayed: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)


@dataclass(frozen=True)
class _Fate:
    kind: str  # "pass", "cut", "reset", "blackhole"
    delay_s: float
    cut_after: int


class FaultProxy:
    """A loopback TCP proxy that injects seeded faults. ``stop()`` closes every connection."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        plan: FaultPlan | None = None,
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        scheme: str = "https",
    ) -> None:
        """``scheme`` names what the target speaks, for :attr:`url` (the proxy relays bytes:
        TLS passes through it end to end)."""
        self.scheme = scheme
        self.target = (target_host, target_port)
        self.plan = plan or FaultPlan()
        self.counters = ProxyCounters()
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._limiter = RateLimiter(self.plan.bytes_per_second)
        self._stop = threading.Event()
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.1)
        self.host, self.port = self._listener.getsockname()[:2]
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accept_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def set_plan(self, plan: FaultPlan) -> None:
        """Change the faults for connections accepted from now on."""
        self.plan = plan
        self._limiter = RateLimiter(plan.bytes_per_second)

    def start(self) -> FaultProxy:
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="rekam-faultproxy", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._accept_thread is not None:
            self._accept_thread.join(5)
        self._listener.close()
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------

    def _draw(self) -> _Fate:
        plan = self.plan
        with self._rng_lock:
            roll = self._rng.random()
            delayed = self._rng.random() < plan.delay
            low, high = plan.cut_after_bytes
            cut_after = self._rng.randint(low, max(low, high))
        kind = "pass"
        if roll < plan.cut:
            kind = "cut"
        elif roll < plan.cut + plan.reset:
            kind = "reset"
        elif roll < plan.cut + plan.reset + plan.blackhole:
            kind = "blackhole"
        return _Fate(kind, plan.delay_s if delayed else 0.0, cut_after)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            fate = self._draw()
            self.counters.add("connections")
            if fate.kind != "pass":
                self.counters.add(fate.kind)
            if fate.delay_s:
                self.counters.add("delayed")
            thread = threading.Thread(
                target=self._serve, args=(client, fate), name="rekam-faultproxy-conn", daemon=True
            )
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
                self._sockets.add(client)
            thread.start()

    def _serve(self, client: socket.socket, fate: _Fate) -> None:
        upstream: socket.socket | None = None
        try:
            if fate.kind == "reset":
                _reset(client)
                return
            if fate.kind == "blackhole":
                self._swallow(client)
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                return
            with self._lock:
                self._sockets.add(upstream)
            self._pump(client, upstream, fate)
        finally:
            with self._lock:
                self._sockets.discard(client)
                if upstream is not None:
                    self._sockets.discard(upstream)
            _close(client)
            if upstream is not None:
                _close(upstream)

    def _swallow(self, client: socket.socket) -> None:
        client.settimeout(0.2)
        while not self._stop.is_set():
            try:
                if not client.recv(_CHUNK):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def _pump(self, client: socket.socket, upstream: socket.socket, fate: _Fate) -> None:
        """Copy both ways until either side closes, applying delay, cap and cut. Each piece is
        forwarded as it comes (no Nagle coalescing, as a router forwards packets): otherwise a
        TLS handshake's small flights wait on the far side's delayed ACK."""
        try:
            for end in (client, upstream):
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                end.setblocking(False)
        except OSError:  # the proxy was stopped (the link cut) as this connection came in
            return
        peer = {client: upstream, upstream: client}
        sent_up = 0
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ)
            selector.register(upstream, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _events in selector.select(timeout=0.1):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = source.recv(_CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    up = source is client
                    if up and fate.kind == "cut" and sent_up + len(data) >= fate.cut_after:
                        data = data[: max(0, fate.cut_after - sent_up)]
                        self._forward(peer[source], data, fate)
                        self.counters.add("bytes_up", len(data))
                        _reset(client)
                        return
                    if not self._forward(peer[source], data, fate):
                        return
                    if up:
                        sent_up += len(data)
                    self.counters.add("bytes_up" if up else "bytes_down", len(data))

    def _forward(self, target: socket.socket, data: bytes, fate: _Fate) -> bool:
        if not data:
            return True
        if fate.delay_s and self._stop.wait(fate.delay_s):
            return False
        view = memoryview(data)
        while view:
            piece = view[:4096]
            if not self._limiter.take(len(piece), self._stop):
                return False
            try:
                target.setblocking(True)
                target.settimeout(5)
                target.sendall(piece)
                target.setblocking(False)
            except OSError:
                return False
            view = view[len(piece) :]
        return True


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0 so the peer sees a connection reset."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
