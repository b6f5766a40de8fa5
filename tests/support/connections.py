"""Counting a process's connections to an engine's unix socket from outside the process.

The engine's side of each accepted connection names the socket's path and its peer's inode
(`ss -xn`, seen from the client's network namespace, where an accepted unix socket lives);
the client's side is one of its fds (/proc/<pid>/fd -> socket:[inode]). A connection is
*streaming* when, in one of several looks, a thread of the process was blocked reading it
(/proc/<pid>/task/*/syscall) or engine data was waiting in it; a kept-alive pooled
connection is neither. (bench/common.py's `engine_connections` counts the same way.)
"""

from __future__ import annotations

import os
import subprocess
import time

# x86_64 syscall numbers of the blocking reads a stream reader sits in.
_READS = {0, 17, 19, 45, 47, 295}  # read, pread64, readv, recvfrom, recvmsg, preadv


def engine_peers(pid: int, socket_path: str) -> tuple[set[int], dict[int, int]]:
    cmd = ["ss", "-xnH"]
    if os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net"):
        cmd = ["nsenter", f"--net=/proc/{pid}/ns/net", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    peers: set[int] = set()
    recvq: dict[int, int] = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 8 or not f[5].isdigit():
            continue
        recvq[int(f[5])] = int(f[2]) if f[2].isdigit() else 0
        if f[4] == socket_path and f[7].isdigit() and f[7] != "0":
            peers.add(int(f[7]))
    return peers, recvq


def socket_fds(pid: int) -> dict[int, int]:
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out[int(fd)] = int(target[8:-1])
    return out


def reading_fds(pid: int) -> set[int]:
    out = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                parts = f.read().split()
        except OSError:
            continue
        if len(parts) >= 2 and parts[0].isdigit() and int(parts[0]) in _READS:
            out.add(int(parts[1], 16))
    return out


def engine_streams(pid: int, socket_path: str, looks: int = 12, interval: float = 0.05) -> int:
    """How many connections process `pid` holds open to the engine at `socket_path` and
    streams from (over `looks` looks `interval` seconds apart)."""
    fds: dict[int, int] = {}
    active: set[int] = set()
    for i in range(looks):
        peers, recvq = engine_peers(pid, socket_path)
        fds = {fd: ino for fd, ino in socket_fds(pid).items() if ino in peers}
        active |= reading_fds(pid) & set(fds)
        active |= {fd for fd, ino in fds.items() if recvq.get(ino, 0) > 0}
        if i + 1 < looks:
            time.sleep(interval)
    return len(active & set(fds))
