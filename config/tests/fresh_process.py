"""Python code run in a fresh interpreter, as a deployment starts the project.

Settings are read once per process, so a test of what the environment decides
(settings, logging, what a worker imports) runs its probe in a new interpreter
at the repository root, with only PATH, a HOME and a VAR_DIR of its own and the
variables the test gives.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
