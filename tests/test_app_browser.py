"""The educators' page end to end, in Debian's Chromium driven by Playwright for Python.

`vpsim-app` serves the page on a free port of 127.0.0.1 (one server for this module: a fresh
page for each browser session). The browser is /usr/bin/chromium (`.ci/run` installs it with
apt); Playwright never downloads one. Skipped only where that browser or Playwright is absent.
"""

import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import PYTHON, REPO

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not "
                               "installed (pip install -e '.[dev]')")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (Debian: apt-get install chromium; .ci/run does)",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory, "en")


@pytest.fixture(scope="module")
def server_es(tmp_path_factory):
    yield from serve(tmp_path_factory, "es")


def serve(tmp_path_factory, lang: str):
    port = free_port()
    log = (tmp_path_factory.mktemp("app") / "server.log").open("w")
    process = subprocess.Popen([PYTHON, "-m", "sim.app.cli", "--port", str(port), "--lang",
                                lang], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"vpsim-app exited ({process.returncode}): "
                                   f"{Path(log.name).read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no HTTP 200 from {url} in 90 s")
            time.sleep(0.3)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


BLOB_IMAGES = "img[src^='blob:']"


def image_sources(page) -> list[str]:
    return page.locator(BLOB_IMAGES).evaluate_all("els => els.map(e => e.src)")


def test_page_loads_a_program_switches_on_and_the_series_move(server, tmp_path):
    from sim.app import page as app

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            started = time.perf_counter()
            page.goto(server)
            step = page.get_by_role("button", name="Step", exact=True)
            step.wait_for(timeout=60_000)  # the first build may compile the kernels
            page.wait_for_function(f"document.querySelectorAll(\"{BLOB_IMAGES}\").length >= 5",
                                   timeout=30_000)
            loaded = time.perf_counter() - started
            assert page.get_by_text(re.compile(r"^Time: 0")).is_visible()
            assert page.get_by_text("Planned budget a year: $0").is_visible()

            # Switch re-entry employment on: the budget follows before the run does.
            page.get_by_role("checkbox", name="Reentry employment").check(force=True)
            rows, total = app.budget(app.CONTROLS.settings() | {"reentry_employment": True})
            page.get_by_text(f"Planned budget a year: {app._money(total)}").wait_for(
                timeout=10_000)
            page.get_by_role("button", name="Reset", exact=True).click()
            page.get_by_text(re.compile(r"^Time: 0")).wait_for(timeout=30_000)
            before = image_sources(page)

            stepping = time.perf_counter()
            for weeks in (5, 10, 15):
                step.click()
                page.get_by_text(re.compile(rf"^Time: {weeks}(\.0)?$")).wait_for(timeout=30_000)
            page.wait_for_function(
                f"old => Array.from(document.querySelectorAll(\"{BLOB_IMAGES}\"))"
                ".filter(e => !old.includes(e.src)).length >= 5", arg=before, timeout=30_000)
            per_week = (time.perf_counter() - stepping) / 15
            after = image_sources(page)
            assert len(set(after) - set(before)) >= 5  # the map and four series redrawn
            status = page.locator(".vpsim-text").filter(has_text="since the policy started")
            assert "Week 15" in status.inner_text()
            assert "program cost" in status.inner_text()
            screenshot = tmp_path / "app.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 10_000
            print(f"page ready in {loaded:.1f} s; {per_week * 1e3:.0f} ms per week stepped "
                  f"and drawn in the browser; screenshot {screenshot}")
        finally:
            browser.close()


def test_the_page_in_spanish(server_es):
    """`vpsim-app --lang es`: the page's own words and numbers in Spanish (Mesa's buttons,
    Step and Reset, are Mesa's)."""
    from sim.app import classroom
    from sim.i18n import number

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(server_es)
            step = page.get_by_role("button", name="Step", exact=True)
            step.wait_for(timeout=60_000)
            assert page.get_by_text("Presupuesto anual previsto: 0 USD").is_visible()
            assert page.get_by_text("Planned budget").count() == 0
            page.get_by_role("checkbox", name="Empleo para la reinserción").check(force=True)
            settings = {"population": "small", "reentry_employment": True,
                        "reentry_employment_size": next(
                            lv.default_size for lv in classroom.levers()
                            if lv.kind == "reentry_employment")}
            _, total = classroom.budget(settings)
            amount = number(total, "es")
            assert "." in amount  # thousands grouped the Spanish way: 123.456
            page.get_by_text(f"Presupuesto anual previsto: {amount} USD").wait_for(
                timeout=10_000)
            page.get_by_role("button", name="Reset", exact=True).click()
            page.get_by_text(re.compile(r"^Time: 0")).wait_for(timeout=30_000)
            step.click()
            page.get_by_text(re.compile(r"^Time: 5(\.0)?$")).wait_for(timeout=30_000)
            status = page.locator(".vpsim-text").filter(
                has_text="desde el inicio de la política")
            status.wait_for(timeout=30_000)
            words = status.inner_text()
            assert "Semana 5" in words and "costo de los programas" in words
            assert "Valor presente neto hasta ahora" in words
        finally:
            browser.close()
