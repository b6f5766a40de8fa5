"""Checks of a compose project's files before compose ever reads them.

`compose config` would happily read any file a compose file names (`env_file: /etc/shadow`,
`secrets: {k: {file: ../../secret_key}}`) and print it in its output, and `${VAR}` or
`secrets.*.environment` would read the environment of whoever runs it. So every path the
file points at is checked here, without running anything, to stay inside the project's
folder; what cannot be checked before compose runs (a path with `$` in it) is refused.
Each problem names its file and, where there is one, the line (1-based) to mark in the
editor. Compose's own errors (unknown keys, wrong types) are mapped to a line by
`problems_from_compose_error`.

Plain Python (PyYAML's node graph carries every key's position); no Django.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

COMPOSE_FILE = "compose.yaml"
ENV_FILE = ".env"
MAX_COMPOSE_BYTES = 256 * 1024
MAX_ENV_BYTES = 64 * 1024
# include/extends chains are followed this deep (compose itself refuses cycles).
MAX_DEPTH = 5

# .env keys compose reads for itself: which files, project name, engine, TLS material...
# Set in a project's .env they would change how (and against what) compose runs.
_CONTROL_PREFIXES = ("COMPOSE_", "DOCKER_")
_ENV_KEY = re.compile(r"^(?:export\s+)?([^=\s]+)\s*(=|$)")
# Build contexts that read no file: another service's image or an image by name.
_NON_FILE_CONTEXTS = ("service:", "docker-image://")


@dataclass(frozen=True)
class FileProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


def check_files(folder: Path, compose_text: str, env_text: str) -> list[FileProblem]:
    """Everything wrong with a project's compose.yaml and .env, before compose runs.

    `folder` is the project's folder (it need not exist yet): every file the compose file
    points at must resolve inside it. An empty list means compose may be run on them."""
    problems = _check_text(COMPOSE_FILE, compose_text, MAX_COMPOSE_BYTES)
    problems += check_env(env_text)
    if problems:
        return problems
    root, problem = _parse(COMPOSE_FILE, compose_text)
    if problem is not None:
        return [problem]
    assert root is not None
    # Compared resolved: a stacks dir reached through a symlink is still itself.
    real = Path(os.path.realpath(folder))
    return list(_check_document(real, real, COMPOSE_FILE, root, 0, set()))


def check_env(env_text: str) -> list[FileProblem]:
    """A project's .env: size, NUL bytes, and keys that steer compose itself."""
    problems = _check_text(ENV_FILE, env_text, MAX_ENV_BYTES)
    if problems:
        return problems
    for number, raw in enumerate(env_text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_KEY.match(line)
        key = match.group(1) if match else line
        if key.upper().startswith(_CONTROL_PREFIXES):
            problems.append(
                FileProblem(
                    ENV_FILE,
                    number,
                    f"{key} would change how compose itself runs (which files, project or "
                    "engine); COMPOSE_* and DOCKER_* keys are not allowed here",
                )
            )
    return problems


def line_of(compose_text: str, path: Sequence[str | int]) -> int | None:
    """The line (1-based) of the key or item at `path` (`["services", "web", "image"]`), or
    None when the text does not parse or has nothing there."""
    root, problem = _parse(COMPOSE_FILE, compose_text)
    if problem is not None or root is None:
        return None
    node: yaml.Node = root
    mark = root.start_mark
    for part in path:
        found = _child(node, part)
        if found is None:
            return None
        mark, node = found
    return mark.line + 1


# compose 2.26's messages, seen with `compose config`:
#   validating /x/compose.yaml: services.db Additional property foo is not allowed
#   validating /x/compose.yaml: services.web.ports must be a list
#   validating /x/compose.yaml: (root) Additional property foo is not allowed
#   error decoding 'services[web].healthcheck.interval': time: invalid duration "abc"
#   service "web" depends on undefined service "nope": invalid compose project
#   yaml: line 4: did not find expected key
_VALIDATING = re.compile(r"validating [^:]*: (\S+) (.*)")
_ADDITIONAL = re.compile(r"Additional property (\S+) is not allowed")
_DECODING = re.compile(r"error decoding '([^']+)'")
_SERVICE = re.compile(r'service "([^"]+)"')
_YAML_LINE = re.compile(r"yaml: line (\d+)")


def problems_from_compose_error(stderr: str, compose_text: str) -> list[FileProblem]:
    """compose's own refusal, each message with the compose.yaml line it is about."""
    problems: list[FileProblem] = []
    for raw in stderr.splitlines():
        message = raw.strip()
        if not message or message.startswith("decoding failed due to"):
            continue
        problems.append(
            FileProblem(COMPOSE_FILE, _line_for_message(message, compose_text), message)
        )
    if not problems and stderr.strip():
        problems.append(FileProblem(COMPOSE_FILE, None, stderr.strip()))
    return problems


def _line_for_message(message: str, compose_text: str) -> int | None:
    path: list[str | int] = []
    if match := _YAML_LINE.search(message):
        return int(match.group(1))
    if match := _VALIDATING.search(message):
        where, rest = match.groups()
        path = [] if where == "(root)" else _split_path(where)
        if extra := _ADDITIONAL.search(rest):
            path.append(extra.group(1))
    elif match := _DECODING.search(message):
        path = _split_path(match.group(1))
    elif match := _SERVICE.search(message):
        path = ["services", match.group(1)]
    # The most precise line there is: the whole path, else the nearest key above it.
    for end in range(len(path), 0, -1):
        line = line_of(compose_text, path[:end])
        if line is not None:
            return line
    return None


def _split_path(dotted: str) -> list[str | int]:
    # "services[web].healthcheck.interval" and "services.web.ports.0" alike.
    parts: list[str | int] = []
    for piece in re.split(r"\.|\[|\]", dotted):
        if piece:
            parts.append(int(piece) if piece.isdigit() else piece)
    return parts


def _check_text(name: str, text: str, limit: int) -> list[FileProblem]:
    if not isinstance(text, str):
        return [FileProblem(name, None, "is not text")]
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return [FileProblem(name, None, "is not valid UTF-8")]
    if size > limit:
        return [FileProblem(name, None, f"is {size} bytes; at most {limit} are allowed")]
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return [FileProblem(name, line, "contains a NUL byte")]
    return []


def _parse(name: str, text: str) -> tuple[yaml.Node | None, FileProblem | None]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(p for p in (exc.context, exc.problem) if p)
        return None, FileProblem(name, line, f"is not valid YAML: {reason}")
    except yaml.YAMLError as exc:
        return None, FileProblem(name, None, f"is not valid YAML: {exc}")
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else None
        return None, FileProblem(name, line, "must be a mapping (services: ...) at the top")
    return root, None


def _items(node: yaml.Node) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    """A mapping's own keys, then those it merges in (`<<: *anchor`), as YAML does."""
    if not isinstance(node, yaml.MappingNode):
        return
    merged: list[yaml.Node] = []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag == "tag:yaml.org,2002:merge":
            merged.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
        else:
            yield key, value
    for other in merged:
        yield from _items(other)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Mark, yaml.Node] | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        if 0 <= part < len(node.value):
            item = node.value[part]
            return item.start_mark, item
        return None
    for key, value in _items(node):
        if isinstance(key, yaml.ScalarNode) and key.value == str(part):
            return key.start_mark, value
    return None


