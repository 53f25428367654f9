"""The shared browser fixture: it drives Debian's Chromium and cannot leave loopback."""

from __future__ import annotations

import http.server

from config.tests.browser import save_screenshot
from config.tests.loopback_server import LoopbackServer


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>ok</title><main><h1>Hello</h1><button>Press</button></main>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_browser_renders_a_loopback_page_found_by_role(page) -> None:
    server = LoopbackServer(_Page).start()
    try:
        page.goto(server.base_url)
        page.get_by_role("button", name="Press").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Hello"
        assert save_screenshot(page, "browser-fixture").stat().st_size > 0
    finally:
        server.stop()


def test_browser_cannot_reach_outside_hosts(page) -> None:
    for url in ("http://example.com/", "http://10.0.0.1/", "http://169.254.169.254/"):
        try:
            response = page.goto(url, timeout=5_000)
        except Exception as error:  # net::ERR_* from the dead proxy or the resolver
            assert "ERR_" in str(error)
        else:
            raise AssertionError(f"{url} answered {response and response.status}")
