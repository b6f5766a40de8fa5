"""Relays for tests: each connection a listener accepts is piped, bytes unchanged, to a
socket opened for it (`pipe_connections`). Two uses:

- `relay`: 127.0.0.1 here into a lab engine's network namespace. The lab engine's TLS
  listener (and the image's published port) is on 127.0.0.1 inside its own namespace
  (nothing of it on the machine's network). A thread can enter another network namespace
  (setns applies to the calling thread only) and open a socket there; the socket keeps that
  namespace. The TLS handshake is between the dashboard and the real engine.
- `unix_relay`: a unix socket of a given mode and group in front of another unix socket
  (tests/support/image.py: a socket like systemd's podman.socket).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def connect_in_netns(netns_path: str, address: tuple[str, int]) -> socket.socket:
    out: dict[str, object] = {}

    def enter_and_connect() -> None:
        fd = os.open(netns_path, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns {netns_path}: {os.strerror(err)}")
            out["sock"] = socket.create_connection(address, timeout=5)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            out["error"] = exc
        finally:
            os.close(fd)

    t = threading.Thread(target=enter_and_connect, daemon=True)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["sock"]  # type: ignore[return-value]


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def pipe_connections(
    listener: socket.socket, connect: Callable[[], socket.socket]
) -> Iterator[None]:
    """Accept on `listener` (bound, listening) and pipe each connection to `connect()`'s
    socket, both ways, until the block ends; then close everything, the listener too."""
    listener.settimeout(0.2)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = connect()
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            conns.extend([client, upstream])
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        listener.close()
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()


def run_in_netns(netns_path: str, fn: Callable[[], T]) -> T:
    """`fn()` in a thread of its own inside the namespace (as the dashboard would be beside
    a registry the engine reaches on 127.0.0.1), its result or its exception here."""
    out: dict[str, Any] = {}

    def enter_and_run() -> None:
        fd = os.open(netns_path, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns {netns_path}: {os.strerror(err)}")
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            out["error"] = exc
        finally:
            os.close(fd)

    t = threading.Thread(target=enter_and_run, daemon=True)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


@contextlib.contextmanager
def relay(netns_path: str, target: tuple[str, int]) -> Iterator[int]:
    """Listen on 127.0.0.1:<port> (yielded) and relay each connection to `target` in the
    namespace."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    with pipe_connections(listener, lambda: connect_in_netns(netns_path, target)):
        yield port


@contextlib.contextmanager
def unix_relay(target: str, path: str, mode: int, gid: int) -> Iterator[str]:
    """A unix socket at `path` (yielded), `mode` and group `gid`, relaying to the unix
    socket `target`; `path` is removed afterwards."""

    def connect() -> socket.socket:
        upstream = socket.socket(socket.AF_UNIX)
        try:
            upstream.connect(target)
        except OSError:
            upstream.close()
            raise
        return upstream

    listener = socket.socket(socket.AF_UNIX)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener.bind(path)
    os.chown(path, 0, gid)
    os.chmod(path, mode)
    listener.listen(16)
    try:
        with pipe_connections(listener, connect):
            yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
