"""Clients generated from the live /api/schema work as generated.

openapi-python-client and openapi-typescript (+ openapi-fetch, checked by
``tsc --strict``) are generated into the test's temporary folder from the schema a
live server serves, and each runs the whole user journey against that server:
register, login, me, upload image and video, quote, animate-move with an
Idempotency-Key, poll to succeeded (the DashScope simulator in-process, a beat
thread driving the dispatcher), list, credits and history, packages, payment
create, account delete with its password; and the errors a client switches on
(401, 400, 402, 404, 409, 413, 415, 429, 503), each parsed into the error model.
``redocly lint`` finds nothing to report in the schema. The node tools are the ones
``frontend/package.json`` pins (``npm ci`` when ``node_modules`` is missing or
stale), run with telemetry off and preloaded with ``clients/no_network.cjs``: a
connection past loopback fails them and this test.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection

from animations import services as animations
from animations.simulator import Simulator
from billing.models import CreditPackage
from billing.tests.factories import CreditPackageFactory
from billing.tests.ledger import _ledger_stays_exact  # noqa: F401  (the journey ends exact)
from config.tests.loopback_server import LoopbackServer
from storage.tests.media import make_image, make_video

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = Path(__file__).parent / "clients"
FRONTEND = Path(django_settings.BASE_DIR) / "frontend"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "journey-granite-48-owls"
# The journey's limits: one 3 s wan-std move costs 12 credits, the sign-up bonus;
# uploads above 1 MB are 413.
BONUS = 12
MAX_BYTES = 1_000_000
# What the client switches on, in the order the journeys meet them.
ERRORS_SEEN = [
    "insufficient_credits",
    "payment_provider_not_configured",
    "token_not_valid",
    "invalid_credentials",
    "not_found",
    "task_not_cancelable",
    "file_too_large",
    "unsupported_media",
    "user_inactive",
    "throttled",
]


# The live server, the provider, the beat ------------------------------------


class Beat(threading.Thread):
    """Celery beat's job in these tests: run the dispatcher every 50 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            while not self.stopped.wait(0.05):
                animations.dispatch()
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)
        assert self.errors == []


def verification_key(address: str) -> str | None:
    """The key in the latest verification email to ``address`` (the locmem outbox
    of this process, where the live server sends its mail)."""
    for message in reversed(mail.outbox):
        if address in message.to and (found := re.search(r"verify-email\?key=(\S+)", message.body)):
            return unquote(found.group(1))
    return None


