"""Swarm calls: the swarm itself (init, join, leave, update, unlock), nodes, services, tasks,
secrets and configs.

Swarm objects are updated by sending their whole Spec with the `Version.Index` it was read
at (`?version=N`); a write based on a stale read is refused with "update out of sequence"
(API 1.41 says so as a 500 `rpc error: code = Unknown desc = update out of sequence`).
`versioned_update` reads, applies the change, writes, and on that refusal reads again and
retries once; a second refusal is a real conflict (someone keeps changing the object) and
is raised as `Conflict` with the engine's words.

What API 1.41 (Docker 20.10) lacks of the swarm API, against 1.56: the `Swarm` header on
`/_ping` (1.42; use `/info`), cluster (CSI) volumes (1.42), `Privileges.Seccomp`,
`Privileges.AppArmor` and `NoNewPrivileges` in a ContainerSpec (1.44 and later),
`OomScoreAdj` (1.46), tmpfs mount `Options` (1.46), `SwapBytes` and `MemorySwappiness` in
task resources (1.52). The top-level `ServiceSpec.Networks` is deprecated from 1.44: this
client always uses `TaskTemplate.Networks`, which 1.41 takes too.
"""

from __future__ import annotations

import base64
import builtins
import copy
import dataclasses
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .errors import Conflict, EngineError, InvalidArgument
from .streams import LogStream
from .validators import (
    check_addr,
    check_image,
    check_join_token,
    check_labels,
    check_ref,
    check_secret_name,
    check_service_name,
    check_unlock_key,
    parse_reference,
)

if TYPE_CHECKING:
    from .client import EngineClient

MAX_SECRET_BYTES = 500 * 1024
MAX_CONFIG_BYTES = 1000 * 1024
ROLES = ("worker", "manager")
AVAILABILITIES = ("active", "pause", "drain")
OUT_OF_SEQUENCE = "update out of sequence"
# The label keys of `details=1` service logs that say where a line comes from.
LOG_NODE, LOG_SERVICE, LOG_TASK = (
    "com.docker.swarm.node.id",
    "com.docker.swarm.service.id",
    "com.docker.swarm.task.id",
)


def is_out_of_sequence(exc: EngineError) -> bool:
    return OUT_OF_SEQUENCE in exc.message


