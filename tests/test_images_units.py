"""Image references, progress folding, registry auth, disk usage and prune plans: the parts of
the client that need no engine."""

from __future__ import annotations

import base64
import json

import pytest

from engine_client import InvalidArgument
from engine_client.images import ProgressState, registry_auth
from engine_client.prune import plan_containers, plan_images, plan_networks, plan_volumes
from engine_client.system import normalize_df
from engine_client.validators import (
    check_aliases,
    check_image,
    check_label_filter,
    check_labels,
    check_network_name,
    check_subnet,
    check_volume_name,
    normalize_registry,
    parse_reference,
)

H = "a" * 64


@pytest.mark.parametrize(
    "text, domain, path, tag, digest, registry",
    [
        ("busybox", None, "busybox", None, None, "docker.io"),
        ("lab/busybox:latest", None, "lab/busybox", "latest", None, "docker.io"),
        (
            "127.0.0.1:5000/lab/busybox:v1",
            "127.0.0.1:5000",
            "lab/busybox",
            "v1",
            None,
            "127.0.0.1:5000",
        ),
        ("localhost/app", "localhost", "app", None, None, "localhost"),
        (
            "registry.example.com/a/b/c:1.0-rc_1",
            "registry.example.com",
            "a/b/c",
            "1.0-rc_1",
            None,
            "registry.example.com",
        ),
        (f"app@sha256:{H}", None, "app", None, f"sha256:{H}", "docker.io"),
        (f"app:v1@sha256:{H}", None, "app", "v1", f"sha256:{H}", "docker.io"),
        ("[::1]:5000/x", "[::1]:5000", "x", None, None, "[::1]:5000"),
        ("a__b-c/d.e_f", None, "a__b-c/d.e_f", None, None, "docker.io"),
        ("docker.io/library/busybox", "docker.io", "library/busybox", None, None, "docker.io"),
    ],
)
def test_valid_references_parse(text, domain, path, tag, digest, registry):
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest, ref.registry) == (
        domain,
        path,
        tag,
        digest,
        registry,
    )
    assert str(ref) == text


@pytest.mark.parametrize(
    "text, says",
    [
        ("UPPER/Case", "lowercase"),
        ("Busybox", "lowercase"),
        ("a@b@c", "at most one"),
        ("x" * 5000, "too long"),
        ("a/" * 200 + "b", "longer than 255"),
        ("", "required"),
        ("   ", "required"),
        ("a b", "spaces"),
        ("a/b:", "tag"),
        ("a:-x", "tag"),
        ("a:" + "t" * 129, "tag"),
        (":tag", "missing"),
        ("a//b", "path component"),
        ("a/-b", "path component"),
        ("a___b", "path component"),
        ("a@sha256:abc", "digest"),
        ("a@md5:" + "0" * 32, "digest"),
        (H, "64 hex"),
        ("exa_mple.com:5000/x", "registry host"),
        ("host:port/x", "registry host"),
        ("a\x00b", "path component"),
    ],
)
def test_malformed_references_are_refused_with_a_reason(text, says):
    with pytest.raises(InvalidArgument) as info:
        parse_reference(text)
    assert says in str(info.value)


def test_a_digest_is_refused_where_only_a_tag_fits():
    with pytest.raises(InvalidArgument, match="only a tag"):
        parse_reference(f"a@sha256:{H}", allow_digest=False)


def test_check_image_takes_ids_and_references():
    assert check_image(f"sha256:{H}") == f"sha256:{H}"
    assert check_image("abcdef012345") == "abcdef012345"
    assert check_image("lab/busybox:latest") == "lab/busybox:latest"
    with pytest.raises(InvalidArgument):
        check_image("../../etc")


@pytest.mark.parametrize(
    "given, normal",
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("http://127.0.0.1:5001/", "127.0.0.1:5001"),
        ("Registry.Example.com:443", "registry.example.com:443"),
    ],
)
def test_registry_addresses_are_normalised(given, normal):
    assert normalize_registry(given) == normal


def test_registry_auth_is_base64url_json_with_the_server_address():
    header = registry_auth("u", "p/+?", "127.0.0.1:5001")
    assert "+" not in header and "/" not in header
    assert json.loads(base64.urlsafe_b64decode(header)) == {
        "username": "u",
        "password": "p/+?",
        "serveraddress": "127.0.0.1:5001",
    }
    hub = json.loads(base64.urlsafe_b64decode(registry_auth("u", "p", "docker.io")))
    assert hub["serveraddress"] == "https://index.docker.io/v1/"


