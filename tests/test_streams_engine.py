"""The engine client's streams against the real lab engine."""

import threading
import time

import pytest

pytestmark = pytest.mark.engine


def wait_exited(engine, cid, timeout=20):
    deadline = time.monotonic() + timeout
    while engine.containers.inspect(cid)["State"]["Running"]:
        assert time.monotonic() < deadline, "container did not exit"
        time.sleep(0.1)


def test_a_container_printing_known_lines_is_followed_to_the_end(engine, make_container):
    c = make_container(["sh", "-c", "sleep 0.5; seq 1 3000; echo oops >&2"])
    with engine.containers.logs(c["Id"], follow=True, timestamps=True) as stream:
        lines = list(stream.lines())
    out = [line.text for line in lines if line.stream == "stdout"]
    assert out == [str(i) for i in range(1, 3001)]
    assert [line.text for line in lines if line.stream == "stderr"] == ["oops"]
    assert all(line.timestamp.endswith("Z") for line in lines)


def test_a_tty_container_is_read_raw(engine, make_container):
    c = make_container(["sh", "-c", "echo one; echo two >&2; printf 'no newline'"], Tty=True)
    wait_exited(engine, c["Id"])
    with engine.containers.logs(c["Id"]) as stream:
        assert stream.tty is True
        lines = list(stream.lines())
    # A TTY merges stdout and stderr into one raw stream.
    assert [line.text for line in lines] == ["one", "two", "no newline"]
    assert {line.stream for line in lines} == {"stdout"}


def test_tail_and_since_limit_what_is_read(engine, make_container):
    c = make_container(["sh", "-c", "seq 1 50"])
    wait_exited(engine, c["Id"])
    with engine.containers.logs(c["Id"], tail=5) as stream:
        assert [line.text for line in stream.lines()] == ["46", "47", "48", "49", "50"]
    with engine.containers.logs(c["Id"], since=time.time() + 3600) as stream:
        assert list(stream.lines()) == []


def test_a_followed_stream_closes_promptly_from_another_thread(engine, make_container):
    c = make_container(["sh", "-c", "while true; do echo tick; sleep 5; done"])
    stream = engine.containers.logs(c["Id"], follow=True)
    got = []
    reader = threading.Thread(target=lambda: got.extend(stream.lines()))
    reader.start()
    time.sleep(0.5)
    started = time.monotonic()
    stream.close()
    reader.join(timeout=5)
    assert not reader.is_alive(), "the reading thread is still blocked"
    assert time.monotonic() - started < 1.0
    assert [line.text for line in got] == ["tick"]


def test_events_show_a_container_starting(engine, make_container):
    since = f"{time.time():.9f}"
    c = make_container()
    stream = engine.system.events(since=since, filters={"container": [c["Id"]]})
    threading.Timer(3, stream.close).start()
    actions = []
    for ev in stream.objects():
        actions.append(ev["Action"])
        if ev["Action"] == "start":
            stream.close()
    assert actions[:2] == ["create", "start"]


def test_stats_stream_gives_numbers_the_cli_would(engine, make_container):
    from engine_client.stats import stats_summary

    c = make_container(["sh", "-c", "while true; do :; done"])
    with engine.containers.stats(c["Id"]) as stream:
        docs = []
        for doc in stream.objects():
            docs.append(doc)
            if len(docs) == 3:
                break
    s = stats_summary(docs[-1])
    assert s["cpu_percent"] > 20, "a busy loop uses a good part of a CPU"
    assert 0 < s["mem_used"] <= s["mem_limit"]
    once = engine.containers.stats_once(c["Id"])
    assert once["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    # Named as Docker names it (Podman leaves out the "/").
    assert docs[-1]["name"] == once["name"] == c["Name"]
