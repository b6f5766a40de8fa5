"""The stacks directory: the compose projects (and swarm stacks) the dashboard deploys.

Layout: `<DASHBOARD_STACKS_DIR>/<host>/<project>/compose.yaml` and `.env`, plain files the
compose CLI can use too; swarm stacks under `<host>/_swarm/<stack>/` (a compose project name
cannot start with `_`, so the two never clash). Folders are 0700 and files 0600: a compose
file often holds passwords. Files are written only after `check_files` passed, by atomic
replace, so compose never sees half a file; one run per project at a time (`project_lock`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from django.conf import settings

from engine_client.compose_files import COMPOSE_FILE, ENV_FILE, FileProblem, check_files
from engine_client.errors import InvalidArgument
from engine_client.validators import check_project_name

from .engines import HOST_NAME_RE

SWARM_FOLDER = "_swarm"


class ProjectBusy(Exception):
    """Another run (in this process or another) holds the project's lock."""


class FilesRefused(Exception):
    """The files did not pass `check_files`; nothing was written."""

    def __init__(self, problems: list[FileProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def stacks_dir() -> Path:
    return Path(settings.STACKS_DIR)


def host_folder(host_name: str) -> Path:
    if not re.fullmatch(HOST_NAME_RE, host_name):
        raise InvalidArgument(f"not a host name: {host_name!r}")
    return stacks_dir() / host_name


def project_folder(
    host_name: str, name: str, kind: Literal["compose", "swarm"] = "compose"
) -> Path:
    """The folder of project (or swarm stack) `name` on host `host_name` (not created).

    Refused: a name compose would refuse, and any folder that resolves (symlinks followed)
    outside the stacks directory."""
    check_project_name(name)
    parent = host_folder(host_name)
    if kind == "swarm":
        parent = parent / SWARM_FOLDER
    elif kind != "compose":
        raise InvalidArgument(f"not a kind of project: {kind!r}")
    folder = parent / name
    root = os.path.realpath(stacks_dir())
    real = os.path.realpath(folder)
    if not real.startswith(root.rstrip(os.sep) + os.sep):
        raise InvalidArgument(f"{name!r}: its folder resolves outside the stacks directory")
    return folder


def is_stored(folder: Path) -> bool:
    """Whether the project has a compose file in the stacks directory."""
    return (folder / COMPOSE_FILE).is_file()


def stored_projects(host_name: str) -> list[str]:
    """The compose projects of a host that the stacks directory holds."""
    try:
        entries = sorted(os.listdir(host_folder(host_name)))
    except OSError:
        return []
    return [
        e for e in entries if not e.startswith((".", "_")) and is_stored(host_folder(host_name) / e)
    ]


def read_files(folder: Path) -> tuple[str, str]:
    """(compose.yaml, .env) of a project; "" for a file that is not there."""

    def read(name: str) -> str:
        try:
            # A file edited by hand may hold anything: it is shown, and checked again on save.
            return (folder / name).read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    return read(COMPOSE_FILE), read(ENV_FILE)


def write_files(folder: Path, compose_text: str, env_text: str) -> None:
    """Write both files (each by atomic replace) once `check_files` finds nothing wrong;
    raises FilesRefused, writing nothing, otherwise."""
    problems = check_files(folder, compose_text, env_text)
    if problems:
        raise FilesRefused(problems)
    _make_private_dirs(folder)
    for name, text in ((COMPOSE_FILE, compose_text), (ENV_FILE, env_text)):
        _replace(folder / name, text)


def write_candidate(folder: Path, name: str, text: str) -> Path:
    """A file beside the project's own (e.g. `.compose.yaml.candidate`) for compose to read
    before the real one is replaced: relative paths in it resolve as they will."""
    if "/" in name or not name.startswith("."):
        raise ValueError(f"not a candidate file name: {name!r}")
    _make_private_dirs(folder)
    _replace(folder / name, text)
    return folder / name


def write_copied(folder: Path, relative: str, data: bytes) -> Path:
    """A file the project's compose file refers to (`env_file`, a config's `file:`),
    copied in when a CLI project is adopted: at its own relative path inside the folder,
    0600, by atomic replace. Refused (InvalidArgument) anywhere else, a folder of the
    stacks directory reached through a symlink included."""
    lexical = os.path.normpath(relative)
    if os.path.isabs(lexical) or lexical == ".." or lexical.startswith("../") or lexical == ".":
        raise InvalidArgument(f"{relative!r} is not a path inside the project folder")
    target = folder / lexical
    _make_private_dirs(target.parent)
    root, parent = os.path.realpath(folder), os.path.realpath(target.parent)
    if parent != root and not parent.startswith(root.rstrip(os.sep) + os.sep):
        raise InvalidArgument(f"{relative!r} leads outside the project folder")
    if target.is_symlink() or target.is_dir():
        raise InvalidArgument(f"{relative!r} is already a link or a folder in the stacks directory")
    _replace_bytes(target, data)
    return target


def remove_copied(folder: Path, relatives: list[str]) -> None:
    """Undo `write_copied` (an adoption that compose then refused): the files, then the
    folders they made if empty."""
    for relative in relatives:
        target = folder / os.path.normpath(relative)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        parent = target.parent
        while parent != folder and folder in parent.parents:
            with contextlib.suppress(OSError):
                parent.rmdir()
            parent = parent.parent


def remove_files(folder: Path) -> None:
    """Forget a project's files (after `down`): the two files, then the folder if empty."""
    for name in (COMPOSE_FILE, ENV_FILE):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def claim_run(folder: Path, job: str, keep_seconds: float) -> bool:
    """True the first time run `job` of the project is claimed, False ever after (within
    `keep_seconds`): a page that reconnects with an old run's link, in this process or
    another, must not run compose again. Markers are files `.<project>.runs/<job>`."""
    if not re.fullmatch(r"[0-9a-f]{16}", job):
        raise ValueError(f"not a run id: {job!r}")
    runs = folder.parent / f".{folder.name}.runs"
    _make_private_dirs(runs)
    now = time.time()
    for old in runs.iterdir():
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > keep_seconds:
                old.unlink()
    try:
        os.close(os.open(runs / job, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True


@contextlib.contextmanager
def project_lock(folder: Path) -> Iterator[None]:
    """Hold the project's run lock, or raise ProjectBusy at once when another run has it.

    An flock on a file beside the folder (`.<name>.lock`), so it works before the folder
    exists, across processes, and is let go by the kernel if the process dies."""
    _make_private_dirs(folder.parent)
    path = folder.parent / f".{folder.name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ProjectBusy(
                f"{folder.name}: another run of this project is in progress; try again when "
                "it has finished"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _make_private_dirs(folder: Path) -> None:
    root = stacks_dir()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        if not current.exists():
            current.mkdir(mode=0o700)


def _replace(path: Path, text: str) -> None:
    _replace_bytes(path, text.encode("utf-8"))


def _replace_bytes(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
