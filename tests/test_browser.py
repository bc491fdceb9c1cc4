"""The lab in a real browser: JupyterLab on 127.0.0.1, driven through Debian's chromium with Playwright.

The test copies the notebooks to a temporary folder (so nothing is saved
into the repository), starts JupyterLab there with a random token on a free
port, and opens the quickstart and the devices notebook in headless
chromium. It runs all cells from the Run menu, then checks the widgets in
the page: the console's tabs, a click on Submit that adds a job row which
turns DONE in the live table, the result's histogram image, the comparison
plot. Screenshots go to ``tests/artifacts/``.

Playwright's own browser download cannot work offline, so the system
chromium is used (``executable_path``). Without chromium the tests are
skipped with the command that installs it; under CI (``CI=true``) a missing
browser fails instead.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ipykernel.kernelspec import write_kernel_spec
from test_notebooks import _free_port

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
RUN_TIMEOUT = 240_000
"""Milliseconds a notebook may take to run all its cells in the browser."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    how = "install it with `apt-get install -y chromium` (.ci/run does) to run them"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but no chromium on PATH: the browser tests cannot run; {how}.")
    pytest.skip(f"browser tests skipped: no chromium on PATH; {how}.")


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks; yields ``(base_url, token)``."""
    _chromium()
    home = tmp_path_factory.mktemp("lab")
    work = home / "notebooks"
    shutil.copytree(ROOT / "notebooks", work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    write_kernel_spec(home / "jupyter" / "kernels" / "python3")  # the kernel is this interpreter
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    notebook = home / "settings" / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True)
    # render every cell (no windowing), so every prompt and widget is in the page
    (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    token, port = secrets.token_hex(16), _free_port()
    env = {
        **os.environ, "JUPYTER_PATH": str(home / "jupyter"), "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "QLAB_HOME": str(home / "qlab"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", "--ServerApp.password=", f"--ServerApp.root_dir={work}",
         "--allow-root", "--ContentsManager.checkpoints_kwargs={}"],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer within 120 s"
                time.sleep(0.5)
        yield base, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def open_and_run_all(browser, lab, name: str):
    """A page with ``name`` open in JupyterLab after "Run All Cells" finished (every prompt numbered)."""
    base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{base}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={token}")  # a workspace of its own
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    _wait_for_kernel(page, base, token, name)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    try:
        page.wait_for_function(
            """() => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent);
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p));
            }""",
            timeout=RUN_TIMEOUT,
        )
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}_did_not_finish.png"))
        raise
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tracebacks, tracebacks[0][-2000:]
    return page


def _wait_for_kernel(page, base: str, token: str, name: str, timeout: float = 120) -> None:
    """Wait until the notebook's kernel is up and idle; accept the kernel dialog if JupyterLab asks."""
    deadline = time.monotonic() + timeout
    while True:
        select = page.locator(".jp-Dialog").get_by_role("button", name="Select")
        if select.count() and select.is_visible():
            select.click()
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as response:
            sessions = json.load(response)
        states = [s["kernel"]["execution_state"] for s in sessions if s["path"].endswith(name) and s.get("kernel")]
        if states == ["idle"]:
            return
        assert time.monotonic() < deadline, f"the kernel of {name} did not start within {timeout} s: {states}"
        time.sleep(0.5)


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def tab_labels(console) -> list[str]:
    return [t.strip() for t in console.locator(".lm-TabBar-tabLabel").all_inner_texts()]


def open_console(browser, lab, name: str):
    """Run notebook ``name`` and return ``(page, console)``, its first device console, after checking its tabs."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_and_run_all(browser, lab, name)
    console = page.locator(".qlab-console").first
    console.scroll_into_view_if_needed()
    assert tab_labels(console) == ["Overview", "Calibration", "Topology", "Submit", "Jobs"]
    return page, console


def test_quickstart_console_submit_job_table_and_histograms(browser, lab):
    page, console = open_console(browser, lab, "00_quickstart.ipynb")
    try:
        assert "training5" in console.inner_text()

        queue = page.locator(".qlab-job-queue").last  # the notebook's own JobQueue cell
        rows_before = queue.locator(".qlab-job-row").count()
        assert rows_before >= 1

        console.locator(".lm-TabBar-tabLabel", has_text="Submit").click()
        done = re.compile(r"Job ([0-9a-f]+) is DONE")
        earlier = done.search(console.inner_text())  # the job the notebook submitted with console.submit()
        console.get_by_role("button", name="Submit").click()
        page.wait_for_function(
            """([el, earlier]) => {
                const m = el.innerText.match(/Job ([0-9a-f]+) is DONE/);
                return m !== null && m[1] !== earlier;
            }""",
            arg=[console.element_handle(), earlier.group(1) if earlier else ""], timeout=60_000,
        )
        image = console.locator("img.qlab-result-image")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 100 && getComputedStyle(img).display !== 'none'",
            arg=image.element_handle(), timeout=30_000,
        )
        console.screenshot(path=str(ARTIFACTS / "quickstart_console_submit.png"))

        # the live table (refreshed by the kernel, no cell run) shows the new job as DONE
        page.wait_for_function(
            "([el, n]) => el.querySelectorAll('.qlab-job-row').length > n", arg=[queue.element_handle(), rows_before],
            timeout=30_000,
        )
        newest = queue.locator(".qlab-job-row").last
        page.wait_for_function("el => el.innerText.includes('DONE')", arg=newest.element_handle(), timeout=30_000)
        queue.scroll_into_view_if_needed()
        queue.screenshot(path=str(ARTIFACTS / "quickstart_job_table.png"))

        console.locator(".lm-TabBar-tabLabel", has_text="Jobs").click()
        assert console.locator(".qlab-job-row").count() == rows_before + 1

        comparison = page.locator(".jp-CodeCell", has_text="compare([ideal, result, job]").locator(".jp-OutputArea-output img")
        comparison.scroll_into_view_if_needed()
        assert comparison.evaluate("img => img.naturalWidth") > 100
        comparison.screenshot(path=str(ARTIFACTS / "quickstart_compare.png"))
        page.screenshot(path=str(ARTIFACTS / "quickstart_page.png"))
    finally:
        page.close()


def test_devices_notebook_console_renders_every_tab(browser, lab):
    page, console = open_console(browser, lab, "01_devices_and_jobs.ipynb")
    try:
        console.locator(".lm-TabBar-tabLabel", has_text="Topology").click()
        page.wait_for_function("c => [...c.querySelectorAll('img')].some(i => i.naturalWidth > 100)",
                               arg=console.element_handle())
        console.screenshot(path=str(ARTIFACTS / "devices_console_topology.png"))
        console.locator(".lm-TabBar-tabLabel", has_text="Calibration").click()
        assert "sites (µs, µm)" in console.inner_text()
        console.screenshot(path=str(ARTIFACTS / "devices_console_calibration.png"))
    finally:
        page.close()
