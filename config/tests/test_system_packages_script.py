"""``scripts/system-packages``: what is missing is named in one line when it
cannot be installed; nothing happens when everything is there. (dpkg-query,
id and sudo are stubs here, so the machine's packages are never touched.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(
    tmp_path: Path, mode: str, *, installed: set[str], python: str = ""
) -> subprocess.CompletedProcess:
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    known = " ".join(sorted(installed))
    scripts = {
        # -W: the status of one package; -S: which package owns a path (none here).
        "dpkg-query": f"""#!/bin/bash
if [ "$1" = -S ]; then exit 1; fi
for p in {known}; do [ "$p" = "$3" ] && {{ printf installed; exit 0; }}; done
exit 1
""",
        "id": "#!/bin/bash\necho 1000\n",
        "sudo": "#!/bin/bash\nexit 1\n",
        "apt-get": "#!/bin/bash\necho apt-get must not run >&2; exit 99\n",
    }
    for name, body in scripts.items():
        (stubs / name).write_text(body)
        (stubs / name).chmod(0o755)
    env = {"PATH": f"{stubs}:{os.environ['PATH']}", "PYTHON": python or "python3.11"}
    return subprocess.run(
        [str(ROOT / "scripts/system-packages"), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


# gettext compiles the zh-Hans catalogue (make run and make test); the CJK font
# lets the console's Chinese render in the browser tests' screenshots.
BUILD = {"gcc", "libc6-dev", "pkg-config", "default-libmysqlclient-dev", "gettext"}
SERVERS = {"mariadb-server", "redis-server", "chromium", "fonts-wqy-microhei", "prometheus"}


def test_nothing_happens_when_every_package_is_installed(tmp_path) -> None:
    run = _run(tmp_path, "run", installed=BUILD)
    test = _run(tmp_path, "test", installed=BUILD | SERVERS)

    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert (test.returncode, test.stdout, test.stderr) == (0, "", "")


def test_without_root_it_stops_with_one_line_naming_what_is_missing(tmp_path) -> None:
    run = _run(tmp_path, "run", installed={"gcc", "libc6-dev"})
    test = _run(tmp_path, "test", installed=BUILD | {"redis-server"})

    assert run.returncode == 1
    assert run.stderr == (
        "Missing system packages; install them first: "
        "sudo apt-get install pkg-config default-libmysqlclient-dev gettext\n"
    )
    assert test.returncode == 1
    assert test.stderr.splitlines() == [
        "Missing system packages; install them first: "
        "sudo apt-get install mariadb-server chromium fonts-wqy-microhei prometheus"
    ]


def test_a_missing_python_is_named_with_its_venv_and_headers(tmp_path) -> None:
    run = _run(tmp_path, "run", installed=BUILD, python="python3.11-not-here")

    assert run.returncode == 1
    assert run.stderr.endswith("sudo apt-get install python3.11 python3.11-venv python3.11-dev\n")
