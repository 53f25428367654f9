"""``manage.py dashscope_simulator`` starts a simulator in its own process, on the
port asked for (0: any free one), and says where."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"


def test_command_serves_dashscope_on_loopback_and_names_its_url() -> None:
    # Given the command started on an ephemeral port
    process = subprocess.Popen(
        [sys.executable, str(MANAGE), "dashscope_simulator", "--port", "0", "--time-scale", "100"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        # Then its first line names a loopback base URL that speaks DashScope
        assert line.startswith("DashScope simulator on http://127.0.0.1:")
        base_url = line.split()[3]
        assert base_url.endswith("/api/v1")
        answer = httpx.get(f"{base_url}/tasks/some-id", headers={"Authorization": "Bearer sk-x"})
        assert answer.status_code == 200
        assert answer.json()["output"] == {"task_id": "some-id", "task_status": "UNKNOWN"}
        unauthorised = httpx.get(f"{base_url}/tasks/some-id")
        assert (unauthorised.status_code, unauthorised.json()["code"]) == (401, "InvalidApiKey")
    finally:
        process.terminate()
        process.wait(timeout=10)
