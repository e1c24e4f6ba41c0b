"""The owner's app in a real browser: Voilà serves notebook 05 on a free localhost port, headless
Debian Chromium (driven by Playwright) moves a slider, and the payout shown changes to the value
the library computes. Skipped only when Chromium is absent."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = REPO / "notebooks" / "05_incentives.ipynb"
KEY, PATH = "department_revenue", ("components", 1, "rate_pct")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.notebook,  # Voila executes notebook 05 in a kernel
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian's chromium is not installed ({CHROMIUM} is absent): "
                       "`apt-get install chromium` (as .ci/run does) to run the browser test"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(tmp_path):
    """Start `voila notebooks/05_incentives.ipynb` as `make app` does, on a free port; stop it after."""
    port = _free_port()
    log = open(tmp_path / "voila.log", "w")
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    proc = subprocess.Popen([sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}"],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120  # waiting for the server to listen; nothing is asserted about speed
        while True:
            if proc.poll() is not None:
                pytest.fail(f"voila exited with {proc.returncode}:\n{(tmp_path / 'voila.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"voila did not listen on port {port}:\n{(tmp_path / 'voila.log').read_text()}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _expected_last_month_pay(rate: float | None) -> tuple[int, str]:
    """What the library pays under the scheme with ``rate`` for the history's last month (and its text)."""
    from salesaudit import incentives as inc
    from salesaudit import load
    from salesaudit.report.stalls import money

    ds = load(REPO / "params" / "clients" / "demo.yaml")
    a = inc.load_assumptions(REPO / "params" / "incentives" / "assumptions.yaml")
    s = inc.load_schemes(REPO / "params" / "incentives", [KEY])[KEY]
    if rate is not None:
        s = inc.set_value(s, PATH, rate)
    value = inc.payout(s, inc.monthly_inputs(ds, a))["total"].iloc[-1]
    return round(value), money(value, ds.config.language)


def test_moving_a_slider_shows_the_library_payout(app_url):
    from playwright.sync_api import expect, sync_playwright

    from salesaudit import incentives as inc

    name = inc.load_schemes(REPO / "params" / "incentives", [KEY])[KEY].name("ru")  # the demo reports in Russian
    before, before_text = _expected_last_month_pay(None)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(app_url, timeout=120_000)
            shown = page.locator(f"#sa-payout-{KEY}")
            # the whole notebook runs before the controls appear: wait for them (not a speed check)
            shown.wait_for(timeout=300_000)
            expect(shown).to_have_attribute("data-value", str(before))
            expect(shown).to_have_text(before_text)
            assert page.get_by_text("import salesaudit").count() == 0  # the code is hidden
            page.locator(".sa-incentives-app .lm-TabBar-tab").filter(has_text=name).first.click()
            slider = page.locator(f".sa-{KEY}-{'-'.join(map(str, PATH))}")
            slider.locator(".noUi-handle").focus()
            # October's revenue is above where the 250 000 cap binds at 1.2 %: a lower rate is what changes the pay
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
            rate = float(slider.locator(".widget-readout").inner_text())
            assert rate == pytest.approx(1.1)  # 1.2 % and two steps of 0.05 down
            after, after_text = _expected_last_month_pay(rate)
            assert after != before
            expect(shown).to_have_attribute("data-value", str(after), timeout=120_000)
            expect(shown).to_have_text(after_text)
        finally:
            browser.close()
