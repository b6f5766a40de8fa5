"""The checks a project's files pass before compose reads them (engine_client/compose_files.py),
and the stacks directory that holds them (dashboard/stacks.py). No engine: pure checks and
files in a temporary folder; compose's own messages come from `test_compose_runs.py`."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from dashboard import stacks
from engine_client.compose_files import (
    COMPOSE_FILE,
    ENV_FILE,
    MAX_COMPOSE_BYTES,
    MAX_ENV_BYTES,
    FileProblem,
    HostPath,
    check_files,
    host_paths,
    line_of,
    problems_from_compose_error,
)
from engine_client.errors import InvalidArgument

GOOD = """\
services:
  web:
    image: lab/busybox:latest
    command: ["sleep", "30"]
"""


def one(problems: list[FileProblem]) -> FileProblem:
    assert len(problems) == 1, problems
    return problems[0]


def service(extra: str) -> str:
    """A one-service file with `extra` (lines indented for the service) starting at line 4."""
    lines = "".join(f"    {line}\n" for line in extra.splitlines())
    return f"services:\n  web:\n    image: lab/busybox:latest\n{lines}"


def test_a_good_project_passes(tmp_path: Path) -> None:
    assert check_files(tmp_path, GOOD, "TAG=1\n# a comment\n\nexport NAME=x\n") == []


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = GOOD + "#" * MAX_COMPOSE_BYTES
    problem = one(check_files(tmp_path, big, ""))
    assert problem.file == COMPOSE_FILE and "at most" in problem.message
    problem = one(check_files(tmp_path, GOOD, "A=" + "x" * MAX_ENV_BYTES))
    assert problem.file == ENV_FILE and "at most" in problem.message


def test_text_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    bad = GOOD + "# \udcff\n"
    assert "UTF-8" in one(check_files(tmp_path, bad, "")).message


def test_a_nul_byte_is_refused_with_its_line(tmp_path: Path) -> None:
    problem = one(check_files(tmp_path, GOOD, "A=1\nB=\x00\n"))
    assert (problem.file, problem.line) == (ENV_FILE, 2)
    assert "NUL" in problem.message
    problem = one(check_files(tmp_path, GOOD + "#\x00\n", ""))
    assert (problem.file, problem.line) == (COMPOSE_FILE, 5)


def test_invalid_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n   bad: [unclosed\n"
    problem = one(check_files(tmp_path, text, ""))
    assert problem.file == COMPOSE_FILE and "not valid YAML" in problem.message
    assert problem.line == 4


def test_the_top_must_be_a_mapping(tmp_path: Path) -> None:
    assert "mapping" in one(check_files(tmp_path, "- a\n- b\n", "")).message
    assert "mapping" in one(check_files(tmp_path, "", "")).message


@pytest.mark.parametrize(
    "key",
    [
        "COMPOSE_FILE",
        "COMPOSE_ENV_FILES",
        "COMPOSE_PROJECT_NAME",
        "DOCKER_HOST",
        "docker_cert_path",
    ],
)
def test_env_keys_that_steer_compose_are_refused(tmp_path: Path, key: str) -> None:
    problem = one(check_files(tmp_path, GOOD, f"A=1\nexport {key}=/etc/x\n"))
    assert (problem.file, problem.line) == (ENV_FILE, 2)
    assert key in problem.message and "compose itself" in problem.message


OUTSIDE = [
    # (what the service or file says, the line of the path)
    ("env_file: ../secret.env", 4),
    ("env_file: [ok.env, /etc/passwd]", 4),
    ("env_file:\n  - path: ../../x.env\n    required: false", 5),
    ("extends:\n  file: ../base.yaml\n  service: web", 5),
    ("build: ..", 4),
    ("build:\n  context: /srv", 5),
    ("build:\n  context: .\n  dockerfile: ../Dockerfile", 6),
    ("build:\n  context: sub\n  dockerfile: ../../Dockerfile", 6),
    ("build:\n  context: https://github.com/x/y.git", 5),
    ("build:\n  context: git@github.com:x/y.git", 5),
    ("build:\n  context: ~/src", 5),
    ("build:\n  context: ${HOME}", 5),
    ("build:\n  context: .\n  additional_contexts:\n    base: ../other", 7),
    ('build:\n  context: .\n  additional_contexts: ["base=/opt"]', 6),
    ('build:\n  context: .\n  ssh: ["default=/root/.ssh/id_rsa"]', 6),
    ("env_file: $PWD/../x.env", 4),
]


@pytest.mark.parametrize(("extra", "line"), OUTSIDE)
def test_a_path_outside_the_folder_is_refused_with_its_line(
    tmp_path: Path, extra: str, line: int
) -> None:
    problem = one(check_files(tmp_path, service(extra), ""))
    assert problem.line == line, problem
    assert problem.file == COMPOSE_FILE


@pytest.mark.parametrize(
    "text",
    [
        "services: {}\nsecrets:\n  key:\n    file: ../../secret_key\n",
        "services: {}\nconfigs:\n  conf:\n    file: /etc/shadow\n",
        "include:\n  - ../other/compose.yaml\n",
        "include:\n  - path: [a.yaml, /etc/b.yaml]\n",
        "include:\n  - path: a.yaml\n    env_file: ../x.env\n",
        "include:\n  - path: a.yaml\n    project_directory: ..\n",
    ],
)
def test_top_level_paths_outside_the_folder_are_refused(tmp_path: Path, text: str) -> None:
    problem = one(check_files(tmp_path, text, ""))
    assert problem.line is not None and problem.line >= 2
    assert "outside" in problem.message or "absolute" in problem.message


def test_secrets_from_the_environment_are_refused(tmp_path: Path) -> None:
    text = "services: {}\nsecrets:\n  key:\n    environment: DASHBOARD_SECRET_KEY\n"
    problem = one(check_files(tmp_path, text, ""))
    assert problem.line == 4 and "environment" in problem.message


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (tmp_path / "outside.env").write_text("A=1\n")
    (folder / "link.env").symlink_to(tmp_path / "outside.env")
    (folder / "dir").symlink_to(tmp_path)
    problem = one(check_files(folder, service("env_file: link.env"), ""))
    assert problem.line == 4 and "outside" in problem.message
    problem = one(check_files(folder, service("build: dir"), ""))
    assert problem.line == 4 and "outside" in problem.message
    # A symlink that stays inside is a path like any other.
    (folder / "real.env").write_text("A=1\n")
    (folder / "inner.env").symlink_to(folder / "real.env")
    assert check_files(folder, service("env_file: inner.env"), "") == []


def test_paths_inside_the_folder_pass(tmp_path: Path) -> None:
    extra = (
        "env_file: [a.env, {path: sub/b.env, required: false}]\n"
        "build:\n  context: ./sub\n  dockerfile: Dockerfile\n"
        "  additional_contexts: {base: ./base, img: 'docker-image://lab/busybox', svc: 'service:x'}"
    )
    assert check_files(tmp_path, service(extra), "") == []


def test_merged_keys_are_checked_where_they_are_written(tmp_path: Path) -> None:
    text = (
        "x-common: &common\n"
        "  env_file: ../../escape.env\n"
        "services:\n"
        "  web:\n"
        "    <<: *common\n"
        "    image: lab/busybox:latest\n"
    )
    assert one(check_files(tmp_path, text, "")).line == 2


def test_an_included_file_inside_the_folder_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("services:\n  db:\n    image: x\n    env_file: /etc/x\n")
    problem = one(check_files(tmp_path, "include: [more.yaml]\nservices: {}\n", ""))
    assert (problem.file, problem.line) == ("more.yaml", 4)


def test_line_of_finds_keys_and_items() -> None:
    text = GOOD + "    ports:\n      - '80'\n      - '81'\n"
    assert line_of(text, ["services"]) == 1
    assert line_of(text, ["services", "web", "image"]) == 3
    assert line_of(text, ["services", "web", "ports", 1]) == 7
    assert line_of(text, ["services", "nope"]) is None
    assert line_of("[unclosed", ["services"]) is None


# compose 2.26.1's own messages, as `compose config` printed them (test_compose_runs.py
# checks the real binary's output gives the same lines).
UNKNOWN_KEY_AT_7 = """\
services:
  web:
    image: lab/busybox:latest
    command: ["sleep", "1"]
  db:
    image: lab/busybox:latest
    foo: 1
