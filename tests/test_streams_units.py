"""Stream parsers on arbitrary chunk boundaries, the stats maths, the log renderer."""

import json
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.streams.render import ansi_to_html, render_line
from engine_client.framing import FrameDemuxer, JSONStreamDecoder, LineSplitter
from engine_client.stats import cpu_percent, memory_used, stats_summary
from engine_client.streams import LogLine, after, timestamp_to_unix


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(payload)) + payload


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


frames_strategy = st.lists(
    st.tuples(st.sampled_from([1, 2]), st.binary(min_size=0, max_size=40)), max_size=12
)


@settings(max_examples=300, deadline=None)
@given(frames_strategy, st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_frames_survive_any_split(frames, cuts):
    data = b"".join(frame(k, p) for k, p in frames)
    demux = FrameDemuxer()
    got = []
    for piece in split_at(data, cuts):
        got.extend(demux.feed(piece))
    assert got == [(k, p) for k, p in frames]
    assert demux.pending == 0


def test_frames_split_at_every_single_byte_boundary():
    frames = [(1, b"hello\n"), (2, b"oops\n"), (1, b""), (1, b"x" * 300)]
    data = b"".join(frame(k, p) for k, p in frames)
    for cut in range(len(data) + 1):
        demux = FrameDemuxer()
        assert demux.feed(data[:cut]) + demux.feed(data[cut:]) == frames


def test_a_malformed_frame_header_is_an_error():
    import pytest

    from engine_client import EngineError

    with pytest.raises(EngineError):
        FrameDemuxer().feed(b"\x07\x00\x00\x00\x00\x00\x00\x01x")


line_text = st.text(
    alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=20
)


@given(
    st.lists(line_text, max_size=10), st.lists(st.integers(min_value=0, max_value=500), max_size=10)
)
def test_lines_survive_any_split(lines, cuts):
    data = "".join(line + "\n" for line in lines).encode()
    splitter = LineSplitter()
    got = []
    for piece in split_at(data, cuts):
        got.extend(splitter.feed(piece))
    assert [g.decode() for g in got] == lines
    assert splitter.flush() is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(json_values, max_size=8),
    st.sampled_from(["\n", "", "\r\n", "\x1e"]),
    st.lists(st.integers(min_value=0, max_value=2000), max_size=15),
)
def test_json_documents_survive_any_split(docs, sep, cuts):
    # Scalars need a separator to be told apart; objects and arrays do not.
    if sep == "":
        docs = [{"v": d} for d in docs]
    data = "".join(json.dumps(d, ensure_ascii=False) + sep for d in docs).encode()
    decoder = JSONStreamDecoder()
    got = []
    for piece in split_at(data, cuts):
        got.extend(decoder.feed(piece))
    assert got == docs


def test_json_split_inside_a_multibyte_character():
    data = json.dumps({"msg": "héllo ✓"}, ensure_ascii=False).encode() + b"\n"
    for cut in range(len(data) + 1):
        decoder = JSONStreamDecoder()
        assert decoder.feed(data[:cut]) + decoder.feed(data[cut:]) == [{"msg": "héllo ✓"}]


def test_cpu_percent_as_the_cli_computes_it():
    cpu = {"cpu_usage": {"total_usage": 400}, "system_cpu_usage": 2000, "online_cpus": 2}
    pre = {"cpu_usage": {"total_usage": 200}, "system_cpu_usage": 1000}
    assert cpu_percent(cpu, pre) == 200 / 1000 * 2 * 100
    # cgroup v1 without online_cpus: the per-CPU list counts.
    cpu_v1 = {
        "cpu_usage": {"total_usage": 400, "percpu_usage": [1, 2, 3, 4]},
        "system_cpu_usage": 2000,
    }
    assert cpu_percent(cpu_v1, pre) == 200 / 1000 * 4 * 100
    # The first streamed sample has a zero precpu: no rate yet.
    assert cpu_percent(cpu, {}) == 0.0
    assert cpu_percent(cpu, {"cpu_usage": {"total_usage": 500}, "system_cpu_usage": 1000}) == 0.0


