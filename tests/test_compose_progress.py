"""compose's plain pull lines read into the images page's progress model, on output captured
from the lab's compose 2.26.1 (tests/data/compose_pull/: `compose pull` and `up` against the
lab's Docker 20.10 and Podman 4.3, two services sharing a base layer, one image missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_client.compose_progress import ComposePull, feed_line, pull_message, size_of
from engine_client.images import ProgressState

DATA = Path(__file__).parent / "data" / "compose_pull"


def folded(name: str) -> tuple[ProgressState, list[str]]:
    state = ProgressState()
    others = [
        line
        for line in (DATA / name).read_text().splitlines()
        if not feed_line(state, line) and line.strip()
    ]
    state.finish()
    return state, others


def test_a_docker_pull_gives_each_layer_its_bytes_and_completion():
    state, others = folded("docker-20.10-pull.txt")
    assert others == []
    assert list(state.layers) == ["2450dcac597a", "76ed437f725a"]
    small, big = state.layers.values()
    assert small.complete and big.complete and small.status == big.status == "Pull complete"
    # The numbers of the last Extracting line, back from the CLI's decimal units.
    assert (big.current, big.total) == (3_001_000, 3_001_000)
    assert state.ok and state.percent == 100
    assert "a: Pulled" in state.messages and "c: Pulled" in state.messages
    assert "b: Skipped - Image is already being pulled by a" in state.messages


def test_a_layer_half_way_has_its_share():
    state = ProgressState()
    for line in (
        " 76ed437f725a Pulling fs layer ",
        " 76ed437f725a Downloading [" + "=" * 21 + ">" + " " * 28 + "]  1.3MB/3.001MB",
    ):
        assert feed_line(state, line)
    layer = state.layers["76ed437f725a"]
    assert (layer.status, layer.current, layer.total, layer.percent) == (
        "Downloading",
        1_300_000,
        3_001_000,
        43,
    )
    assert not layer.complete and state.percent == 43


def test_an_up_that_pulls_shows_the_pull_and_leaves_the_rest_as_lines():
    state, others = folded("docker-20.10-up.txt")
    assert all(layer.complete for layer in state.layers.values()) and len(state.layers) == 2
    assert others[0] == " Network ejcap_default  Creating"
    assert others[-1] == " Container ejcap-a-1  Started"
    assert not any("Pull" in line for line in others)


def test_a_missing_image_fails_the_pull_with_the_registrys_words():
    state, others = folded("docker-20.10-pull-missing.txt")
    assert state.error == (
        "m: manifest for 127.0.0.1:5000/ejcap/missing:v1 not found: manifest unknown: "
        "manifest unknown"
    )
    assert not state.ok
    # compose's own last word stays a plain line beside the bars.
    assert others == [
        "Error response from daemon: manifest for 127.0.0.1:5000/ejcap/missing:v1 not found: "
        "manifest unknown: manifest unknown"
    ]


def test_podmans_pull_has_layers_without_byte_counts():
    state, others = folded("podman-4.3-pull.txt")
    assert others == []
    assert state.layers["0b1e525a18cb"].complete  # Already exists
    assert state.layers["334adfdb7702"].status == "Download complete"
    assert state.ok and state.percent == 100


def test_podmans_refusal_is_a_plain_line():
    state, others = folded("podman-4.3-pull-missing.txt")
    assert others and others[-1].startswith("initializing source docker://127.0.0.1:5000/")
    assert state.error == ""  # the run's exit status says it failed


@pytest.mark.parametrize(
    "line",
    [
        " Container shop-web-1  Started",
        " Network shop_default  Created",
        "Error response from daemon: pull access denied",
        "",
        "no such service: nope",
    ],
)
def test_lines_that_are_not_a_pulls_are_left_alone(line):
    assert pull_message(line) is None


def test_a_service_named_like_a_layer_id_pulling_is_a_service():
    assert pull_message(" abcdef012345 Pulling ") == {"status": "abcdef012345: Pulling"}
    assert pull_message(" abcdef012345 Pulling fs layer ") == {
        "id": "abcdef012345",
        "status": "Pulling fs layer",
    }


def test_sizes_are_read_in_decimal_units():
    assert size_of("512B") == 512
    assert size_of("36.45kB") == 36_450
    assert size_of("1.069GB") == 1_069_000_000
    with pytest.raises(ValueError):
        size_of("12 parsecs")


def run_of(name: str, succeeded: bool) -> ComposePull:
    pull = ComposePull()
    for line in (DATA / name).read_text().splitlines():
        pull.feed(line)
    pull.finish(succeeded)
    return pull


def test_a_failed_run_still_pulling_failed_its_pull_in_the_engines_words():
    pull = run_of("podman-4.3-pull-missing.txt", succeeded=False)
    assert pull.state.error.startswith("initializing source docker://127.0.0.1:5000/ejcap/missing")
    # A failed run whose pulls all finished (an up whose container would not start): the
    # pull itself is done.
    pull = run_of("docker-20.10-up.txt", succeeded=False)
    assert pull.state.ok and pull.pending == set()
    assert run_of("podman-4.3-pull.txt", succeeded=True).state.ok