"""


@pytest.mark.parametrize(
    ("stderr", "line"),
    [
        ("validating /x/compose.yaml: services.db Additional property foo is not allowed", 7),
        ("validating /x/compose.yaml: services.web.command must be a list", 4),
        ("error decoding 'services[db].image': bad", 6),
        ('service "db" depends on undefined service "nope": invalid compose project', 5),
        ("yaml: line 3: did not find expected key", 3),
        ("something compose says about nothing in the file", None),
    ],
)
def test_compose_errors_are_mapped_to_their_line(stderr: str, line: int | None) -> None:
    problem = one(problems_from_compose_error(stderr, UNKNOWN_KEY_AT_7))
    assert problem.line == line
    assert problem.message == stderr


# The stacks directory.


@pytest.fixture
def stacks_root(tmp_path: Path, settings) -> Path:
    settings.STACKS_DIR = tmp_path / "stacks"
    return tmp_path / "stacks"


def test_project_folders_are_laid_out_per_host_and_kind(stacks_root: Path) -> None:
    assert stacks.project_folder("local", "shop") == stacks_root / "local" / "shop"
    assert stacks.project_folder("local", "shop", "swarm") == stacks_root / "local/_swarm/shop"


@pytest.mark.parametrize("name", ["", "Shop", "_x", "../x", "a/b", ".", "x" * 129, "a b"])
def test_a_bad_project_name_is_refused(stacks_root: Path, name: str) -> None:
    with pytest.raises(InvalidArgument):
        stacks.project_folder("local", name)


def test_a_bad_host_name_is_refused(stacks_root: Path) -> None:
    with pytest.raises(InvalidArgument):
        stacks.project_folder("../etc", "shop")


def test_a_project_folder_that_is_a_symlink_out_is_refused(
    stacks_root: Path, tmp_path: Path
) -> None:
    (stacks_root / "local").mkdir(parents=True)
    (stacks_root / "local" / "shop").symlink_to(tmp_path)
    with pytest.raises(InvalidArgument, match="outside"):
        stacks.project_folder("local", "shop")


def test_files_are_written_private_and_read_back(stacks_root: Path) -> None:
    folder = stacks.project_folder("local", "shop")
    stacks.write_files(folder, GOOD, "TAG=1\n")
    assert stacks.read_files(folder) == (GOOD, "TAG=1\n")
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert ((folder / COMPOSE_FILE).stat().st_mode & 0o777) == 0o600
    assert stacks.stored_projects("local") == ["shop"]
    stacks.remove_files(folder)
    assert not folder.exists() and stacks.stored_projects("local") == []


def test_files_that_fail_the_checks_are_not_written(stacks_root: Path) -> None:
    folder = stacks.project_folder("local", "shop")
    stacks.write_files(folder, GOOD, "")
    with pytest.raises(stacks.FilesRefused) as refused:
        stacks.write_files(folder, service("env_file: /etc/passwd"), "COMPOSE_FILE=x\n")
    assert {p.file for p in refused.value.problems} == {ENV_FILE}
    assert stacks.read_files(folder) == (GOOD, "")
    assert sorted(os.listdir(folder)) == [ENV_FILE, COMPOSE_FILE]


def _hold_lock(folder: str, ready, release) -> None:
    with stacks.project_lock(Path(folder)):
        ready.set()
        release.wait(10)


def test_a_second_run_of_a_project_is_refused_while_the_first_holds_it(
    stacks_root: Path,
) -> None:
    folder = stacks.project_folder("local", "shop")
    with (
        stacks.project_lock(folder),
        pytest.raises(stacks.ProjectBusy),
        stacks.project_lock(folder),
    ):
        pass
    # Another process holding it counts too (the lock is the kernel's, not a Python object).
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    other = context.Process(target=_hold_lock, args=(str(folder), ready, release))
    other.start()
    try:
        assert ready.wait(10)
        with pytest.raises(stacks.ProjectBusy, match="in progress"), stacks.project_lock(folder):
            pass
    finally:
        release.set()
        other.join(10)
    with stacks.project_lock(folder):
        pass


# -- bind-mount sources ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "volume",
    [
        "../data:/data",
        "./data/../../data:/data:ro",
        "~/data:/data",
        "${HOME}/x:/data",
        "{type: bind, source: ../up, target: /up}",
    ],
)
def test_a_relative_bind_source_leading_out_is_refused_beside_its_line(
    tmp_path: Path, volume: str
) -> None:
    text = service(f"command: ['true']\nvolumes:\n  - {volume}")
    problem = one(check_files(tmp_path, text, ""))
    assert problem.line == 6, problem
    assert "services.web.volumes bind source" in problem.message


def test_a_bind_source_through_a_symlink_out_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "data").symlink_to(tmp_path)
    problem = one(check_files(folder, service("volumes: ['./data/x:/x']"), ""))
    assert problem.line == 4 and "points outside the project folder" in problem.message
    # Inside, made by the engine later or there already: fine; so are named volumes.
    (folder / "real").mkdir()
    (folder / "inner").symlink_to(folder / "real")
    inside = (
        "volumes: ['./inner:/a', './new/sub:/b', 'cache:/c', {type: volume, source: v, target: /v}]"
    )
    assert check_files(folder, service(inside), "") == []


def test_absolute_host_paths_are_allowed_and_named_for_the_preview(tmp_path: Path) -> None:
    text = service(
        "volumes:\n"
        "  - /srv/shop/data:/data:ro\n"
        "  - ./local:/local\n"
        "  - {type: bind, source: /var/log/shop, target: /logs}\n"
        "  - cache:/cache"
    )
    assert check_files(tmp_path, text, "") == []
    assert host_paths(text) == [
        HostPath("web", "/srv/shop/data", "/data", 5),
        HostPath("web", "/var/log/shop", "/logs", 7),
    ]
    assert host_paths(GOOD) == []
