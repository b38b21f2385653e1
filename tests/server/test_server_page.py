"""Every `curl` command of docs/server.md, run as written (bash, $KEY set) against a live `vecdb serve`
started as the page says; each must answer 2xx with a JSON (or health) body. (tests/docs runs the
page's blocks too, server start included; this test checks every status code.)"""
import json
import os
import re
import subprocess

import pytest

from .conftest import KEY, ROOT

pytestmark = pytest.mark.slow
# Prints the status after each answer; the README's lines run unchanged otherwise.
WRAPPER = "curl() { command curl -w '\\n@@status %{http_code}\\n' \"$@\"; }\n"


def server_section() -> str:
    return (ROOT / "docs" / "server.md").read_text()


def curl_commands(section: str) -> list[str]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for command in re.sub(r"\\\n\s*", " ", block).splitlines():
            if command.strip().startswith("curl "):
                commands.append(command.strip())
    return commands


def test_server_page_curl_commands_answer_2xx(servers):
    _, server, _ = servers
    section = server_section()
    assert "vecdb serve --db ~/my-db --host 127.0.0.1 --port 8000 --api-key \"$KEY\"" in section
    commands = curl_commands(section)
    assert len(commands) >= 6 and all("localhost:8000" in c for c in commands)
    script = WRAPPER + "\n".join(c.replace("localhost:8000", server.url.removeprefix("http://"))
                                 for c in commands)
    out = subprocess.run(["bash", "-euc", script], env=dict(os.environ, KEY=KEY), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    answers = re.findall(r"(.*?)\n@@status (\d{3})\n", out.stdout, re.S)
    assert len(answers) == len(commands), out.stdout
    for command, (body, status) in zip(commands, answers):
        assert status in ("200", "201"), (command, status, body)
        json.loads(body)  # every answer is JSON
    created, added, found = (json.loads(b) for b, _ in answers[1:4])
    assert created["name"] == "docs" and added["added"] == 1 and found["hits"][0]["id"] == "a"
