"""`vpsim-app`: serve the educators' page (sim/app/page.py) with Solara, on this machine only
by default.

    vpsim-app                    # http://127.0.0.1:8765
    vpsim-app --port 8800
    vpsim-app --host 0.0.0.0     # the classroom's network can reach it: on purpose only

Needs the viz extra: pip install ".[viz]". Without internet, the page also needs Solara's
front-end files in Solara's cache (`make setup` fetches them; or `python -m sim.app.assets`).
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "page.py"


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
    print(f"vpsim-app: serving http://{args.host}:{args.port} (Ctrl-C stops)", flush=True)
    # A classroom page reports nothing to Solara's usage statistics (and offline it cannot).
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    command = [sys.executable, "-m", "solara", "run", str(APP), "--host", args.host,
               "--port", str(args.port), "--production", "--no-open",
               "--log-level", "warning"]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
