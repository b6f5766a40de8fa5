"""The container form against the lab engine: create, create and start, each invalid field,
duplicate, edit and recreate (and a recreate that fails part-way)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from dashboard.models import AuditEntry
from engine_client import NotFound
from engine_client.container_spec import ContainerSpec

from .support.lab import LAB_IMAGE, RUN_ID, TEST_LABEL, made_with

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LIST = "/hosts/local/containers/"
NEW = f"{LIST}new/"


def form_data(labels: str, ports=(), mounts=(), **fields) -> dict[str, str]:
    data = {
        "image": LAB_IMAGE,
        "restart": "no",
        "then": "create",
        "labels": labels,
        "ports-TOTAL_FORMS": str(len(ports)),
        "ports-INITIAL_FORMS": "0",
        "mounts-TOTAL_FORMS": str(len(mounts)),
        "mounts-INITIAL_FORMS": "0",
    }
    for prefix, rows in (("ports", ports), ("mounts", mounts)):
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = value
    data.update(fields)
    return data


class FormValues(HTMLParser):
    """What a browser would submit from one form of a page, as given (no clicks)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or tag == "template":
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "file"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[name] = a.get("value") or "on"
            else:
                self.values[name] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif (
            tag == "option"
            and self._select
            and ("selected" in a or self._select not in self.values)
        ):
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def page_form(html: str, form_id: str = "container-form") -> dict[str, str]:
    parser = FormValues(form_id)
    parser.feed(html)
    values = parser.values
    # A browser drops the leading newline of a textarea.
    return {k: v[1:] if v.startswith("\n") else v for k, v in values.items()}


def test_a_container_created_from_the_form_has_exactly_the_settings_entered(
    lab_settings, admin, engine, make_volume, ui_label
):
    volume = make_volume()["Name"]  # labelled: removed afterwards even if the test fails
    resp = admin.post(
        NEW,
        form_data(
            ui_label + "\nteam=blue",
            name=f"dt-{RUN_ID}-formmade",
            command="sh -c 'echo hi; sleep 300'",
            env="A=1\nB=two words",
            env_file="# from a file\n\nC=3\n",
            ports=[
                {
                    "host_ip": "127.0.0.1",
                    "host_port": "18081",
                    "container_port": "80",
                    "protocol": "tcp",
                },
                {"host_port": "15353", "container_port": "53", "protocol": "udp"},
            ],
            mounts=[
                {"type": "bind", "source": "/tmp", "target": "/host-tmp", "read_only": "on"},
                {"type": "volume", "source": volume, "target": "/data"},
            ],
            restart="on-failure",
            restart_max="2",
            memory="64m",
            cpus="0.5",
            workdir="/tmp",
            hostname="formbox",
        ),
    )
    assert resp.status_code == 302, resp.content.decode()[:3000]
    (row,) = made_with(engine, ui_label)
    c = engine.containers.inspect(row["Id"])
    assert resp["Location"] == f"{LIST}{c['Id']}/"
    hc, config = c["HostConfig"], c["Config"]
    assert c["Name"] == f"/dt-{RUN_ID}-formmade"
    assert config["Cmd"] == ["sh", "-c", "echo hi; sleep 300"]
    env = [e for e in config["Env"] if not e.startswith("PATH=")]
    if engine.lab_kind == "podman":
        env.sort()  # Podman keeps a container's variables in no particular order
        assert env == ["A=1", "B=two words", "C=3"]
    else:
        assert env == ["C=3", "A=1", "B=two words"]
    assert hc["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18081"}],
        "53/udp": [{"HostIp": "", "HostPort": "15353"}],
    }
    if engine.lab_kind == "docker":
        assert hc["Mounts"] == [
            {"Type": "bind", "Source": "/tmp", "Target": "/host-tmp", "ReadOnly": True},
            {"Type": "volume", "Source": volume, "Target": "/data"},
        ]
    # Podman keeps no HostConfig.Mounts: what it mounted is in the top-level list (both have).
    mounted = {(m["Type"], m["Destination"], m["RW"]) for m in c["Mounts"]}
    assert mounted == {("bind", "/host-tmp", False), ("volume", "/data", True)}
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert (hc["Memory"], hc["NanoCpus"]) == (64 * 1024 * 1024, 500_000_000)
    assert config["Labels"]["team"] == "blue" and config["Labels"][TEST_LABEL] == RUN_ID
    assert (config["WorkingDir"], config["Hostname"]) == ("/tmp", "formbox")
    assert c["State"]["Status"] == "created"
    entry = AuditEntry.objects.get(action="container.create")
    assert entry.outcome == "ok" and entry.params["container_id"] == c["Id"]
    assert entry.params["env_names"] == ["C", "A", "B"], "variable names only, never values"
    engine.containers.remove(c["Id"], force=True)


