#!/usr/bin/env -S python3 -S
"""A stand-in for a container engine and its compose command, for the tests of deploy.sh and
rollback.sh (tests/pipeline/test_deploy_scripts.py). Installed under the names the scripts call
(podman, podman-compose, docker, docker-compose); what it is called decides what it plays.

It keeps the containers, volumes, networks and images of one host in state.json beside it, logs
every call (calls.log), and behaves as the real tools do where the scripts depend on it:
podman-compose never recreates an existing container and reads .env over the environment;
docker compose recreates a container whose image changed and reads the environment over .env.
What each image does is in images.json: {"IMAGE": {"healthy": bool, "plan": {...}}}; an image
not listed is healthy and has nothing to migrate. Files beside it change the rest: pull_fail
(images that cannot be pulled, one a line), dump_rc, migrate_rc.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE = HERE / "state.json"
SERVICE_IMAGES = {"postgres": "postgres:13", "redis": "redis:7", "nginx": "nginx:1.27"}


def load() -> dict:
    if STATE.exists():
        return json.loads(STATE.read_text())
    return {"containers": {}, "volumes": [], "networks": [], "images": {}, "next": 1}


def save(state: dict) -> None:
    STATE.write_text(json.dumps(state, indent=1))


def log(line: str) -> None:
    with (HERE / "calls.log").open("a") as out:
        out.write(line + "\n")


def setting(name: str, default: str = "") -> str:
    path = HERE / name
    return path.read_text().strip() if path.exists() else default


def behaviour(image: str) -> dict:
    path = HERE / "images.json"
    table = json.loads(path.read_text()) if path.exists() else {}
    return {"healthy": True, "plan": None, **table.get(image, {})}


def dotenv(key: str) -> str:
    env = Path(".env")
    value = ""
    if env.exists():
        for line in env.read_text().splitlines():
            if line.startswith(f"{key}="):
                value = line.split("=", 1)[1]
    return value


def find(state: dict, ref: str) -> tuple[str, dict] | None:
    for name, box in state["containers"].items():
        if ref in (name, box["id"]):
            return name, box
    return None


# ---------------------------------------------------------------- compose --------------------
def compose(args: list[str], podman: bool) -> int:
    project = "default"
    if args[:1] == ["-p"]:
        project, args = args[1], args[2:]
    env_image, password = (
        (
            dotenv(key) or os.environ.get(key, "")
            if podman  # podman-compose 1.0.3: .env over the environment
            else os.environ.get(key) or dotenv(key)
        )
        for key in ("APP_IMAGE", "POSTGRES_PASSWORD")
    )
    log(f"compose {' '.join(args)} | APP_IMAGE={env_image} POSTGRES_PASSWORD={password}")
    state = load()
    command, rest = args[0], args[1:]
    options = [a for a in rest if a.startswith("-")]
    if command == "up":
        services = [a for a in rest if not a.startswith("-")]
        if podman and ("app" in services or "nginx" in services):
            services = ["postgres", "redis", *services]  # podman-compose ignores --no-deps
        for service in dict.fromkeys(services):
            image = env_image if service == "app" else SERVICE_IMAGES[service]
            name = f"{project}_{service}_1"
            found = find(state, name)
            if found and not podman and found[1]["image"] != image:
                del state["containers"][name]  # docker compose recreates it
                found = None
            if found:
                found[1]["running"] = True
                continue
            if service == "postgres" and f"{project}_postgres-data" not in state["volumes"]:
                state["volumes"].append(f"{project}_postgres-data")
            create(state, name, service, image, oneoff=False)
        save(state)
        return 0
    if command == "run":
        name = rest[rest.index("--name") + 1]
        if find(state, name):
            print(f"Error: the container name {name} is already in use", file=sys.stderr)
            return 125
        box = create(state, name, "app", env_image, oneoff=True)
        box["aliases"] = podman or "--use-aliases" in options
        box["restart"] = "no" if (not podman or "--rm" in options) else "unless-stopped"
        save(state)
        return 0
    return 0


def create(state: dict, name: str, service: str, image: str, oneoff: bool) -> dict:
    box = {
        "id": f"c{state['next']:011d}",
        "service": service,
        "image": image,
        "running": True,
        "oneoff": oneoff,
        "restart": "unless-stopped",
        "visible": True,
    }
    state["next"] += 1
    if service == "app" and not behaviour(image).get("starts", True):
        box["running"] = False
    state["containers"][name] = box
    return box


# ---------------------------------------------------------------- engine ---------------------
def engine(args: list[str]) -> int:
    log("engine " + " ".join(args))
    state = load()
    command, rest = args[0], args[1:]
    if command == "ps":
        filters = [rest[i + 1] for i, a in enumerate(rest) if a == "--filter"]
        for name, box in state["containers"].items():
            if all(matches(name, box, f) for f in filters):
                print(box["id"])
        return 0
    if command == "inspect":
        fmt, ref = rest[1], rest[2]
        found = find(state, ref)
        if not found:
            return 125
        box = found[1]
        values = {
            "{{.State.Running}}": "true" if box["running"] else "false",
            "{{.State.Status}}": "running" if box["running"] else "exited",
            "{{.RestartCount}}": "0" if box["running"] else "5",
            "{{.HostConfig.RestartPolicy.Name}}": box["restart"],
            "{{.Image}}": state["images"].get(box["image"], "none"),
        }
        print(values[fmt])
        return 0
    if command == "image" and rest[0] == "inspect":
        ref = rest[-1]
        if ref not in state["images"]:
            return 125
        print(state["images"][ref])
        return 0
    if command == "pull":
        if rest[0] in setting("pull_fail").split():
            print(f"Error: pulling {rest[0]}: not found", file=sys.stderr)
            return 125
        state["images"].setdefault(rest[0], f"sha256:{abs(hash(rest[0])) % 10**12:012d}")
        save(state)
        return 0
    if command in {"rm", "stop"}:
        refs = [a for a in rest if not a.startswith("-") and not a.isdigit()]
        for ref in refs:
            found = find(state, ref)
            if found:
                if command == "rm":
                    del state["containers"][found[0]]
                else:
                    found[1]["running"] = False
        save(state)
        return 0
    if command == "volume" and rest[0] == "inspect":
        return 0 if rest[1] in state["volumes"] else 125
    if command == "network":
        if rest[0] in {"connect", "disconnect"}:  # on the front network: found by nginx or not
            found = find(state, rest[-1])
            if not found:
                return 125
            found[1]["visible"] = rest[0] == "connect"
            save(state)
            return 0
        if rest[0] == "exists":
            return 0 if rest[1] in state["networks"] else 1
        if rest[0] == "create":
            state["networks"].append(rest[-1])
            save(state)
        return 0
    if command == "logs":
        print("(container log)")
        return 0
    if command == "exec":
        return execute(state, [a for a in rest if a != "-i"])
    return 0


def matches(name: str, box: dict, spec: str) -> bool:
    key, _, value = spec.partition("=")
    if key == "name":
        return name == value.strip("^$")
    label, _, want = value.partition("=")
    project = name.split("_")[0]
    labels = {
        "com.docker.compose.project": project,
        "com.docker.compose.service": box["service"],
        "com.docker.compose.oneoff": "True" if box["oneoff"] else "False",
    }
    return labels.get(label) == want


def execute(state: dict, args: list[str]) -> int:
    found = find(state, args[0])
    if not found or not found[1]["running"]:
        print("Error: no such running container", file=sys.stderr)
        return 125
    box, cmd = found[1], args[1:]
    joined = " ".join(cmd)
    if cmd[:2] == ["python", "-c"]:  # the health check
        return 0 if behaviour(box["image"])["healthy"] else 1
    if joined == "python simple_db_migration.py --plan":
        plan = behaviour(box["image"])["plan"] or {
            "revision": "0002",
            "head": "0002",
            "pending": [],
            "backward_compatible": True,
        }
        print(json.dumps(plan))
        return 0
    if joined == "python simple_db_migration.py":
        log(f"migrated with {box['image']}")
        return int(setting("migrate_rc", "0"))
    if cmd and cmd[0] == "pg_dump":
        print("CREATE TABLE marker (id integer);")
        return int(setting("dump_rc", "0"))
    if cmd and cmd[0] == "psql":
        (HERE / "restored.sql").write_text(sys.stdin.read())
        return 0
    if cmd[:2] == ["nginx", "-s"]:
        log("nginx reloaded")
    return 0


def main() -> int:
    me = Path(sys.argv[0]).name
    args = sys.argv[1:]
    if me in {"podman-compose", "docker-compose"}:
        return compose(args, podman=me == "podman-compose")
    if me == "docker" and args[:1] == ["compose"]:
        return compose(args[1:], podman=False)
    return engine(args)


if __name__ == "__main__":
    sys.exit(main())