def _get(node: yaml.Node, key: str) -> yaml.Node | None:
    found = _child(node, key)
    return found[1] if found else None


def _mapping_values(node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    if node is None:
        return
    for key, value in _items(node):
        if isinstance(key, yaml.ScalarNode):
            yield key.value, value


def _scalars(node: yaml.Node | None) -> Iterator[yaml.ScalarNode]:
    """A string or a list of strings (the two shapes of most path keys)."""
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                yield item


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_document(
    folder: Path, base: Path, name: str, root: yaml.Node, depth: int, seen: set[Path]
) -> Iterator[FileProblem]:
    """Every path `root` (the file `name`, whose relative paths start at `base`) points at."""

    def inside(node: yaml.ScalarNode, what: str, start: Path = base) -> Path | None:
        problem, resolved = _inside(folder, start, str(node.value), what)
        if problem:
            problems.append(FileProblem(name, _line(node), problem))
        return resolved

    problems: list[FileProblem] = []
    for service, spec in _mapping_values(_get(root, "services")):
        for item in _env_file_entries(_get(spec, "env_file")):
            inside(item, f"services.{service}.env_file")
        extends = _get(spec, "extends")
        if isinstance(extends, yaml.MappingNode):
            target = _get(extends, "file")
            if isinstance(target, yaml.ScalarNode):
                path = inside(target, f"services.{service}.extends.file")
                if path is not None:
                    problems += _check_nested(folder, path, name, target, depth, seen)
        build = _get(spec, "build")
        context_dir = base
        if isinstance(build, yaml.ScalarNode):
            context_dir = _check_context(folder, base, name, build, service, problems) or base
        elif isinstance(build, yaml.MappingNode):
            context = _get(build, "context")
            if isinstance(context, yaml.ScalarNode):
                context_dir = _check_context(folder, base, name, context, service, problems) or base
            dockerfile = _get(build, "dockerfile")
            if isinstance(dockerfile, yaml.ScalarNode):
                inside(dockerfile, f"services.{service}.build.dockerfile", context_dir)
            for key, value in _mapping_values(_get(build, "additional_contexts")):
                if isinstance(value, yaml.ScalarNode):
                    _check_context(folder, base, name, value, f"{service} ({key})", problems)
            additional = _get(build, "additional_contexts")
            if isinstance(additional, yaml.SequenceNode):
                for item in _scalars(additional):
                    _, _, context_path = str(item.value).partition("=")
                    shown = yaml.ScalarNode(item.tag, context_path, item.start_mark, item.end_mark)
                    _check_context(folder, base, name, shown, service, problems)
            for item in _scalars(_get(build, "ssh")):
                _, equals, key_path = str(item.value).partition("=")
                if equals:
                    shown = yaml.ScalarNode(item.tag, key_path, item.start_mark, item.end_mark)
                    inside(shown, f"services.{service}.build.ssh")
        for source, _target in _bind_sources(spec):
            # A relative bind source is a path in the project folder (the engine makes it
            # if it is not there); an absolute one is the host's, for whoever edits the
            # file (admins) to choose, and the preview names it.
            if not os.path.isabs(str(source.value)):
                inside(source, f"services.{service}.volumes bind source")
    for kind in ("secrets", "configs"):
        for key, spec in _mapping_values(_get(root, kind)):
            target = _get(spec, "file")
            if isinstance(target, yaml.ScalarNode):
                inside(target, f"{kind}.{key}.file")
            env = _child(spec, "environment")
            if env is not None:
                problems.append(
                    FileProblem(
                        name,
                        env[0].line + 1,
                        f"{kind}.{key}.environment would read the dashboard's own "
                        f"environment; use file: (inside the project folder) or content:",
                    )
                )
    include = _get(root, "include")
    if isinstance(include, yaml.SequenceNode):
        for entry in include.value:
            paths: list[yaml.ScalarNode] = []
            if isinstance(entry, yaml.ScalarNode):
                paths = [entry]
            elif isinstance(entry, yaml.MappingNode):
                paths = list(_scalars(_get(entry, "path")))
                for item in _scalars(_get(entry, "env_file")):
                    inside(item, "include.env_file")
                directory = _get(entry, "project_directory")
                if isinstance(directory, yaml.ScalarNode):
                    inside(directory, "include.project_directory")
            for item in paths:
                path = inside(item, "include.path")
                if path is not None:
                    problems += _check_nested(folder, path, name, item, depth, seen)
    yield from problems


def _bind_sources(spec: yaml.Node) -> Iterator[tuple[yaml.ScalarNode, str]]:
    """A service's bind mounts: (the source's node, the target). Short syntax
    (`./data:/data:ro`: a path when it starts with `.`, `/` or `~`, else a named volume)
    and long (`type: bind`)."""
    volumes = _get(spec, "volumes")
    if not isinstance(volumes, yaml.SequenceNode):
        return
    for item in volumes.value:
        if isinstance(item, yaml.ScalarNode):
            value = str(item.value)
            if not value.startswith((".", "/", "~", "$")):
                continue
            path, _, rest = value.partition(":")
            node = yaml.ScalarNode(item.tag, path, item.start_mark, item.end_mark)
            yield node, rest.partition(":")[0]
        elif isinstance(item, yaml.MappingNode):
            kind = _get(item, "type")
            source = _get(item, "source")
            target = _get(item, "target")
            if (
                isinstance(kind, yaml.ScalarNode)
                and kind.value == "bind"
                and isinstance(source, yaml.ScalarNode)
            ):
                shown = str(target.value) if isinstance(target, yaml.ScalarNode) else ""
                yield source, shown


@dataclass(frozen=True)
class HostPath:
    """An absolute host path a service bind-mounts (shown in the preview)."""

    service: str
    source: str
    target: str
    line: int


def host_paths(compose_text: str) -> list[HostPath]:
    """The absolute host paths the compose file's services bind-mount, each with its line."""
    root, problem = _parse(COMPOSE_FILE, compose_text)
    if problem is not None or root is None:
        return []
    return [
        HostPath(service, str(source.value), target, _line(source))
        for service, spec in _mapping_values(_get(root, "services"))
        for source, target in _bind_sources(spec)
        if os.path.isabs(str(source.value))
    ]


def _env_file_entries(node: yaml.Node | None) -> Iterator[yaml.ScalarNode]:
    # env_file: a string, a list of strings, or a list of {path, required}.
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.MappingNode):
                path = _get(item, "path")
                if isinstance(path, yaml.ScalarNode):
                    yield path
            elif isinstance(item, yaml.ScalarNode):
                yield item
    elif isinstance(node, yaml.ScalarNode):
        yield node


