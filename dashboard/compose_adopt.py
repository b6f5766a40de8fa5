"""Adopting a project the compose CLI made: its compose file, the `.env` beside it and the
small files the compose file refers to, copied into the stacks directory.

The compose file is found by the project's labels (`config_files`, `working_dir`) and must be
readable on the dashboard's machine. Before anything is copied it passes the same checks as
an edited one (`compose_files.check_files`, relative to its own folder: nothing outside it,
no symlink out). Then the files it names that a project needs to come up — `env_file`s and
configs' and secrets' `file:` — are copied to the same relative paths in the project's folder;
build contexts (a whole tree, often with its own `.git`) and included or extended files (they
name files of their own) are not, and the result says so, line by line. Then `compose config`
reads the lot in its new place (`compose_runs.save`), or nothing stays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine_client.compose_files import (
    COMPOSE_FILE,
    ENV_FILE,
    MAX_COMPOSE_BYTES,
    FileProblem,
    check_files,
    referenced_files,
)

from .compose_runs import SaveResult, save
from .engines import Host

# A copied file is a small text: an env file, a config, a certificate.
MAX_COPY_BYTES = 1024 * 1024
MAX_COPY_TOTAL = 8 * 1024 * 1024


@dataclass
class Copies:
    """What adopting takes along: relative path -> content, what it leaves behind (notes),
    and what stops it (problems)."""

    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


def plan_copies(own_folder: Path, compose_text: str) -> Copies:
    """The files of a compose file (that passed `check_files` in `own_folder`) to copy."""
    copies = Copies()
    total = 0
    for ref in referenced_files(own_folder, compose_text):
        where = f"{ref.what} {ref.value!r}"
        if ref.path is None:
            continue  # check_files refused it already
        if not ref.copy:
            kind = (
                "a build context is a whole folder"
                if "build" in ref.what
                else ("it may name files of its own")
            )
            copies.notes.append(
                f"{COMPOSE_FILE}, line {ref.line}: {where} was not copied ({kind}): until it "
                "is put at that path in the project's folder in the stacks directory, it is "
                "missing there"
            )
            continue
        relative = os.path.normpath(ref.value)
        if relative in copies.files:
            continue
        try:
            size = os.stat(ref.path).st_size
            if ref.path.is_dir():
                raise IsADirectoryError(f"{where} is a folder, not a file")
            if size > MAX_COPY_BYTES:
                raise ValueError(f"{where} is {size} bytes; at most {MAX_COPY_BYTES} are copied")
            if total + size > MAX_COPY_TOTAL:
                raise ValueError(f"the files to copy are over {MAX_COPY_TOTAL} bytes together")
            with open(ref.path, "rb") as f:
                data = f.read(MAX_COPY_BYTES + 1)
        except FileNotFoundError:
            if not ref.required:
                copies.notes.append(
                    f"{COMPOSE_FILE}, line {ref.line}: {where} is not there (not required): "
                    "nothing copied"
                )
                continue
            copies.problems.append(
                FileProblem(COMPOSE_FILE, ref.line, f"{where} is not there to copy")
            )
            continue
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            copies.problems.append(FileProblem(COMPOSE_FILE, ref.line, f"{reason}"))
            continue
        total += len(data)
        copies.files[relative] = data
    return copies


def adopt(host: Host, project: str, config_files: list[str], working_dir: str) -> SaveResult:
    """Copy a CLI project's compose file, the .env beside it and the files it refers to into
    the stacks directory, once they pass the same checks relative to their own folder, and
    compose reads them in their new one. Refused, saying why, when a file is not there to
    read or fails; what is left behind is in the result's notes."""

    def refused(message: str) -> SaveResult:
        return SaveResult([FileProblem(COMPOSE_FILE, None, message)])

    if len(config_files) != 1:
        return refused(
            f"{project} was made from {len(config_files)} compose files "
            f"({', '.join(config_files) or 'none named'}); only a project made from one can "
            "be adopted"
        )
    source = Path(config_files[0])
    if not source.is_absolute():
        return refused(f"its compose file {source} is not an absolute path")
    own_folder = Path(working_dir) if working_dir else source.parent
    try:
        compose_text = _read_limited(source)
        env_path = own_folder / ENV_FILE
        env_text = _read_limited(env_path) if env_path.is_file() else ""
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return refused(f"{source} cannot be read on the dashboard's machine: {reason}")
    problems = check_files(own_folder, compose_text, env_text)
    if problems:
        return SaveResult(problems)
    copies = plan_copies(own_folder, compose_text)
    if copies.problems:
        return SaveResult(copies.problems)
    result = save(host, project, compose_text, env_text, new=True, copied=copies.files)
    if result.ok:
        result.notes = copies.notes
    return result


def _read_limited(path: Path) -> str:
    with open(path, "rb") as f:
        data = f.read(MAX_COMPOSE_BYTES + 1)
    if len(data) > MAX_COMPOSE_BYTES:
        raise ValueError(f"it is over {MAX_COMPOSE_BYTES} bytes")
    return data.decode("utf-8")