class MailboxHandler(BaseHTTPRequestHandler):
    """``GET /key?to=<address>``: the user reading their verification email."""

    def do_GET(self) -> None:
        address = parse_qs(urlsplit(self.path).query).get("to", [""])[0]
        key = verification_key(address)
        body = (key or "").encode()
        self.send_response(200 if key else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Journey:
    url: str
    mailbox: str
    email: str
    image: bytes
    video: bytes

    def schema(self, folder: Path) -> Path:
        """The schema as this live server serves it, saved as JSON."""
        response = httpx.get(
            f"{self.url}/api/schema", headers={"Accept": "application/vnd.oai.openapi+json"}
        )
        assert response.status_code == 200
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "schema.json"
        path.write_bytes(response.content)
        return path


@pytest.fixture
def journey(live_server, settings, stripe_simulator) -> Iterator[Journey]:
    simulator = Simulator(time_scale=1000.0, schedule_delay=0.0).start()
    settings.SITE_URL = live_server.url
    # Payments go to the Stripe simulator, whose signed webhooks reach this server.
    stripe_simulator.configure(webhook_url=f"{live_server.url}/api/payments/webhook/stripe")
    settings.DASHSCOPE_BASE_URLS = {"cn": simulator.base_url, "global": simulator.base_url}
    settings.DASHSCOPE_API_KEYS = {"cn": "sk-test-cn", "global": "sk-test-global"}
    settings.ANIMATIONS_TIME_SCALE = 1000.0
    settings.DASHSCOPE_READ_TIMEOUT = 3.0
    settings.STORAGE_ALLOW_LOOPBACK_IMPORTS = True
    settings.STORAGE_MAX_IMAGE_BYTES = settings.STORAGE_MAX_VIDEO_BYTES = MAX_BYTES
    settings.SIGNUP_BONUS_CREDITS = BONUS
    CreditPackage.objects.all().delete()  # the first migrate's defaults, when still there
    CreditPackageFactory(name="Starter", credits=100, prices={"USD": 500, "CNY": 3500})
    mailbox = LoopbackServer(MailboxHandler).start()
    beat = Beat()
    beat.start()
    try:
        yield Journey(
            # 127.0.0.1, not localhost: node must not try ::1 first
            url=live_server.url.replace("localhost", "127.0.0.1"),
            mailbox=mailbox.base_url,
            email=f"journey-{uuid.uuid4().hex[:8]}@example.com",
            image=make_image(400, 600),
            video=make_video(3.0, 320, 240, 5),
        )
    finally:
        beat.stop()
        mailbox.stop()
        simulator.stop()


# The Python client ----------------------------------------------------------


def _generate_python_client(schema: Path, folder: Path) -> Path:
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(schema),
            "--meta",
            "none",
            "--output-path",
            str(folder / "animate_client"),
            "--config",
            str(CLIENTS / "openapi-python-client.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # its post hooks run ruff, from this virtualenv
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "Error" not in output, output
    return folder


@pytest.fixture
def python_client(journey: Journey, tmp_path: Path) -> Iterator[str]:
    folder = _generate_python_client(journey.schema(tmp_path), tmp_path / "py")
    sys.path.insert(0, str(folder))
    try:
        yield "animate_client"
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == "animate_client"]:
            del sys.modules[name]


def test_every_module_of_the_python_client_imports(python_client: str) -> None:
    package = importlib.import_module(python_client)
    names = [m.name for m in pkgutil.walk_packages(package.__path__, f"{python_client}.")]

    for name in names:
        importlib.import_module(name)
    assert f"{python_client}.api.auth.auth_login" in names
    assert f"{python_client}.models.error" in names


def test_the_python_client_runs_the_journey(journey: Journey, python_client: str) -> None:
    from animate_client import AuthenticatedClient, Client
    from animate_client.api.auth import auth_email_verify, auth_login, auth_me, auth_register
    from animate_client.api.config import config_get
    from animate_client.api.payments import (
        payments_get,
        payments_list,
        payments_packages,
        payments_stripe_create,
        payments_wechat_create,
    )
    from animate_client.api.tasks import tasks_cancel, tasks_get, tasks_user_list
    from animate_client.api.users import users_account_delete, users_credits, users_credits_history
    from animate_client.api.videos import videos_animate_move, videos_quote, videos_upload
    from animate_client.models import (
        AnimateRequestRequest,
        EraseAccountRequest,
        Error,
        KeyRequest,
        LoginRequest,
        ModeEnum,
        PaymentStatusEnum,
        QuoteRequestRequest,
        RegisterRequest,
        StripeCreateRequest,
        TaskStatusEnum,
        TasksUserListStatus,
        TaskTypeEnum,
        TradeTypeEnum,
        UploadKindEnum,
        UploadRequest,
        WechatCreateRequest,
    )
    from animate_client.types import File

    seen: list[str] = []

    def failure(response: Any, status: int, code: str) -> Any:
        """The one error of a failed call, parsed into the model (never an exception)."""
        assert response.status_code == status, (response.status_code, response.content)
        assert isinstance(response.parsed, Error), response.parsed
        first = response.parsed.errors[0]
        assert first.code == code, first
        seen.append(first.code)
        return first

    # raise_on_unexpected_status: a status the schema does not document fails here
    anonymous = Client(base_url=journey.url, raise_on_unexpected_status=True)

    config = config_get.sync_detailed(client=anonymous).parsed
    assert config.sign_in.password is True
    assert config.signup_bonus == BONUS

    registered = auth_register.sync_detailed(
        client=anonymous,
        body=RegisterRequest(email=journey.email, password=PASSWORD, display_name="Py"),
    )
    assert registered.status_code == 201
    assert registered.parsed.user.avatar_url is None
    # the sign-up credits come with a verified address
    key = verification_key(journey.email)
    assert key is not None
    verified = auth_email_verify.sync_detailed(client=anonymous, body=KeyRequest(key=key))
    assert verified.status_code == 204
    tokens = auth_login.sync_detailed(
        client=anonymous, body=LoginRequest(email=journey.email, password=PASSWORD)
    ).parsed
    api = AuthenticatedClient(
        base_url=journey.url, token=tokens.access, raise_on_unexpected_status=True
    )
    me = auth_me.sync_detailed(client=api).parsed
    assert (me.email, me.email_verified) == (journey.email, True)

    def upload(kind: UploadKindEnum, content: bytes, name: str) -> Any:
        return videos_upload.sync_detailed(
            client=api,
            body=UploadRequest(file=File(payload=BytesIO(content), file_name=name), kind=kind),
        )

    image = upload(UploadKindEnum.IMAGE, journey.image, "me.jpg")
    video = upload(UploadKindEnum.VIDEO, journey.video, "move.mp4")
    assert (image.status_code, video.status_code) == (201, 201)
    assert video.parsed.duration == pytest.approx(3.0, abs=0.3)

    quote = videos_quote.sync_detailed(
        client=api,
        body=QuoteRequestRequest(
            video_id=video.parsed.id, mode=ModeEnum.WAN_STD, type_=TaskTypeEnum.MOVE
        ),
    ).parsed
    assert (quote.credits_, quote.available) == (BONUS, BONUS)

    job = AnimateRequestRequest(
        mode=ModeEnum.WAN_STD, image_id=image.parsed.id, video_id=video.parsed.id
    )
    created = videos_animate_move.sync_detailed(client=api, body=job, idempotency_key="py-1")
    repeated = videos_animate_move.sync_detailed(client=api, body=job, idempotency_key="py-1")
    assert created.status_code == 202
    assert repeated.parsed.id == created.parsed.id
    assert created.parsed.credits_.reserved == BONUS
    broke = videos_animate_move.sync_detailed(client=api, body=job, idempotency_key="py-2")
    short = failure(broke, 402, "insufficient_credits")
    assert (short.needed, short.available) == (BONUS, 0)

    task = created.parsed
    deadline = time.monotonic() + 60
    while task.status != TaskStatusEnum.SUCCEEDED:
        assert task.status not in (TaskStatusEnum.FAILED, TaskStatusEnum.CANCELED), task
        assert time.monotonic() < deadline, "the task did not succeed in time"
        time.sleep(0.1)
        task = tasks_get.sync_detailed(client=api, task_id=task.id).parsed
    assert task.result is not None and task.result.url.startswith("http")
    assert task.error is None and task.credits_.charged == BONUS

    listed = tasks_user_list.sync_detailed(client=api, status=TasksUserListStatus.SUCCEEDED)
    assert [t.id for t in listed.parsed.results] == [task.id]
    credits = users_credits.sync_detailed(client=api).parsed
    assert (credits.balance, credits.reserved, credits.available) == (0, 0, 0)
    history = users_credits_history.sync_detailed(client=api).parsed
    assert [e.kind.value for e in history.results] == ["capture", "reserve", "signup_bonus"]
    assert history.next_ is None

    packages = payments_packages.sync_detailed(client=anonymous).parsed
    assert [p.name for p in packages] == ["Starter"]
    payment = payments_stripe_create.sync_detailed(
        client=api, body=StripeCreateRequest(package_id=packages[0].id), idempotency_key="pay-1"
    )
    assert payment.status_code == 201 and payment.parsed.checkout_url is not None
    # the customer presses "Pay" on the checkout page; the simulator's signed
    # webhook grants the credits, never the client
    # (Pay answers with a redirect to the console's return page; a browser follows it)
    assert httpx.post(payment.parsed.checkout_url + "/pay").status_code in (200, 303)
    deadline = time.monotonic() + 15
    while payments_get.sync_detailed(client=api, payment_id=payment.parsed.id).parsed.status != (
        PaymentStatusEnum.PAID
    ):
        assert time.monotonic() < deadline, "the payment was not settled in time"
        time.sleep(0.1)
    assert users_credits.sync_detailed(client=api).parsed.balance == 100
    assert [p.id for p in payments_list.sync_detailed(client=api).parsed.results] == [
        payment.parsed.id
    ]
    # WeChat Pay is not configured in this deployment: 503, in the error model
    unconfigured = payments_wechat_create.sync_detailed(
        client=api,
        body=WechatCreateRequest(package_id=packages[0].id, trade_type=TradeTypeEnum.NATIVE),
    )
    failure(unconfigured, 503, "payment_provider_not_configured")

    # The errors a client switches on
    garbage = AuthenticatedClient(
        base_url=journey.url, token="not-a-token", raise_on_unexpected_status=True
    )
    failure(auth_me.sync_detailed(client=garbage), 401, "token_not_valid")
    wrong = auth_login.sync_detailed(
        client=anonymous, body=LoginRequest(email=journey.email, password="wrong-password-1")
    )
    failure(wrong, 400, "invalid_credentials")
    failure(tasks_get.sync_detailed(client=api, task_id=uuid.uuid4()), 404, "not_found")
    conflict = failure(
        tasks_cancel.sync_detailed(client=api, task_id=task.id), 409, "task_not_cancelable"
    )
    assert conflict.status == "succeeded"
    large = failure(
        upload(UploadKindEnum.VIDEO, bytes(1_200_000), "big.mp4"), 413, "file_too_large"
    )
    assert large.max_bytes == MAX_BYTES
    text = failure(
        upload(UploadKindEnum.IMAGE, b"not a picture", "me.jpg"), 415, "unsupported_media"
    )
    assert text.attr == "file"
    erased = users_account_delete.sync_detailed(
        client=api, body=EraseAccountRequest(password=PASSWORD)
    )
    assert erased.status_code == 204
    failure(auth_me.sync_detailed(client=api), 401, "user_inactive")

    for n in range(15):
        attempt = auth_login.sync_detailed(
            client=anonymous,
            body=LoginRequest(email=f"nobody-{n % 2}-{journey.email}", password="wrong-1"),
        )
        if attempt.status_code == 429:
            failure(attempt, 429, "throttled")
            assert int(attempt.headers["Retry-After"]) > 0
            break
        assert attempt.status_code == 400
    else:
        raise AssertionError("failed sign-ins were never throttled")

    assert seen == ERRORS_SEEN


# Node: the TypeScript client and redocly -------------------------------------


def _npm_tools_fresh() -> bool:
    """``node_modules`` holds every package of the lock at its version (npm's own
    record of what it installed, ``node_modules/.package-lock.json``)."""
    installed = FRONTEND / "node_modules" / ".package-lock.json"
    if not installed.exists():
        return False
    wanted = json.loads((FRONTEND / "package-lock.json").read_text())["packages"]
    have = json.loads(installed.read_text())["packages"]
    for path, package in wanted.items():
        if not path or (package.get("optional") and path not in have):
            continue
        if have.get(path, {}).get("version") != package.get("version"):
            return False
    return True


@pytest.fixture(scope="session")
def node_tools() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if CI:
            pytest.fail("node and npm are needed: the generated-client tests run on every CI run")
        pytest.skip("node is not installed: the TypeScript client and redocly lint need Node 20")
    if not _npm_tools_fresh():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=FRONTEND,
            check=True,
            timeout=600,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )
    return FRONTEND / "node_modules"