# Lines as the 20.10 lab engine sent them for a pull of a one-new-layer image.
PULL_LINES = [
    {"status": "Pulling from exp/blob", "id": "v1"},
    {"status": "Already exists", "progressDetail": {}, "id": "cf5940e6a9a4"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "dcd76b14cafb"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 36445, "total": 3001123},
        "progress": "[>   ]  36.45kB/3.001MB",
        "id": "dcd76b14cafb",
    },
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "dcd76b14cafb"},
    {"status": "Download complete", "progressDetail": {}, "id": "dcd76b14cafb"},
    {
        "status": "Extracting",
        "progressDetail": {"current": 32768, "total": 3001123},
        "id": "dcd76b14cafb",
    },
]


def test_pull_progress_is_folded_per_layer():
    state = ProgressState()
    for line in PULL_LINES:
        state.feed(line)
    snap = state.snapshot()
    assert [(lay["id"], lay["status"]) for lay in snap["layers"]] == [
        ("cf5940e6a9a4", "Already exists"),
        ("dcd76b14cafb", "Extracting"),
    ]
    assert snap["layers"][0]["percent"] == 100
    assert snap["layers"][1]["percent"] == 1
    assert snap["messages"] == ["v1: Pulling from exp/blob"]
    assert not snap["finished"] and snap["percent"] == 50
    state.feed({"status": "Pull complete", "progressDetail": {}, "id": "dcd76b14cafb"})
    state.feed({"status": "Digest: sha256:" + "d" * 64})
    state.feed({"status": "Status: Downloaded newer image for x:v1"})
    state.finish()
    assert state.ok and state.snapshot()["percent"] == 100
    assert state.digest == "sha256:" + "d" * 64


def test_an_error_line_inside_the_stream_fails_it():
    state = ProgressState()
    for line in PULL_LINES[:4]:
        state.feed(line)
    state.feed({"errorDetail": {"message": "unknown blob"}, "error": "unknown blob"})
    state.finish()
    assert not state.ok and state.error == "unknown blob"
    # The legacy field alone (no errorDetail) counts too.
    legacy = ProgressState()
    legacy.feed({"error": "denied"})
    assert legacy.error == "denied"


def test_push_progress_keeps_the_digest_from_aux():
    state = ProgressState()
    state.feed({"status": "Preparing", "progressDetail": {}, "id": "719a529e6fac"})
    state.feed({"status": "Mounted from lab/busybox", "progressDetail": {}, "id": "af3385537f96"})
    state.feed({"status": "Pushed", "progressDetail": {}, "id": "719a529e6fac"})
    state.feed({"progressDetail": {}, "aux": {"Tag": "v1", "Digest": "sha256:" + "e" * 64}})
    state.finish()
    assert state.ok and state.digest == "sha256:" + "e" * 64
    assert all(lay["complete"] for lay in state.snapshot()["layers"])


def test_disk_usage_of_both_api_shapes_reads_the_same():
    items = {"Id": "sha256:" + H, "Size": 10, "SharedSize": 0, "Containers": 0}
    old = {
        "LayersSize": 10,
        "Images": [items],
        "Containers": [],
        "Volumes": None,
        "BuildCache": None,
    }
    new = {
        "ImagesUsage": {"TotalSize": 10, "Items": [items]},
        "ContainersUsage": {"Items": []},
        "VolumesUsage": {},
        "BuildCacheUsage": {"Items": []},
    }
    assert normalize_df(old) == normalize_df(new)
    assert normalize_df(old)["images"] == [items]
    # The 1.56 spec's spelling of the same objects.
    assert normalize_df({"ImageUsage": {"TotalSize": 10, "Items": [items]}}) == normalize_df(old)


def test_image_plans_follow_the_engines_rules():
    df = {
        "images": [
            {"Id": "used", "RepoTags": ["a:1"], "Containers": 1, "Size": 5, "SharedSize": 0},
            {"Id": "tagged", "RepoTags": ["b:1"], "Containers": 0, "Size": 7, "SharedSize": 2},
            {
                "Id": "dangling",
                "RepoTags": ["<none>:<none>"],
                "Containers": 0,
                "Size": 3,
                "SharedSize": -1,
                "Labels": {"k": "v"},
            },
            {"Id": "dangling2", "RepoTags": [], "Containers": 0, "Size": 4, "SharedSize": 0},
        ]
    }
    assert plan_images(df).keys == ["dangling", "dangling2"]
    assert plan_images(df, dangling=False).keys == ["tagged", "dangling", "dangling2"]
    assert plan_images(df, dangling=False).space == 5 + 3 + 4
    assert plan_images(df, label="k=v").keys == ["dangling"]
    assert plan_images(df, label="k=other").keys == []
    assert plan_images(df, label="k").keys == ["dangling"]


