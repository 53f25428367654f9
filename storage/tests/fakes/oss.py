"""A small Aliyun OSS on loopback: path-style buckets, V1 signatures checked.

It answers what ``oss2`` sends: PUT, GET (with byte ranges), HEAD and DELETE
of objects, each signed with ``Authorization: OSS <ak>:<signature>`` (HMAC-SHA1
over verb, Content-MD5, Content-Type, Date, the canonical ``x-oss-`` headers
and the resource), and presigned GET URLs (``OSSAccessKeyId``, ``Expires``,
``Signature``). A wrong signature, key id, stale Date or expired URL is refused
with OSS's own XML error, as the real service does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, unquote, urlsplit

from config.tests.loopback_server import LoopbackServer

# oss2's list of sub-resources that belong in the signed resource string.
_SUBRESOURCES = frozenset(
    {
        "acl",
        "uploads",
        "location",
        "cors",
        "logging",
        "website",
        "referer",
        "lifecycle",
        "delete",
        "append",
        "tagging",
        "objectMeta",
        "uploadId",
        "partNumber",
        "security-token",
        "position",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "x-oss-process",
        "symlink",
        "restore",
    }
)
_MAX_SKEW_SECONDS = 15 * 60


@dataclass
class StoredObject:
    body: bytes
    content_type: str
    etag: str


@dataclass
class FakeOSS:
    """The server's state; tests read ``objects`` and ``requests`` directly."""

    access_key_id: str
    access_key_secret: str
    buckets: set[str]
    objects: dict[tuple[str, str], StoredObject] = field(default_factory=dict)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: LoopbackServer | None = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def sign(self, verb: str, md5: str, content_type: str, date: str, canon: str) -> str:
        string = "\n".join([verb, md5, content_type, date, canon]).encode()
        digest = hmac.new(self.access_key_secret.encode(), string, hashlib.sha1).digest()
        return base64.b64encode(digest).decode()


def start_fake_oss(*, access_key_id: str, access_key_secret: str, buckets: set[str]) -> FakeOSS:
    state = FakeOSS(access_key_id, access_key_secret, set(buckets))
    handler = type("Handler", (_Handler,), {"state": state})
    state.server = LoopbackServer(handler).start()
    return state


def stop_fake_oss(state: FakeOSS) -> None:
    assert state.server is not None
    state.server.stop()


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Handler(BaseHTTPRequestHandler):
    state: FakeOSS
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, verb: str) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        path = unquote(parts.path)
        bucket, _, key = path.lstrip("/").partition("/")
        body = self._read_body() if verb == "PUT" else b""
        try:
            self._authenticate(verb, bucket, key, query)
            if bucket not in self.state.buckets:
                raise _Refused(404, "NoSuchBucket", "The specified bucket does not exist.")
            if not key:
                raise _Refused(400, "InvalidArgument", "This fake only serves objects.")
            status = getattr(self, f"_{verb.lower()}")(bucket, key, body)
        except _Refused as refused:
            status = refused.status
            self._error(refused, send_body=verb != "HEAD")
        with self.state.lock:
            self.state.requests.append((verb, path, status))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authenticate(self, verb: str, bucket: str, key: str, query: dict[str, str]) -> None:
        resource = f"/{bucket}/{key}" + _subresources(query)
        md5 = self.headers.get("Content-MD5", "")
        content_type = self.headers.get("Content-Type", "")
        canon = _canonical_headers(self.headers.items()) + resource
        if "Signature" in query:
            key_id, signature, expires = (
                query.get("OSSAccessKeyId", ""),
                query["Signature"],
                query.get("Expires", ""),
            )
            if not expires.isdigit() or int(expires) < time.time():
                raise _Refused(403, "AccessDenied", "Request has expired.")
            date = expires
        else:
            authorization = self.headers.get("Authorization", "")
            if not authorization.startswith("OSS ") or ":" not in authorization:
                raise _Refused(403, "AccessDenied", "Anonymous access is forbidden.")
            key_id, _, signature = authorization[4:].partition(":")
            date = self.headers.get("x-oss-date") or self.headers.get("Date", "")
            try:
                skew = abs(time.time() - parsedate_to_datetime(date).timestamp())
            except (TypeError, ValueError) as exc:
                raise _Refused(403, "AccessDenied", "Missing or bad Date header.") from exc
            if skew > _MAX_SKEW_SECONDS:
                raise _Refused(403, "RequestTimeTooSkewed", "The request time is too skewed.")
        if key_id != self.state.access_key_id:
            raise _Refused(403, "InvalidAccessKeyId", "The OSS Access Key Id does not exist.")
        expected = self.state.sign(verb, md5, content_type, date, canon)
        if not hmac.compare_digest(expected, signature):
            raise _Refused(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )

    def _put(self, bucket: str, key: str, body: bytes) -> int:
        etag = hashlib.md5(body).hexdigest().upper()  # noqa: S324 (OSS's ETag is an MD5)
        content_type = self.headers.get("Content-Type") or "application/octet-stream"
        with self.state.lock:
            self.state.objects[(bucket, key)] = StoredObject(body, content_type, etag)
        self._send(200, b"", {"ETag": f'"{etag}"'})
        return 200

    def _get(self, bucket: str, key: str, body: bytes) -> int:
        obj = self._object(bucket, key)
        data, status, extra = obj.body, 200, {}
        header = self.headers.get("Range", "")
        if header.startswith("bytes="):
            first, _, last = header[6:].partition("-")
            start = int(first or 0)
            end = min(int(last), len(data) - 1) if last else len(data) - 1
            extra["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start : end + 1], 206
        self._send(
            status, data, {"Content-Type": obj.content_type, "ETag": f'"{obj.etag}"', **extra}
        )
        return status

    def _head(self, bucket: str, key: str, body: bytes) -> int:
        obj = self._object(bucket, key)
        self._send(
            200,
            b"",
            {"Content-Type": obj.content_type, "ETag": f'"{obj.etag}"'},
            length=len(obj.body),
        )
        return 200

    def _delete(self, bucket: str, key: str, body: bytes) -> int:
        with self.state.lock:
            self.state.objects.pop((bucket, key), None)
        self._send(204, b"", {})
        return 204

    def _object(self, bucket: str, key: str) -> StoredObject:
        with self.state.lock:
            obj = self.state.objects.get((bucket, key))
        if obj is None:
            raise _Refused(404, "NoSuchKey", "The specified key does not exist.")
        return obj

    def _error(self, refused: _Refused, *, send_body: bool) -> None:
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{refused.code}</Code><Message>{refused.message}</Message>"
            f"<RequestId>{uuid.uuid4().hex}</RequestId><HostId>127.0.0.1</HostId></Error>"
        ).encode()
        self._send(
            refused.status,
            xml if send_body else b"",
            {"Content-Type": "application/xml"},
            length=len(xml),
        )

    def _send(
        self, status: int, body: bytes, headers: dict[str, str], *, length: int | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("x-oss-request-id", uuid.uuid4().hex.upper())
        self.send_header("Date", formatdate(usegmt=True))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if body:
            self.wfile.write(body)


def _canonical_headers(headers: object) -> str:
    pairs = sorted((k.lower(), v) for k, v in headers if k.lower().startswith("x-oss-"))  # type: ignore[attr-defined]
    return "".join(f"{k}:{v}\n" for k, v in pairs)


def _subresources(query: dict[str, str]) -> str:
    pairs = sorted((k, v) for k, v in query.items() if k in _SUBRESOURCES)
    if not pairs:
        return ""
    return "?" + "&".join(f"{k}={v}" if v else k for k, v in pairs)