def test_create_and_start_starts_it(lab_settings, admin, engine, ui_label):
    resp = admin.post(NEW, form_data(ui_label, command="sleep 300", then="start"))
    assert resp.status_code == 302
    (row,) = made_with(engine, ui_label)
    assert row["State"] == "running"


def test_create_and_start_leaves_nothing_when_the_start_fails(
    lab_settings, admin, engine, ui_label
):
    resp = admin.post(NEW, form_data(ui_label, command="no-such-program", then="start"))
    assert resp.status_code == 400  # back to the form, with what happened
    assert "did not start, so it was removed again" in resp.content.decode()
    assert made_with(engine, ui_label) == []


INVALID = {
    "port 70000": (
        {"ports": [{"container_port": "70000", "protocol": "tcp"}]},
        "ports-0-container_port",
        "from 1 to 65535",
    ),
    "env line without =": ({"env": "GOOD=1\nNOEQUALS"}, "env", "has no “=”"),
    "relative bind path": (
        {"mounts": [{"type": "bind", "source": "data/here", "target": "/data"}]},
        "mounts-0-source",
        "must be absolute",
    ),
    "unknown image": ({"image": "no-such-image-anywhere:1"}, "image", "No image"),
    "duplicate name": ({"name": "TAKEN"}, "name", "already exists"),
    "retries without on-failure": (
        {"restart": "always", "restart_max": "3"},
        "restart_max",
        "only with",
    ),
    "memory too small": ({"memory": "1k"}, "memory", "at least 6m"),
    "unknown capability": ({"cap_add": "NET_ADMIN FLY"}, "cap_add", "Unknown capability"),
    "health interval not a duration": (
        {"health_cmd": "true", "health_interval": "often"},
        "health_interval",
        "a duration such as 30s",
    ),
    "health timeout under 1ms": ({"health_timeout": "10us"}, "health_timeout", "from 1ms"),
    "health command not an array of words": (
        {"health_cmd": '["pg_isready", 5]'},
        "health_cmd",
        "JSON array of words",
    ),
    "no health check and a command": (
        {"no_healthcheck": "on", "health_cmd": "true"},
        "no_healthcheck",
        "not both",
    ),
    "tmpfs at a relative path": ({"tmpfs": "/run\ncache"}, "tmpfs", "Line 2: a tmpfs is mounted"),
    "tmpfs option with a shell": (
        {"tmpfs": "/run:size=64m;reboot"},
        "tmpfs",
        "not a tmpfs option",
    ),
    "tmpfs twice": ({"tmpfs": "/run\n/run:size=1m"}, "tmpfs", "already a tmpfs"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_each_invalid_field_gives_its_message_and_creates_nothing(
    lab_settings, admin, engine, make_container, ui_label, case
):
    fields, field_name, message = INVALID[case]
    if fields.get("name") == "TAKEN":
        fields = {"name": make_container(start=False)["Name"].lstrip("/")}
    before = len(engine.containers.list(all=True))
    fields = dict(fields)
    data = form_data(
        ui_label, ports=fields.pop("ports", ()), mounts=fields.pop("mounts", ()), **fields
    )
    resp = admin.post(NEW, data)
    assert resp.status_code == 400
    html = resp.content.decode()
    # The message sits beside its field (the error element is named after the field).
    error = re.search(rf'id="{re.escape(field_name)}-error">([^<]*)<', html) or re.search(
        rf'name="{re.escape(field_name)}"[^>]*>.{{0,200}}?class="field-error"[^>]*>([^<]*)<',
        html,
        re.S,
    )
    assert error, f"no message beside {field_name}"
    assert message in error.group(1)
    assert made_with(engine, ui_label) == []
    assert len(engine.containers.list(all=True)) == before
    assert not AuditEntry.objects.filter(action="container.create").exists()


def test_pull_first_pulls_the_image_or_says_why_not(
    lab_settings, admin, engine, registry_image, image_tags, ui_label
):
    image = image_tags(registry_image)  # in the lab registry, not on the engine
    with pytest.raises(NotFound):
        engine.images.inspect(image)
    resp = admin.post(NEW, form_data(ui_label, image=image, command="true"))
    assert re.search(r'id="image-error">No image', resp.content.decode())
    resp = admin.post(NEW, form_data(ui_label, image=image, pull="on", command="true"))
    assert resp.status_code == 302, resp.content.decode()[:2000]
    (row,) = made_with(engine, ui_label)
    assert row["Image"] == image
    missing = "127.0.0.1:5000/lab/not-there:latest"
    resp = admin.post(NEW, form_data(ui_label, image=missing, pull="on"))
    assert re.search(r'id="image-error">The pull failed: [^<]*not', resp.content.decode())
    assert len(made_with(engine, ui_label)) == 1
    entry = AuditEntry.objects.filter(action="container.create").latest("id")
    assert entry.outcome == "failed" and entry.params["pull"] is True


def test_the_form_offers_the_local_images(lab_settings, admin, engine):
    html = admin.get(NEW).content.decode()
    assert f'<option value="{engine.lab_image_name}">' in html
    assert 'name="privileged"' in html


HEALTH = {"Test": ["CMD-SHELL", "true"], "Interval": 30_000_000_000, "Retries": 2}


def test_duplicate_makes_an_equal_container(
    lab_settings, admin, engine, make_container, make_network, ui_label
):
    extra = make_network()
    original = make_container(
        ["sh", "-c", "sleep 300"],
        Env=["A=1", "WITH_SPACE=a b", "API_TOKEN=t0ps3cret"],
        Labels={"team": "red"},
        WorkingDir="/tmp",
        ExposedPorts={"80/tcp": {}},
        Healthcheck=HEALTH,
        HostConfig={
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
            "Mounts": [{"Type": "bind", "Source": "/tmp", "Target": "/t", "ReadOnly": True}],
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 4},
            "Memory": 32 * 1024 * 1024,
            # Not on the form: kept from the original all the same.
            "Dns": ["192.0.2.53"],
            "ExtraHosts": ["db.example:192.0.2.10"],
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}},
        },
    )
    engine.networks.connect(extra["Name"], original["Id"], aliases=["dupe-alias"])
    page = admin.get(f"{NEW}?from={original['Id']}")
    assert page.status_code == 200
    assert "t0ps3cret" not in page.content.decode(), "secret values never reach the page"
    values = page_form(page.content.decode())
    assert "API_TOKEN=••••••••" in values["env"]
    assert values["name"] == original["Name"].lstrip("/") + "-copy"
    values["labels"] += "\n" + ui_label.splitlines()[-1]
    resp = admin.post(NEW, {**values, "then": "create"})
    assert resp.status_code == 302, resp.content.decode()[:3000]
    (row,) = made_with(engine, ui_label)
    image = engine.images.inspect(LAB_IMAGE)["Config"]
    old, new = engine.containers.inspect(original["Id"]), engine.containers.inspect(row["Id"])
    a, b = ContainerSpec.from_inspect(old, image), ContainerSpec.from_inspect(new, image)
    b.labels.pop(f"{TEST_LABEL}.case")
    assert b.name == a.name + "-copy"
    b.name = a.name
    # Podman orders a container's variables its own way (the image's first).
    a.env.sort()
    b.env.sort()
    assert b == a
    assert "API_TOKEN=t0ps3cret" in b.env, "the hidden value was kept"
    assert not AuditEntry.objects.filter(action="container.env.reveal").exists()
    for key in ("Dns", "ExtraHosts", "LogConfig"):
        assert new["HostConfig"][key] == old["HostConfig"][key], key
    assert new["Config"]["Healthcheck"] == old["Config"]["Healthcheck"]
    assert new["Config"]["Hostname"] == new["Id"][:12], "not the original's hostname"
    endpoint = new["NetworkSettings"]["Networks"][extra["Name"]]
    assert "dupe-alias" in endpoint["Aliases"]


