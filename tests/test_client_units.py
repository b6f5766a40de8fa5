"""The client's pure parts: URL building, query encoding, transports and TLS settings."""

import pytest

from engine_client import EngineClient, InvalidArgument, TLSConfig
from engine_client.client import encode_filters, encode_query


def pinned(url="unix:///run/dl/x.sock"):
    return EngineClient(url, api_version="1.41")


def test_every_path_parameter_is_quoted_as_one_segment():
    c = pinned()
    assert c.path("/containers/{}/json", "a b?c#d") == "/v1.41/containers/a%20b%3Fc%23d/json"


@pytest.mark.parametrize("bad", ["", None, 5, "..", ".", "../x", "a/../b", "a/."])
def test_it_refuses_empty_or_non_string_path_parameters(bad):
    with pytest.raises(InvalidArgument):
        pinned().path("/containers/{}/json", bad)


def test_it_refuses_a_wrong_number_of_path_parameters():
    with pytest.raises(InvalidArgument):
        pinned().path("/containers/{}/json")


def test_query_encoding_follows_engine_conventions():
    q = encode_query({"all": True, "size": False, "limit": None, "filters": {"label": ["a=b"]}})
    assert q == {"all": "1", "size": "0", "filters": '{"label":["a=b"]}'}


def test_filters_accept_single_values_and_drop_empty_ones():
    assert encode_filters({"status": "running", "label": []}) == {"status": ["running"]}
    assert encode_filters({}) is None


@pytest.mark.parametrize(
    "url, shown",
    [
        ("unix:///var/run/docker.sock", "unix:///var/run/docker.sock"),
        ("tcp://10.0.0.5:2375", "tcp://10.0.0.5:2375"),
        ("tcp://engine.example", "tcp://engine.example:2375"),
    ],
)
def test_it_understands_engine_urls(url, shown):
    assert EngineClient(url).url == shown


@pytest.mark.parametrize(
    "url", ["ftp://x", "unix://relative.sock", "tcp://", "/var/run/docker.sock"]
)
def test_it_refuses_unsupported_urls(url):
    with pytest.raises(InvalidArgument):
        EngineClient(url)


def test_tls_settings_follow_the_docker_cli_conventions(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
    tls = TLSConfig.from_env(env)
    assert tls == TLSConfig(
        str(tmp_path / "ca.pem"), str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"), True
    )
    client = EngineClient("tcp://10.0.0.5:2376", tls=tls)
    session = client._transport.session
    assert client._transport.base_url == "https://10.0.0.5:2376"
    assert session.verify == str(tmp_path / "ca.pem")
    assert session.cert == (str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))


def test_no_tls_without_the_variables():
    assert TLSConfig.from_env({"DOCKER_CERT_PATH": "/x"}) is None
    assert TLSConfig.from_env({"DOCKER_TLS_VERIFY": "0"}) is None


def test_tls_without_verification_when_only_docker_tls_is_set(tmp_path):
    tls = TLSConfig.from_env({"DOCKER_TLS": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert tls is not None and tls.verify is False
    assert EngineClient("tcp://h:2376", tls=tls)._transport.session.verify is False
