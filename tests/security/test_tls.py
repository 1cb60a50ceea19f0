"""TLS and mutual TLS on the gRPC port, and the rule that only loopback is served in the clear."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from bare_station import bare_config
from tls_material import make_tls_material

from station.auth import Role
from station.client import StationClient
from station.config import StationConfig, TlsConfig
from station.errors import error_reason
from station.server import ConfigurationError, StationDaemon, check_exposure
from station.tls import TlsSetupError, channel_credentials
from station.v1 import devices_pb2, devices_pb2_grpc


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    return make_tls_material(tmp_path_factory.mktemp("tls"))


def _list_devices(channel: grpc.Channel, token: str) -> devices_pb2.ListDevicesResponse:
    stub = devices_pb2_grpc.DevicesStub(channel)
    return stub.ListDevices(
        devices_pb2.ListDevicesRequest(),
        metadata=[("authorization", f"Bearer {token}")],
        timeout=10,
    )


def _tls(material, client_ca: bool) -> TlsConfig:
    return TlsConfig(
        cert=material.write("server.pem", material.server.cert),
        key=material.write("server.key", material.server.key),
        client_ca=material.write("ca.pem", material.ca.cert) if client_ca else "",
    )


def test_non_loopback_listen_without_tls_is_refused(tmp_path):
    config = bare_config(tmp_path, listen="192.0.2.10:50051")
    with pytest.raises(ConfigurationError, match="without TLS"):
        StationDaemon(config)


@pytest.mark.parametrize("listen", ["0.0.0.0:50051", "[2001:db8::1]:50051", "kit.example:50051"])
def test_non_loopback_listen_is_allowed_with_tls(listen):
    config = StationConfig(listen=listen, tls=TlsConfig(cert="c.pem", key="k.pem"))
    check_exposure(config)  # no error: the address is served only over TLS
    with pytest.raises(ConfigurationError, match="cert and key"):
        check_exposure(StationConfig(listen=listen, tls=TlsConfig(cert="c.pem")))


def test_metrics_endpoint_must_stay_on_loopback():
    with pytest.raises(ConfigurationError, match="loopback"):
        check_exposure(StationConfig(metrics_listen="0.0.0.0:9464"))
    with pytest.raises(ConfigurationError, match="loopback"):
        check_exposure(StationConfig(metrics_listen="127.0.0.1"))
    check_exposure(StationConfig(metrics_listen="127.0.0.1:9464"))


def test_tls_serves_a_client_that_trusts_the_ca_and_not_a_plaintext_one(bare_daemon, material):
    daemon = bare_daemon("tls", tls=_tls(material, client_ca=False))
    token = daemon.tokens.add("tech-eko", Role.TECHNICIAN)
    address = f"localhost:{daemon.port}"
    with grpc.secure_channel(address, channel_credentials(material.ca.cert)) as channel:
        assert list(_list_devices(channel, token).devices) == []
    client = StationClient(address, token, root_certificates=material.ca.cert)
    assert list(_list_devices(client.channel, token).devices) == []
    client.close()
    with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as caught:
        _list_devices(channel, token)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    # A client that does not trust the station's CA does not talk to it.
    stranger = channel_credentials(material.stranger_client.cert)
    with grpc.secure_channel(address, stranger) as channel, pytest.raises(grpc.RpcError) as c2:
        _list_devices(channel, token)
    assert c2.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_client_without_a_certificate_from_the_ca(bare_daemon, material):
    daemon = bare_daemon("mtls", tls=_tls(material, client_ca=True))
    token = daemon.tokens.add("tech-eko", Role.TECHNICIAN)
    address = f"127.0.0.1:{daemon.port}"
    options = [("grpc.ssl_target_name_override", "localhost")]
    with_cert = channel_credentials(material.ca.cert, material.client.cert, material.client.key)
    with grpc.secure_channel(address, with_cert, options) as channel:
        assert list(_list_devices(channel, token).devices) == []
    for credentials in (
        channel_credentials(material.ca.cert),
        channel_credentials(
            material.ca.cert, material.stranger_client.cert, material.stranger_client.key
        ),
    ):
        with grpc.secure_channel(address, credentials, options) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                _list_devices(channel, token)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    # A certificate is not a token: mutual TLS still needs an operator's token.
    with (
        grpc.secure_channel(address, with_cert, options) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        _list_devices(channel, "")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(caught.value) == "UNAUTHENTICATED"


def test_unreadable_tls_files_are_reported(tmp_path, material):
    config = bare_config(
        tmp_path,
        tls=TlsConfig(cert=str(tmp_path / "missing.pem"), key=str(tmp_path / "missing.key")),
    )
    daemon = StationDaemon(config)
    try:
        with pytest.raises(TlsSetupError, match="cannot read"):
            daemon.start()
    finally:
        daemon.stop(grace=0.1)


def test_tls_section_is_read_from_the_configuration_file():
    config = StationConfig.from_mapping(
        {
            "station": {
                "listen": "10.0.0.5:50051",
                "metrics_listen": "127.0.0.1:9464",
                "tls": {
                    "cert": "/etc/rekam/kit.pem",
                    "key": "/etc/rekam/kit.key",
                    "client_ca": "/etc/rekam/apps-ca.pem",
                },
            }
        }
    )
    assert config.tls == TlsConfig(
        Path("/etc/rekam/kit.pem"), Path("/etc/rekam/kit.key"), Path("/etc/rekam/apps-ca.pem")
    )
    assert config.metrics_listen == "127.0.0.1:9464"
    with pytest.raises(ValueError):
        StationConfig.from_mapping({"station": {"tls": {"certificate": "x"}}})
