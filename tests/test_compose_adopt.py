"""Adopting a CLI project copies the files its compose file refers to (env files, configs'
and secrets' `file:`) into its folder in the stacks directory, under the same path rules as
an edited file; build contexts and included files stay behind, and the page says so. On
every lab engine: a project with an env_file and a config file, adopted, its originals
removed, brought up from the stacks directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from dashboard import compose_runs, stacks
from dashboard.compose_adopt import MAX_COPY_BYTES, plan_copies
from dashboard.engines import get_host
from dashboard.models import AuditEntry
from engine_client.compose_files import check_files
from engine_client.projects import PROJECT_LABEL

from . import test_compose_runs as cr
from .support.compose import ComposeProject, down_by_name
from .support.lab import RUN_ID, TEST_LABEL

lab = cr.lab

ADOPTED = """\
services:
  app:
    image: {image}
    command: ["sleep", "3000"]
    stop_grace_period: 1s
    labels: {{{label}: "{run}"}}
    env_file: ./conf/app.env
    configs:
      - source: motd
        target: /motd
configs:
  motd:
    file: ./conf/motd.txt
networks:
  default:
    labels: {{{label}: "{run}"}}
"""


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


# -- which files are copied (no engine) -----------------------------------------------------


def test_env_files_and_config_files_are_copied_build_contexts_are_named(tmp_path):
    compose = (
        "services:\n"
        "  web:\n"
        "    image: x\n"
        "    build: ./app\n"
        "    env_file: [./a.env, {path: ./gone.env, required: false}]\n"
        "secrets:\n"
        "  key: {file: ./keys/key.pem}\n"
    )
    write(tmp_path, {"a.env": "A=1\n", "keys/key.pem": "KEY\n"})
    (tmp_path / "app").mkdir()
    assert check_files(tmp_path, compose, "") == []
    copies = plan_copies(tmp_path, compose)
    assert copies.problems == []
    assert copies.files == {"a.env": b"A=1\n", "keys/key.pem": b"KEY\n"}
    gone, build = copies.notes
    assert build.startswith("compose.yaml, line 4: services.web.build context './app' was not")
    assert "a build context is a whole folder" in build and "missing there" in build
    assert "line 5" in gone and "'./gone.env' is not there (not required)" in gone


def test_a_missing_or_oversized_file_stops_the_adoption_beside_its_line(tmp_path):
    compose = (
        "services:\n  web:\n    image: x\n    env_file: ./nope.env\n"
        "configs:\n  big: {file: big.bin}\n  dir: {file: ./conf}\n"
    )
    (tmp_path / "big.bin").write_bytes(b"0" * (MAX_COPY_BYTES + 1))
    (tmp_path / "conf").mkdir()
    copies = plan_copies(tmp_path, compose)
    assert [(p.line, p.message) for p in copies.problems] == [
        (4, "services.web.env_file './nope.env' is not there to copy"),
        (
            6,
            f"configs.big.file 'big.bin' is {MAX_COPY_BYTES + 1} bytes; at most "
            f"{MAX_COPY_BYTES} are copied",
        ),
        (7, "configs.dir.file './conf' is a folder, not a file"),
    ]
    assert copies.files == {}


def test_a_symlink_inside_is_copied_at_the_path_the_file_names(tmp_path):
    write(tmp_path, {"real/app.env": "A=1\n"})
    os.symlink("real/app.env", tmp_path / "app.env")
    compose = "services:\n  web:\n    image: x\n    env_file: app.env\n"
    assert check_files(tmp_path, compose, "") == []
    assert plan_copies(tmp_path, compose).files == {"app.env": b"A=1\n"}


def test_a_symlink_out_is_refused_before_anything_is_copied(tmp_path):
    outside = tmp_path / "outside.env"
    outside.write_text("SECRET=1\n")
    (tmp_path / "p").mkdir()
    os.symlink(outside, tmp_path / "p" / "app.env")
    compose = "services:\n  web:\n    image: x\n    env_file: app.env\n"
    (problem,) = check_files(tmp_path / "p", compose, "")
    assert problem.line == 4 and "points outside the project folder" in problem.message


# -- adopted and brought up, on every engine ----------------------------------------------


@pytest.mark.engine
@pytest.mark.django_db(transaction=True)
def test_an_adopted_project_comes_up_from_the_stacks_directory_with_its_files(
    lab, admin, engine, tmp_path
):
    own = tmp_path / "cli-project"
    own.mkdir()
    write(
        own,
        {
            "compose.yaml": ADOPTED.format(
                image=engine.lab_image_name, label=TEST_LABEL, run=RUN_ID
            ),
            "conf/app.env": "GREETING=hello from the env file\n",
            "conf/motd.txt": "the config file\n",
        },
    )
    name = f"dte-{RUN_ID}-{secrets.token_hex(3)}"
    project = ComposeProject(name, own, lab.binary, engine.lab_url)
    try:
        # Made, not started: the labels are all adopting reads.
        project.must("create")
        resp = admin.post(f"{cr.H}/{name}/adopt/")
        assert resp.status_code == 302, resp.content.decode()[-2000:]
        assert AuditEntry.objects.get(action="project.adopt", target_id=name).outcome == "ok"
        folder = stacks.project_folder("local", name)
        assert (folder / "conf/app.env").read_text() == "GREETING=hello from the env file\n"
        assert (folder / "conf/motd.txt").read_text() == "the config file\n"
        assert oct((folder / "conf/motd.txt").stat().st_mode & 0o777) == "0o600"

        # Removed by the CLI and the originals gone: what comes up is the stacks directory's.
        project.must("down")
        for path in ("conf/app.env", "conf/motd.txt", "compose.yaml"):
            (own / path).unlink()
        up = compose_runs.make_run(
            get_host("local"),
            name,
            compose_runs.checked_folder("local", name),
            compose_runs.ACTIONS["up"],
        )
        output = up.run()
        assert up.exit_status == 0, output
        (row,) = engine.containers.list(filters={"label": [f"{PROJECT_LABEL}={name}"]})
        info = engine.containers.inspect(row["Id"])
        assert "GREETING=hello from the env file" in info["Config"]["Env"]
        sources = {m.get("Source") for m in info["Mounts"]}
        assert os.path.realpath(folder / "conf/motd.txt") in {
            os.path.realpath(s) for s in sources if s
        }, info["Mounts"]
    finally:
        # By name: the CLI's own file is gone by then.
        down_by_name(lab.binary, engine.lab_url, name)
