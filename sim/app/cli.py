"""`vpsim-app`: serve the educators' page (sim/app/page.py) with Solara, on this machine only
by default.

    vpsim-app                    # http://127.0.0.1:8765
    vpsim-app --port 8800
    vpsim-app --host 0.0.0.0     # the classroom's network can reach it: on purpose only

Needs the viz extra: pip install ".[viz]". Without internet, the page also needs Solara's
front-end files in Solara's cache (`make setup` fetches them; or `python -m sim.app.assets`).

The page is Solara's server (Starlette under uvicorn, in production mode, as `solara run`
serves it) behind `RequestGuard`: a request whose path holds a control character (a NUL byte)
or whose query holds a NUL gets 400, not Solara's 500; and when the server listens on this
machine only (127.0.0.1, localhost, ::1), a request for any other `Host:` gets 400, so a web
page elsewhere cannot reach it through DNS rebinding.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

from sim.i18n import LANGUAGES

APP = Path(__file__).resolve().parent / "page.py"


def allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    """`Host:` headers served when listening on `host`; None: any (it is not loopback only)."""
    bare = host.strip("[]").lower()
    if not (bare in ("localhost", "::1") or bare.startswith("127.")):
        return None
    names = {"127.0.0.1", "localhost", "[::1]", f"[{bare}]" if ":" in bare else bare}
    return frozenset({f"{name}:{port}" for name in names} | (names if port == 80 else set()))


class RequestGuard:
    """ASGI middleware: 400 for a malformed request or a `Host:` this server does not answer to.

    Malformed: a control character (NUL included) in the path, or a NUL in the query. Host: when
    `hosts` is given (the server listens on loopback only), only those `host:port` names.
    """

    def __init__(self, app, hosts: frozenset[str] | None) -> None:
        self.app = app
        self.hosts = hosts

    def problem(self, scope) -> str | None:
        path = scope.get("path", "")
        if any(ord(c) < 32 or ord(c) == 127 for c in path):
            return "malformed request: a control character in the path"
        query = scope.get("query_string", b"")
        if b"\0" in query or b"%00" in query.lower():
            return "malformed request: a NUL byte in the query"
        if self.hosts is not None:
            host = next((v.decode("latin-1").strip().lower() for k, v in scope.get("headers", [])
                         if k.lower() == b"host"), "")
            if host not in self.hosts:
                return "this server answers only to " + ", ".join(sorted(self.hosts))
        return None

    async def __call__(self, scope, receive, send) -> None:
        problem = self.problem(scope) if scope["type"] in ("http", "websocket") else None
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            body = f"400 Bad Request: {problem}\n".encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        else:  # a websocket handshake refused before it is accepted: HTTP 403
            await send({"type": "websocket.close", "code": 1008})


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + error
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range: allowed [1, 65535]")
    return port


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="vpsim-app", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=_port, default=8765, help="port to serve on (default 8765)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--lang", default=LANGUAGES[0], choices=LANGUAGES,
                   help="the page's language: en (English, default) or es (Spanish)")
    return p


def _check_free(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return f"--host {host!r} is not an address of this machine: {error.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use: pick another with --port N"
            return f"cannot listen on {host}:{port}: {error.strerror}"
    return None


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    problem = _check_free(args.host, args.port)
    if problem:
        sys.exit(f"vpsim-app: {problem}")
    try:
        from . import assets as app_assets

        missing = app_assets.missing()
    except ImportError:
        sys.exit('vpsim-app: the app needs the viz extra: pip install ".[viz]"')
    if missing:
        print(f"vpsim-app: Solara's front-end files are not in {app_assets.cache_dir()}: the "
              "page loads them from the internet (offline: run python -m sim.app.assets "
              "first)", file=sys.stderr)
    os.environ["VPSIM_LANG"] = args.lang  # read by the page when Solara imports it
    print(f"vpsim-app: serving http://{args.host}:{args.port} (Ctrl-C stops)", flush=True)
    serve(args.host, args.port)


def serve(host: str, port: int) -> None:
    """Solara's server for sim/app/page.py, as `solara run --production` starts it, guarded."""
    # A classroom page reports nothing to Solara's usage statistics (and offline it cannot).
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ["SOLARA_APP"] = str(APP)  # read when Solara's server is imported
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)
    import copy

    import uvicorn
    from solara.__main__ import LOGGING_CONFIG
    from solara.server import settings

    settings.main.mode = "production"
    import solara.server.starlette as solara_server

    logging_config = copy.deepcopy(LOGGING_CONFIG)
    logging_config["loggers"]["solara"]["level"] = "WARNING"
    app = RequestGuard(solara_server.app, allowed_hosts(host, port))
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=logging_config,
                                  log_level="warning")).run()


if __name__ == "__main__":
    main()
