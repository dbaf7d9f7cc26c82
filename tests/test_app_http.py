"""The educators' page as served by `vpsim-app`, over real HTTP: a malformed request gets 400,
not a 500 with a traceback; on loopback only this server's own host names are served (DNS
rebinding: a page elsewhere that points its name at 127.0.0.1 gets nothing)."""

import http.client
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import PYTHON, REPO

pytest.importorskip("solara", reason="the viz extra is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("app_http") / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen([PYTHON, "-m", "sim.app.cli", "--port", str(port)], cwd=REPO,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"vpsim-app exited ({process.returncode}): "
                                   f"{log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no HTTP 200 from port {port} in 120 s")
            time.sleep(0.3)
        yield port, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def get(port: int, path: str, host: str | None = None, headers: dict | None = None):
    """(status, body) of a raw GET: the path is sent exactly as given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/static/%00x", "/%00", "/static/a%00b.js", "/?x=%00",
                                  "/static/%0a%0d"])
def test_a_nul_byte_or_control_character_in_the_url_is_a_400(server, path):
    port, log = server
    status, body = get(port, path)
    assert status == 400, body[:500]
    assert "malformed request" in body
    assert "Traceback" not in Path(log).read_text()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}",
                                  "127.0.0.1:1", ""])
def test_a_host_other_than_this_servers_own_is_a_400(server, host):
    port, _ = server
    status, body = get(port, "/", host=host.format(port=port))
    assert status == 400
    assert "answers only to" in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}",
                                  "[::1]:{port}"])
def test_this_servers_own_host_names_are_served(server, host):
    port, _ = server
    status, body = get(port, "/", host=host.format(port=port))
    assert status == 200
    assert "solara" in body.lower()


def test_a_websocket_from_another_host_is_refused(server):
    port, _ = server
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    status, _ = get(port, "/jupyter/api/kernels/x/channels?session_id=x", host="evil.example",
                    headers=upgrade)
    assert status != 101  # no connection upgraded
    assert status in (400, 403)


def test_the_host_allow_list_is_for_loopback_only():
    from sim.app.cli import allowed_hosts

    assert allowed_hosts("127.0.0.1", 8765) == {"127.0.0.1:8765", "localhost:8765",
                                                "[::1]:8765"}
    assert "[::1]:80" in allowed_hosts("::1", 80) and "localhost" in allowed_hosts("::1", 80)
    assert allowed_hosts("0.0.0.0", 8765) is None  # a classroom network: any name it is given
    assert allowed_hosts("192.168.1.20", 8765) is None