def _node(args: list[str], *, cwd: Path, log: Path) -> subprocess.CompletedProcess[str]:
    """``node`` with the network fence preloaded and every tool's telemetry off."""
    env = {
        **os.environ,
        "NODE_OPTIONS": f"--require {CLIENTS / 'no_network.cjs'}",
        "NO_NETWORK_LOG": str(log),
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
        "NO_UPDATE_NOTIFIER": "1",
    }
    return subprocess.run(
        ["node", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _no_network(log: Path) -> None:
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"a node tool tried to leave loopback:\n{attempts}"


def _ts_folder(journey: Journey, tmp_path: Path, node_modules: Path) -> Path:
    folder = tmp_path / "ts"
    journey.schema(folder)
    (folder / "node_modules").symlink_to(node_modules, target_is_directory=True)
    for name in ("journey.ts", "tsconfig.json", "generate_types.mjs", "check_no_casts.mjs"):
        shutil.copy(CLIENTS / name, folder / name)
    (folder / "package.json").write_text('{"type": "module", "private": true}\n')
    (folder / "settings.ts").write_text(
        "\n".join(
            [
                "// Written by test_generated_clients_run_the_journey for this run.",
                f"export const BASE_URL = {json.dumps(journey.url)};",
                f"export const EMAIL = {json.dumps(journey.email)};",
                f"export const PASSWORD = {json.dumps(PASSWORD)};",
                f"export const MAILBOX = {json.dumps(journey.mailbox)};",
                f'export const IMAGE = "{base64.b64encode(journey.image).decode()}";',
                f'export const VIDEO = "{base64.b64encode(journey.video).decode()}";',
                "",
            ]
        )
    )
    return folder


def test_the_typescript_client_type_checks_strictly_and_runs_the_journey(
    journey: Journey, node_tools: Path, tmp_path: Path
) -> None:
    folder = _ts_folder(journey, tmp_path, node_tools)
    log = tmp_path / "network.log"

    generated = _node(["generate_types.mjs", "schema.json", "schema.ts"], cwd=folder, log=log)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    no_casts = _node(["check_no_casts.mjs", "journey.ts"], cwd=folder, log=log)
    assert no_casts.returncode == 0, no_casts.stdout + no_casts.stderr
    compiled = _node(
        ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], cwd=folder, log=log
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert "strict" in json.loads((folder / "tsconfig.json").read_text())["compilerOptions"]
    ran = _node(["out/journey.js"], cwd=folder, log=log)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = json.loads(ran.stdout.strip().splitlines()[-1])
    assert report["seen"] == ERRORS_SEEN
    _no_network(log)


def test_a_cast_in_the_journey_would_be_caught(node_tools: Path, tmp_path: Path) -> None:
    (tmp_path / "node_modules").symlink_to(node_tools, target_is_directory=True)
    shutil.copy(CLIENTS / "check_no_casts.mjs", tmp_path)
    (tmp_path / "bad.ts").write_text(
        "const a = JSON.parse('1') as number;\nconst b: any = a;\nexport const c = b!;\n"
    )

    result = _node(["check_no_casts.mjs", "bad.ts"], cwd=tmp_path, log=tmp_path / "net.log")

    assert result.returncode == 1
    assert [line.split(": ")[1] for line in result.stderr.strip().splitlines()] == [
        "as cast",
        "any",
        "non-null assertion",
    ]


def test_redocly_lint_finds_nothing_in_the_schema(
    journey: Journey, node_tools: Path, tmp_path: Path
) -> None:
    schema = journey.schema(tmp_path)
    log = tmp_path / "network.log"

    result = _node(
        [
            str(node_tools / "@redocly" / "cli" / "bin" / "cli.js"),
            "lint",
            "--config",
            str(CLIENTS / "redocly.yaml"),
            "--format",
            "json",
            str(schema),
        ],
        cwd=tmp_path,
        log=log,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, report["problems"]
    _no_network(log)


def test_the_network_fence_stops_and_reports_a_node_tool_leaving_loopback(
    node_tools: Path, tmp_path: Path
) -> None:
    log = tmp_path / "network.log"
    script = (
        "fetch('http://example.com/').then(() => process.exit(3), (e) => {"
        " console.log(String(e.cause && e.cause.code)); process.exit(0); });"
    )

    result = _node(["-e", script], cwd=tmp_path, log=log)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "example.com" in log.read_text()
    assert _npm_tools_fresh()