def test_memory_minus_inactive_file_on_cgroup_v1_and_v2():
    assert memory_used({"usage": 1000, "stats": {"total_inactive_file": 300}}) == 700
    assert memory_used({"usage": 1000, "stats": {"inactive_file": 400}}) == 600
    assert memory_used({"usage": 1000, "stats": {"inactive_file": 5000}}) == 1000
    assert memory_used({"usage": 1000, "stats": {}}) == 1000


def test_network_and_block_io_are_summed():
    doc = {
        "memory_stats": {"usage": 10, "limit": 100},
        "networks": {
            "eth0": {"rx_bytes": 5, "tx_bytes": 7},
            "eth1": {"rx_bytes": 1, "tx_bytes": 2},
        },
        "blkio_stats": {
            "io_service_bytes_recursive": [
                {"op": "Read", "value": 10},
                {"op": "Write", "value": 20},
                {"op": "read", "value": 1},
                {"op": "write", "value": 2},
                {"op": "Total", "value": 33},
            ]
        },
        "pids_stats": {"current": 3},
    }
    s = stats_summary(doc)
    assert (s["net_rx"], s["net_tx"], s["blk_read"], s["blk_write"]) == (6, 9, 11, 22)
    assert s["mem_percent"] == 10.0 and s["pids"] == 3


def test_engine_timestamps_become_since_values_to_the_nanosecond():
    assert timestamp_to_unix("1970-01-01T00:00:10.000000001Z") == "10.000000001"
    assert timestamp_to_unix("1970-01-01T01:00:10.5+01:00") == "10.500000000"
    assert timestamp_to_unix("not a time") is None
    assert after("10.999999999") == "11.000000000"


def test_log_lines_are_escaped_and_coloured():
    html = render_line(LogLine("stdout", "\x1b[31m<script>alert(1)</script>\x1b[0m & done"))
    assert "<script>" not in html
    assert '<span class="f1">&lt;script&gt;alert(1)&lt;/script&gt;</span> &amp; done' in html
    assert 'class="l e"' in render_line(LogLine("stderr", "x"))
    assert ansi_to_html("\x1b[2K\x1b[1Gplain") == "plain"


def test_json_log_lines_are_shown_as_pairs_and_still_escaped():
    html = render_line(LogLine("stdout", '{"level":"warn","msg":"<b>hi</b>","n":2}'))
    assert 'class="l o j"' in html
    assert '<span class="jk">msg</span>=<span class="jv">&lt;b&gt;hi&lt;/b&gt;</span>' in html
    assert "l o j" not in render_line(LogLine("stdout", "{not json}"))


def chunked(payloads: list[bytes]) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in payloads if p)
    return body + b"0\r\n\r\n"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=300), max_size=10),
    st.lists(st.integers(min_value=0, max_value=5000), max_size=20),
)
def test_chunked_encoding_survives_any_split(payloads, cuts):
    from engine_client.framing import ChunkedDecoder

    decoder = ChunkedDecoder()
    got = b"".join(decoder.feed(piece) for piece in split_at(chunked(payloads), cuts))
    assert got == b"".join(payloads)
    assert decoder.done


def test_chunk_extensions_are_ignored_and_garbage_refused():
    import pytest

    from engine_client import EngineError
    from engine_client.framing import ChunkedDecoder

    assert ChunkedDecoder().feed(b"3;name=v\r\nabc\r\n0\r\n\r\n") == b"abc"
    with pytest.raises(EngineError):
        ChunkedDecoder().feed(b"zz\r\nabc\r\n")


def test_the_events_source_keeps_changed_rows_only_as_long_as_a_joining_page_needs_them(
    monkeypatch,
):
    from dashboard.streams import sources

    source = sources.EventsSource(client=None)  # type: ignore[arg-type]
    clock = [1000.0]
    monkeypatch.setattr(sources.time, "time", lambda: clock[0])
    for i in range(5000):  # containers that came and went, one a second
        clock[0] += 1
        source.remember([("events", [{"Type": "container", "id": f"c{i}"}], {f"c{i}": {"Id": i}})])
    assert len(source.rows) <= sources.ROWS_KEEP_SECONDS + 1
    (replay,) = source.replay()
    assert f"c{4999}" in replay["recent_rows"] and "c0" not in replay["recent_rows"]
    assert len(replay["events"]) == 200