def test_a_hidden_value_whose_source_is_gone_must_be_typed(
    lab_settings, admin, engine, make_container, ui_label
):
    original = make_container(Env=["DB_PASSWORD=pw1"])
    values = page_form(admin.get(f"{NEW}?from={original['Id']}").content.decode())
    engine.containers.remove(original["Id"], force=True)
    values["labels"] = ui_label
    resp = admin.post(NEW, {**values, "then": "create"})
    assert resp.status_code == 400
    assert "hidden value of DB_PASSWORD cannot be kept" in resp.content.decode()
    assert made_with(engine, ui_label) == []


def test_edit_recreates_under_the_same_name_with_the_new_settings(
    lab_settings, admin, engine, make_container, make_network
):
    extra = make_network()
    old = make_container(
        ["sleep", "300"],
        Env=["LEVEL=1", "SECRET_KEY=k3y"],
        Healthcheck=HEALTH,
        HostConfig={"Dns": ["192.0.2.53"], "Memory": 64 * 1024 * 1024},
    )
    engine.networks.connect(extra["Name"], old["Id"], aliases=["kept-alias"])
    page = admin.get(f"{LIST}{old['Id']}/edit/")
    assert "k3y" not in page.content.decode()
    values = page_form(page.content.decode())
    assert "LEVEL=1" in values["env"]
    values["env"] = values["env"].replace("LEVEL=1", "LEVEL=2")
    values["memory"] = ""  # cleared on the form: no limit afterwards
    resp = admin.post(f"{LIST}{old['Id']}/edit/", values)
    assert resp.status_code == 302, resp.content.decode()[:3000]
    new_id = resp["Location"].rstrip("/").rsplit("/", 1)[-1]
    new = engine.containers.inspect(new_id)
    assert new["Name"] == old["Name"] and new["Id"] != old["Id"]
    assert "LEVEL=2" in new["Config"]["Env"] and "SECRET_KEY=k3y" in new["Config"]["Env"]
    assert new["State"]["Running"], "it was running, so the new one runs"
    health = dict(new["Config"]["Healthcheck"])
    if engine.lab_kind == "podman":
        health.pop("Timeout")  # Podman fills in its default (30 s) where none was given
    assert new["HostConfig"]["Dns"] == ["192.0.2.53"] and health == HEALTH
    assert new["HostConfig"]["Memory"] == 0
    assert "kept-alias" in new["NetworkSettings"]["Networks"][extra["Name"]]["Aliases"]
    assert [r for r in engine.containers.list(all=True) if r["Id"] == old["Id"]] == []
    entry = AuditEntry.objects.get(action="container.recreate")
    assert entry.outcome == "ok" and entry.params["new_id"] == new_id
    engine.containers.remove(new_id, force=True)