def versioned_update(
    read: Callable[[], dict[str, Any]],
    write: Callable[[int, dict[str, Any]], Any],
    change: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> Any:
    """Read the object, let `change` edit (or replace) a copy of its Spec, write it with the
    version it was read at. Retried once, from a fresh read, when the engine says another
    write came in between; a second such refusal is raised as a Conflict."""
    for attempt in range(2):
        obj = read()
        spec = copy.deepcopy(obj.get("Spec") or {})
        changed = change(spec)
        if changed is not None:
            spec = changed
        index = int(((obj.get("Version") or {}).get("Index")) or 0)
        try:
            return write(index, spec)
        except EngineError as exc:
            if not is_out_of_sequence(exc):
                raise
            if attempt:
                raise Conflict(
                    f"changed by someone else at the same time, twice: {exc.message}", 409
                ) from exc
    raise AssertionError("unreachable")


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    return check_labels(labels)


class SwarmAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def inspect(self) -> dict[str, Any]:
        """`GET /swarm` (with the join tokens): a manager only, else 503."""
        return self._c.get_json("/swarm")

    def local_state(self) -> dict[str, Any]:
        """This engine's part in a swarm, from `/info` (every engine answers it):
        {state: inactive|pending|active|error|locked, manager: bool, node_id, node_addr,
        error, nodes, managers, remote_managers}."""
        info = self._c.get_json("/info").get("Swarm") or {}
        return {
            "state": info.get("LocalNodeState") or "inactive",
            "manager": bool(info.get("ControlAvailable")),
            "node_id": info.get("NodeID") or "",
            "node_addr": info.get("NodeAddr") or "",
            "error": info.get("Error") or "",
            "nodes": info.get("Nodes"),
            "managers": info.get("Managers"),
            "remote_managers": info.get("RemoteManagers") or [],
        }

    def init(
        self,
        listen_addr: str = "0.0.0.0:2377",
        advertise_addr: str = "",
        *,
        data_path_addr: str = "",
        data_path_port: int | None = None,
        default_addr_pool: Iterable[str] | None = None,
        subnet_size: int | None = None,
        force_new_cluster: bool = False,
        spec: Mapping[str, Any] | None = None,
    ) -> str:
        """`POST /swarm/init`: returns the new node's ID."""
        body: dict[str, Any] = {
            "ListenAddr": check_addr(listen_addr, "listen address"),
            "ForceNewCluster": bool(force_new_cluster),
            "Spec": dict(spec or {}),
        }
        if advertise_addr:
            body["AdvertiseAddr"] = check_addr(advertise_addr, "advertise address")
        if data_path_addr:
            body["DataPathAddr"] = check_addr(data_path_addr, "data path address", port=False)
        if data_path_port:
            if not 1024 <= int(data_path_port) <= 49151:
                raise InvalidArgument("the data path port is between 1024 and 49151")
            body["DataPathPort"] = int(data_path_port)
        pool = []
        for cidr in default_addr_pool or []:
            try:
                pool.append(str(ipaddress.ip_network(cidr, strict=True)))
            except ValueError as exc:
                raise InvalidArgument(f"address pool {cidr!r}: {exc}") from None
        if pool:
            body["DefaultAddrPool"] = pool
        if subnet_size:
            if not 8 <= int(subnet_size) <= 29:
                raise InvalidArgument("the subnet size is a prefix length from 8 to 29")
            body["SubnetSize"] = int(subnet_size)
        return self._c.post_json("/swarm/init", json=body, timeout=max(self._c.timeout, 30.0))

    def join(
        self,
        remote_addrs: Iterable[str],
        join_token: str,
        listen_addr: str = "0.0.0.0:2377",
        advertise_addr: str = "",
        data_path_addr: str = "",
    ) -> None:
        """`POST /swarm/join`. The engine may answer 503 on a timeout while the join goes
        on in the background: callers look at `local_state` afterwards."""
        remotes = [check_addr(a, "manager address") for a in remote_addrs]
        if not remotes:
            raise InvalidArgument("give the address of a manager")
        token = check_join_token(join_token)
        body: dict[str, Any] = {
            "ListenAddr": check_addr(listen_addr, "listen address"),
            "RemoteAddrs": remotes,
            "JoinToken": token,
        }
        if advertise_addr:
            body["AdvertiseAddr"] = check_addr(advertise_addr, "advertise address")
        if data_path_addr:
            body["DataPathAddr"] = check_addr(data_path_addr, "data path address", port=False)
        self._c.request("POST", "/swarm/join", json=body, timeout=max(self._c.timeout, 30.0))

    def leave(self, force: bool = False) -> None:
        """`POST /swarm/leave`; a manager needs `force` (the last one loses the swarm)."""
        self._c.request(
            "POST", "/swarm/leave", params={"force": force}, timeout=max(self._c.timeout, 30.0)
        )

    def update(
        self,
        change: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
        *,
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
        rotate_unlock_key: bool = False,
    ) -> None:
        """`POST /swarm/update` with the current spec as `change` leaves it."""

        def write(index: int, spec: dict[str, Any]) -> None:
            self._c.request(
                "POST",
                "/swarm/update",
                params={
                    "version": index,
                    "rotateWorkerToken": rotate_worker_token,
                    "rotateManagerToken": rotate_manager_token,
                    "rotateManagerUnlockKey": rotate_unlock_key,
                },
                json=spec,
            )

        versioned_update(self.inspect, write, change or (lambda spec: None))

    def unlock_key(self) -> str:
        """`GET /swarm/unlockkey`: empty when autolock is off."""
        return (self._c.get_json("/swarm/unlockkey") or {}).get("UnlockKey") or ""

    def unlock(self, key: str) -> None:
        self._c.request("POST", "/swarm/unlock", json={"UnlockKey": check_unlock_key(key)})


class NodesAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self, filters: Mapping[str, Iterable[str] | str] | None = None
    ) -> list[dict[str, Any]]:
        return self._c.get_json("/nodes", params={"filters": encode_filters(filters)})

    def inspect(self, node: str) -> dict[str, Any]:
        return self._c.get_json("/nodes/{}", check_ref(node, "node"))

    def remove(self, node: str, force: bool = False) -> None:
        """`DELETE /nodes/{id}`: refused for a node that is not down, unless `force`."""
        self._c.request("DELETE", "/nodes/{}", check_ref(node, "node"), params={"force": force})

    def update(self, node: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        """The node's spec (Name, Labels, Role, Availability) as `change` leaves it."""
        node = check_ref(node, "node")

        def write(index: int, spec: dict[str, Any]) -> None:
            self._c.request("POST", "/nodes/{}/update", node, params={"version": index}, json=spec)

        versioned_update(lambda: self.inspect(node), write, change)

    def set_availability(self, node: str, availability: str) -> None:
        if availability not in AVAILABILITIES:
            raise InvalidArgument(f"availability is one of {', '.join(AVAILABILITIES)}")
        self.update(node, lambda spec: spec.update(Availability=availability))

    def set_role(self, node: str, role: str) -> None:
        if role not in ROLES:
            raise InvalidArgument(f"role is one of {', '.join(ROLES)}")
        self.update(node, lambda spec: spec.update(Role=role))

    def set_labels(
        self, node: str, add: Mapping[str, str] | None = None, remove: Iterable[str] = ()
    ) -> None:
        """Add or change some labels and remove others; the rest stay as they are."""
        add = _labels(add)
        gone = list(remove)

        def change(spec: dict[str, Any]) -> None:
            labels = dict(spec.get("Labels") or {})
            for key in gone:
                labels.pop(key, None)
            labels.update(add)
            spec["Labels"] = labels

        self.update(node, change)


class ServicesAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self, filters: Mapping[str, Iterable[str] | str] | None = None, status: bool = True
    ) -> list[dict[str, Any]]:
        """`GET /services`, with `ServiceStatus` (running/desired task counts) by default."""
        return self._c.get_json(
            "/services", params={"filters": encode_filters(filters), "status": status or None}
        )

    def inspect(self, service: str) -> dict[str, Any]:
        return self._c.get_json("/services/{}", check_ref(service, "service"))

    def create(self, spec: Mapping[str, Any], registry_auth: str | None = None) -> dict[str, Any]:
        """`POST /services/create`: returns {ID, Warning} (or Warnings)."""
        check_service_name(spec.get("Name", ""))
        headers = {"X-Registry-Auth": registry_auth} if registry_auth else None
        return self._c.post_json("/services/create", json=dict(spec), headers=headers)

    def update(
        self,
        service: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        registry_auth: str | None = None,
    ) -> builtins.list[str]:
        """The service's spec as `change` leaves it; returns the engine's warnings."""
        service = check_ref(service, "service")
        headers = {"X-Registry-Auth": registry_auth} if registry_auth else None

        def write(index: int, spec: dict[str, Any]) -> list[str]:
            body = self._c.post_json(
                "/services/{}/update",
                service,
                params={"version": index},
                json=spec,
                headers=headers,
            )
            return list((body or {}).get("Warnings") or [])

        return versioned_update(lambda: self.inspect(service), write, change)

    def rollback(self, service: str) -> builtins.list[str]:
        """Back to the previous spec (`rollback=previous`; the spec sent is ignored)."""
        service = check_ref(service, "service")

        def write(index: int, spec: dict[str, Any]) -> list[str]:
            body = self._c.post_json(
                "/services/{}/update",
                service,
                params={"version": index, "rollback": "previous"},
                json=spec,
            )
            return list((body or {}).get("Warnings") or [])

        return versioned_update(lambda: self.inspect(service), write, lambda spec: None)

    def scale(self, service: str, replicas: int) -> builtins.list[str]:
        if type(replicas) is not int or not 0 <= replicas <= 10000:
            raise InvalidArgument("replicas is a whole number from 0 to 10000")

        def change(spec: dict[str, Any]) -> None:
            mode = spec.get("Mode") or {}
            if "Replicated" not in mode:
                raise InvalidArgument("only a replicated service can be scaled")
            mode["Replicated"] = {**(mode.get("Replicated") or {}), "Replicas": replicas}

        return self.update(service, change)

    def set_image(self, service: str, image: str) -> builtins.list[str]:
        image = check_image(image)

        def change(spec: dict[str, Any]) -> None:
            task = spec.setdefault("TaskTemplate", {})
            task.setdefault("ContainerSpec", {})["Image"] = image

        return self.update(service, change)

    def force_update(self, service: str) -> builtins.list[str]:
        """Redeploy every task, nothing else changed (`docker service update --force`)."""

        def change(spec: dict[str, Any]) -> None:
            task = spec.setdefault("TaskTemplate", {})
            task["ForceUpdate"] = int(task.get("ForceUpdate") or 0) + 1

        return self.update(service, change)

    def redeploy(self, service: str, auth: str | None = None) -> tuple[str, builtins.list[str]]:
        """Redeploy every task with the image's tag resolved again at the registry (what a
        CI job that pushed a new build under the same tag wants): the digest comes from
        `GET /distribution`, the spec gets `tag@digest` and a new ForceUpdate in one update.
        Returns the image set and the engine's warnings."""
        raw = self.inspect(service)
        task = (raw.get("Spec") or {}).get("TaskTemplate") or {}
        image = (task.get("ContainerSpec") or {}).get("Image") or ""
        if not image:
            raise InvalidArgument("the service names no image")
        ref = parse_reference(image)
        tagged = str(dataclasses.replace(ref, tag=ref.tag_or_latest, digest=None))
        # An OCI descriptor: its keys are lower-case (`digest`), unlike the rest of the API.
        descriptor = self._c.updates.distribution(tagged, auth).get("Descriptor") or {}
        digest = descriptor.get("digest")
        if not digest:
            raise InvalidArgument(f"the registry named no digest for {tagged}")
        resolved = f"{tagged}@{digest}"

        def change(spec: dict[str, Any]) -> None:
            template = spec.setdefault("TaskTemplate", {})
            template.setdefault("ContainerSpec", {})["Image"] = resolved
            template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1

        return resolved, self.update(raw["ID"], change, registry_auth=auth)

    def remove(self, service: str) -> None:
        self._c.request("DELETE", "/services/{}", check_ref(service, "service"))

    def logs(
        self,
        service: str,
        *,
        follow: bool = False,
        tail: int | str = "all",
        since: float | str | None = None,
        timestamps: bool = True,
        tty: bool = False,
    ) -> LogStream:
        """`GET /services/{id}/logs` from every task, each line with its context
        (`details=1`: node, service and task IDs before the text; see `split_details`).
        Multiplexed unless the service's containers have a TTY (`tty`)."""
        resp = self._c.request(
            "GET",
            "/services/{}/logs",
            check_ref(service, "service"),
            params={
                "follow": follow,
                "stdout": True,
                "stderr": True,
                "tail": str(tail),
                "since": since,
                "timestamps": timestamps,
                "details": True,
            },
            stream=True,
            timeout=0 if follow else None,
        )
        return LogStream(resp, tty=tty, timestamps=timestamps, url=self._c.url)


