"""The Docker image as the README promises it (no container engine runs in the suite: the files are read).

The user and its group are both 10001, so a bind-mounted folder can be prepared with one
`chown 10001:10001`; the health check asks the port the server listens on; and the README
says how to read the first admin key, prepare a folder, run the dispatcher from cron and
keep the health check when building with Podman.
"""

import re
import shlex

import pytest

from tests.system.conftest import REPO

pytestmark = pytest.mark.system


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continued lines joined), as (INSTRUCTION, arguments)."""
    text = (REPO / "Dockerfile").read_text()
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    return [
        (line.split(None, 1)[0], line.split(None, 1)[1]) for line in lines if line.strip() and not line.startswith("#")
    ]


def test_the_image_runs_as_user_and_group_10001_and_prepares_data_for_them() -> None:
    steps = instructions()
    commands = [shlex.split(part) for kind, args in steps if kind == "RUN" for part in args.split("&&")]
    groupadd = next(c for c in commands if c[0] == "groupadd")
    useradd = next(c for c in commands if c[0] == "useradd")
    assert groupadd[groupadd.index("--gid") + 1] == "10001"
    assert useradd[useradd.index("--uid") + 1] == "10001" and useradd[useradd.index("--gid") + 1] == "10001"
    assert commands.index(groupadd) < commands.index(useradd), "the group exists before its user"
    assert ["chown", "10001:10001", "/data"] in commands
    assert ("USER", "10001:10001") in steps


def test_the_health_check_asks_the_port_the_server_listens_on() -> None:
    steps = dict(instructions())
    command = shlex.split(steps["CMD"].strip("[]").replace(",", " "))
    assert command[:2] == ["prolo", "serve"] and command[command.index("--port") + 1] == "8000"
    assert "http://127.0.0.1:8000/readyz" in steps["HEALTHCHECK"]
    assert steps["EXPOSE"] == "8000"


def test_the_readme_says_how_to_run_the_image() -> None:
    readme = (REPO / "README.md").read_text()
    docker = readme[readme.index("- **Docker**") :]
    assert "docker logs prolo" in docker  # the first start's admin key
    assert "chown 10001:10001" in docker  # a bind-mounted folder
    assert "docker exec prolo prolo reminders dispatch" in docker  # the dispatcher from cron
    assert "podman build --format docker" in docker  # keeps the HEALTHCHECK