def test_a_recreate_that_fails_part_way_says_what_it_did_and_puts_things_back(
    lab_settings, admin, engine, make_container
):
    # Another container holds host port 18091: the new one is created but cannot start.
    make_container(
        ExposedPorts={"80/tcp": {}},
        HostConfig={"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "18091"}]}},
    )
    old = make_container(["sleep", "300"])
    values = page_form(admin.get(f"{LIST}{old['Id']}/edit/").content.decode())
    values.update(
        {
            "ports-TOTAL_FORMS": "1",
            "ports-0-container_port": "80",
            "ports-0-host_port": "18091",
            "ports-0-protocol": "tcp",
        }
    )
    resp = admin.post(f"{LIST}{old['Id']}/edit/", values)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert re.search(r"<strong>failed</strong>: start the new container", html)
    # Docker: "port is already allocated"; Podman: "address already in use".
    assert "port is already allocated" in html or "address already in use" in html
    assert "undo: remove the new container" in html
    back = engine.containers.inspect(old["Id"])
    assert back["Name"] == old["Name"] and back["State"]["Running"]
    names = [n for r in engine.containers.list(all=True) for n in r["Names"]]
    assert not [n for n in names if n.startswith(old["Name"] + "-new-")], "the new one is gone"
    entry = AuditEntry.objects.get(action="container.recreate")
    assert entry.outcome == "failed" and "start the new container" in entry.message


def test_a_health_check_and_tmpfs_from_the_form_and_a_duplicate_that_keeps_them(
    lab_settings, admin, engine, ui_label
):
    resp = admin.post(
        NEW,
        form_data(
            ui_label,
            name=f"dt-{RUN_ID}-health",
            command="sleep 300",
            health_cmd='["test", "-d", "/tmp"]',
            health_interval="1m30s",
            health_timeout="5s",
            health_start_period="500ms",
            health_start_interval="1s",
            health_retries="4",
            tmpfs="/run:size=16m,mode=1777\n/cache",
        ),
    )
    assert resp.status_code == 302, resp.content.decode()[:3000]
    (row,) = made_with(engine, ui_label)
    made = engine.containers.inspect(row["Id"])
    # The start interval is API 1.44's: Docker 20.10 and Podman (API 1.41) drop it.
    start_interval = {"StartInterval": 10**9} if engine.lab_engine == "docker26" else {}
    assert made["Config"]["Healthcheck"] == {
        "Test": ["CMD", "test", "-d", "/tmp"],
        "Interval": 90 * 10**9,
        "Timeout": 5 * 10**9,
        "StartPeriod": 500 * 10**6,
        **start_interval,
        "Retries": 4,
    }
    tmpfs = made["HostConfig"]["Tmpfs"]
    if engine.lab_kind == "podman":
        # Podman reports each tmpfs with its own default options after the given ones.
        tmpfs = {k: v.replace(",rw,rprivate,nosuid,nodev,tmpcopyup", "") for k, v in tmpfs.items()}
        tmpfs["/cache"] = tmpfs["/cache"].replace("rw,rprivate,nosuid,nodev,tmpcopyup", "")
    assert tmpfs == {"/run": "size=16m,mode=1777", "/cache": ""}
    values = page_form(admin.get(f"{NEW}?from={row['Id']}").content.decode())
    assert values["health_cmd"] == '["test", "-d", "/tmp"]' and values["health_interval"] == "1m30s"
    resp = admin.post(NEW, {**values, "then": "create"})
    assert resp.status_code == 302, resp.content.decode()[:3000]
    copy = next(r for r in made_with(engine, ui_label) if r["Id"] != row["Id"])
    again = engine.containers.inspect(copy["Id"])
    assert again["Config"]["Healthcheck"] == made["Config"]["Healthcheck"]
    assert again["HostConfig"]["Tmpfs"] == made["HostConfig"]["Tmpfs"]


def test_no_health_check_turns_the_images_off(lab_settings, admin, engine, ui_label):
    resp = admin.post(NEW, form_data(ui_label, command="sleep 300", no_healthcheck="on"))
    assert resp.status_code == 302, resp.content.decode()[:3000]
    (row,) = made_with(engine, ui_label)
    health = engine.containers.inspect(row["Id"])["Config"]["Healthcheck"]
    # Podman fills in its default interval, timeout and retries beside the NONE.
    assert health["Test"] == ["NONE"]
    assert engine.lab_kind == "podman" or health == {"Test": ["NONE"]}