def split_details(text: str) -> tuple[dict[str, str], str]:
    """A `details=1` log line: 'k=v,k=v text' -> ({k: v}, text). The details are the task's
    swarm labels, comma-separated, then one space."""
    head, sep, rest = text.partition(" ")
    if not sep and "=" not in head:
        return {}, text
    details: dict[str, str] = {}
    for item in head.split(","):
        key, eq, value = item.partition("=")
        if not eq:
            return {}, text  # not a details prefix after all
        details[key] = value
    return details, rest


class TasksAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self, filters: Mapping[str, Iterable[str] | str] | None = None
    ) -> list[dict[str, Any]]:
        """`GET /tasks`; filters: service, node, desired-state, id, name, label."""
        return self._c.get_json("/tasks", params={"filters": encode_filters(filters)})

    def inspect(self, task: str) -> dict[str, Any]:
        return self._c.get_json("/tasks/{}", check_ref(task, "task"))


class _DataObjects:
    """Secrets and configs: the same calls under two paths."""

    kind = ""
    max_bytes = 0

    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self, filters: Mapping[str, Iterable[str] | str] | None = None
    ) -> list[dict[str, Any]]:
        return self._c.get_json(f"/{self.kind}s", params={"filters": encode_filters(filters)})

    def inspect(self, ref: str) -> dict[str, Any]:
        return self._c.get_json(f"/{self.kind}s/{{}}", check_ref(ref, self.kind))

    def create(
        self, name: str, data: bytes, labels: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """`POST /{kind}s/create`: returns {ID}. The value is sent base64-encoded."""
        value = self._value(data)
        body = {
            "Name": check_secret_name(name, self.kind),
            "Labels": _labels(labels),
            "Data": base64.b64encode(value).decode(),
        }
        return self._c.post_json(f"/{self.kind}s/create", json=body)

    def remove(self, ref: str) -> None:
        """Refused by the engine while a service uses it."""
        self._c.request("DELETE", f"/{self.kind}s/{{}}", check_ref(ref, self.kind))

    def _value(self, data: object) -> bytes:
        if not isinstance(data, bytes) or not data:
            raise InvalidArgument(f"the {self.kind}'s value is empty")
        if len(data) > self.max_bytes:
            raise InvalidArgument(f"a {self.kind} holds at most {self.max_bytes // 1024} KiB")
        return data


class SecretsAPI(_DataObjects):
    """The engine never gives a secret's value back (`Spec.Data` is not returned)."""

    kind = "secret"
    max_bytes = MAX_SECRET_BYTES


class ConfigsAPI(_DataObjects):
    kind = "config"
    max_bytes = MAX_CONFIG_BYTES