def _check_context(
    folder: Path,
    base: Path,
    name: str,
    node: yaml.ScalarNode,
    service: str,
    problems: list[FileProblem],
) -> Path | None:
    value = str(node.value)
    if value.startswith(_NON_FILE_CONTEXTS):
        return None
    problem, resolved = _inside(folder, base, value, f"services.{service}.build context")
    if problem:
        problems.append(FileProblem(name, _line(node), problem))
    return resolved


def _check_nested(
    folder: Path, path: Path, name: str, node: yaml.Node, depth: int, seen: set[Path]
) -> list[FileProblem]:
    """An included or extended file: read (it is inside the folder) and checked the same way."""
    if path in seen or not path.is_file():
        # A file not there yet: compose config will say so; nothing of it can leak.
        return []
    seen.add(path)
    shown = os.path.relpath(path, folder)
    if depth >= MAX_DEPTH:
        return [FileProblem(name, _line(node), f"{shown}: includes nest too deep")]
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [FileProblem(name, _line(node), f"{shown} cannot be read: {exc.strerror}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [FileProblem(shown, None, "is not valid UTF-8")]
    problems = _check_text(shown, text, MAX_COMPOSE_BYTES)
    if problems:
        return problems
    root, problem = _parse(shown, text)
    if problem is not None or root is None:
        return [problem] if problem else []
    return list(_check_document(folder, path.parent, shown, root, depth + 1, seen))


def _inside(folder: Path, base: Path, value: str, what: str) -> tuple[str, Path | None]:
    """("", resolved path) when `value` (relative to `base`) stays inside `folder`, else the
    reason it is refused."""
    if "$" in value:
        return (
            f"{what} {value!r} uses interpolation ($): it could not be checked before "
            "compose runs; write the path out",
            None,
        )
    if value.startswith("~"):
        return f"{what} {value!r} points at a home directory; use a path inside the project", None
    if "://" in value or value.startswith(("git@", "github.com/")):
        return f"{what} {value!r} is a URL or remote context; only local paths are allowed", None
    if os.path.isabs(value) or re.match(r"^[A-Za-z]:[\\/]", value):
        return f"{what} {value!r} is an absolute path; use one relative to the project", None
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(base, value))
    lexical = os.path.normpath(os.path.join(os.path.relpath(base, folder), value))
    if lexical == ".." or lexical.startswith("../") or not _within(target, root):
        return f"{what} {value!r} points outside the project folder", None
    return "", Path(target)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


# -- the files a project's compose file refers to (adopting a CLI project) -----------------


@dataclass(frozen=True)
class Reference:
    """A file or folder the compose file names: `what` it is (`services.web.env_file`), the
    path as written and its line; `path` resolved inside the folder (None when it is not
    a local path inside it: `check_files` says why); whether adopting copies it."""

    what: str
    value: str
    line: int
    path: Path | None
    copy: bool
    required: bool = True


def referenced_files(folder: Path, compose_text: str) -> list[Reference]:
    """The files `compose_text` (whose relative paths start at `folder`) refers to: env
    files and configs/secrets `file:` (small: adopting copies them), build contexts and
    included or extended files (not copied: a context is a whole tree, and an included file
    names files of its own). Call it on text `check_files` passed."""
    root, problem = _parse(COMPOSE_FILE, compose_text)
    if problem is not None or root is None:
        return []
    real = Path(os.path.realpath(folder))
    found: list[Reference] = []

    def add(node: yaml.ScalarNode, what: str, copy: bool, required: bool = True) -> None:
        value = str(node.value)
        _, path = _inside(real, real, value, what)
        found.append(Reference(what, value, _line(node), path, copy, required))

    for service, spec in _mapping_values(_get(root, "services")):
        env_file = _get(spec, "env_file")
        entries = env_file.value if isinstance(env_file, yaml.SequenceNode) else [env_file]
        for entry in entries:
            required, item = True, entry
            if isinstance(entry, yaml.MappingNode):
                flag = _get(entry, "required")
                required = not (isinstance(flag, yaml.ScalarNode) and flag.value == "false")
                item = _get(entry, "path")
            if isinstance(item, yaml.ScalarNode):
                add(item, f"services.{service}.env_file", copy=True, required=required)
        build = _get(spec, "build")
        context = _get(build, "context") if isinstance(build, yaml.MappingNode) else build
        if isinstance(context, yaml.ScalarNode) and not str(context.value).startswith(
            _NON_FILE_CONTEXTS
        ):
            add(context, f"services.{service}.build context", copy=False)
        extends = _get(spec, "extends")
        target = _get(extends, "file") if isinstance(extends, yaml.MappingNode) else None
        if isinstance(target, yaml.ScalarNode):
            add(target, f"services.{service}.extends.file", copy=False)
    for kind in ("secrets", "configs"):
        for key, spec in _mapping_values(_get(root, kind)):
            target = _get(spec, "file")
            if isinstance(target, yaml.ScalarNode):
                add(target, f"{kind}.{key}.file", copy=True)
    include = _get(root, "include")
    if isinstance(include, yaml.SequenceNode):
        for entry in include.value:
            paths = entry if isinstance(entry, yaml.ScalarNode) else _get(entry, "path")
            for item in _scalars(paths):
                add(item, "include.path", copy=False)
    return found