def test_container_and_volume_plans():
    df = {
        "containers": [
            {"Id": "r", "State": "running", "Names": ["/r"]},
            {"Id": "p", "State": "paused", "Names": ["/p"]},
            {"Id": "x", "State": "exited", "Names": ["/x"], "SizeRw": 12},
            {"Id": "c", "State": "created", "Names": ["/c"]},
        ],
        "volumes": [
            {"Name": "used", "Driver": "local", "UsageData": {"Size": 1, "RefCount": 1}},
            {"Name": "free", "Driver": "local", "UsageData": {"Size": 9, "RefCount": 0}},
            {"Name": "other", "Driver": "nfs", "UsageData": {"Size": -1, "RefCount": 0}},
        ],
    }
    assert plan_containers(df).keys == ["x", "c"]
    assert plan_containers(df).space == 12
    assert plan_volumes(df).keys == ["free"] and plan_volumes(df).space == 9


@pytest.mark.parametrize("bad", ["a b", "=x", "", "a" * 300])
def test_label_filters_and_labels_are_checked(bad):
    if bad:
        with pytest.raises(InvalidArgument):
            check_label_filter(bad)
    with pytest.raises(InvalidArgument):
        check_labels({bad or " ": "v"})


def test_volume_and_network_names():
    assert check_volume_name("data-1") == "data-1"
    for bad in ["x", "-x", "a/b", "a" * 200, "../x"]:
        with pytest.raises(InvalidArgument):
            check_volume_name(bad)
    assert check_network_name("n") == "n"
    for bad in ["", "-n", "a b", "a" * 200]:
        with pytest.raises(InvalidArgument):
            check_network_name(bad)


def test_subnets_gateways_and_aliases():
    assert check_subnet("10.9.0.0/24", "10.9.0.1") == {
        "Subnet": "10.9.0.0/24",
        "Gateway": "10.9.0.1",
    }
    with pytest.raises(InvalidArgument, match="not in subnet"):
        check_subnet("10.9.0.0/24", "10.8.0.1")
    with pytest.raises(InvalidArgument, match="subnet"):
        check_subnet("10.9.0.1/24")  # host bits set
    with pytest.raises(InvalidArgument, match="not an IP"):
        check_subnet("10.9.0.0/24", "gateway")
    assert check_aliases(["web", "web", "db.local"]) == ["web", "db.local"]
    with pytest.raises(InvalidArgument):
        check_aliases(["bad alias"])


def test_network_plans_keep_networks_with_running_containers_and_built_ins():
    networks = [
        {"Id": "b", "Name": "bridge"},
        {"Id": "u", "Name": "used"},
        {"Id": "f", "Name": "free", "Labels": {"k": "v"}},
        {"Id": "i", "Name": "ingress", "Ingress": True},
    ]
    running = [{"NetworkSettings": {"Networks": {"used": {"NetworkID": "u"}}}}]
    assert plan_networks(networks, running).keys == ["free"]
    assert plan_networks(networks, running, label="k=x").keys == []


MALFORMED = ["UPPER/Case", "a@b@c", "x" * 5000, "a b", "../../x", ""]


def test_malformed_names_never_leave_the_client():
    """Checked against a fake engine that records every request: none arrives."""
    from engine_client import EngineClient

    from .support.fakes import FakeEngine

    with FakeEngine("1.41") as fake:
        client = EngineClient(fake.url)
        calls = []
        for bad in MALFORMED:
            calls += [
                lambda b=bad: client.images.pull(b),
                lambda b=bad: client.images.push(b),
                lambda b=bad: client.images.tag("lab/busybox:latest", b),
                lambda b=bad: client.images.inspect(b),
                lambda b=bad: client.images.remove(b),
                lambda b=bad: client.images.export(b),
                lambda b=bad: client.volumes.create(b or "-"),
                lambda b=bad: client.volumes.remove(b),
                lambda b=bad: client.networks.create(b),
                lambda b=bad: client.networks.remove(b),
            ]
        for call in calls:
            with pytest.raises(InvalidArgument):
                call()
        client.close()
        assert fake.requests == []
