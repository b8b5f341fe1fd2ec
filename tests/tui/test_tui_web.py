"""``shotsmith web`` end to end: the server on 127.0.0.1, the TUI in headless Chromium, the render downloaded.

Chromium comes from Debian's ``chromium`` package (``make test`` installs it
when it runs as root on a machine with apt-get); without it the test is
skipped, saying so. The browser resolves every host name to nothing, so the
page can reach only the server under test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from tests.tui._chromium import chromium, chromium_binary

from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.session_factory import open_session
from shotsmith.project import RenderRecord

needs_chromium = pytest.mark.skipif(
    chromium_binary() is None,
    reason="chromium is not installed: `make test` installs it as root where apt-get exists (or: apt-get install chromium)")

BRIEF = "A 6 second ad for a bakery: fresh croissants, morning light, warm grade"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40  # stands in for a render: only its bytes are compared


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def make_project(root: Path) -> None:
    """A planned project (offline planner, nothing generated) with one kept render."""
    session = open_session(root, options=ServiceOptions(backend="animatic", resolution="360p"), offline=True)
    try:
        async for _ in session.run_brief(BRIEF, produce=False):
            pass
        store = session.store
        (store.renders_dir / "v001.mp4").write_bytes(VIDEO)
        store.project.renders.append(RenderRecord(version=1, path="renders/v001.mp4", duration_s=6.0, width=640,
                                                  height=360, history_entry=store.history.index.head))
        store.save()
    finally:
        session.close()


async def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"shotsmith web exited with {process.returncode}"
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"shotsmith web did not answer at {url} within {timeout} s")


@pytest.mark.slow
@needs_chromium
async def test_the_tui_in_a_browser_shows_chat_and_plan_and_downloads_the_render(tmp_path):
    project = tmp_path / "bakery"
    await make_project(project)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "shotsmith", "web", "--project", str(project), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        await wait_until_serving(url, server)
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                page_html = await response.text()
        assert "googleapis" not in page_html  # the page asks nothing of any other host

        async with chromium(tmp_path / "profile") as page:
            await page.call("Page.navigate", url=url)
            text = await page.wait_for_text("Shot plan · ", "croissants", "Progress", "render: done (v1)",
                                            "Describe your video", "^o Open video", timeout=60)
            assert "you" in text and "restored" in text  # the conversation came back
            await page.screenshot(Path(os.environ.get("SHOTSMITH_WEB_SCREENSHOT", tmp_path / "web.png")))

            # Ctrl+O in the browser delivers the latest render as a download.
            await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
            await page.press("o", "KeyO", 79, modifiers=2)
            deadline = time.monotonic() + 30
            opened: list[str] = []
            while not opened and time.monotonic() < deadline:
                opened = await page.evaluate("window.__opened") or []
                await asyncio.sleep(0.2)
            assert opened and opened[0].startswith(f"{url}download/"), opened
            # The app streams the file through the server while its tab is open: fetch it as the new tab would.
            async with aiohttp.ClientSession() as http:
                async with http.get(opened[0]) as response:
                    assert response.status == 200
                    assert "attachment" in response.headers["Content-Disposition"]
                    assert "v001.mp4" in response.headers["Content-Disposition"]
                    assert await response.read() == VIDEO
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_the_command_line_each_tab_runs_quotes_the_project_and_passes_the_options(tmp_path):
    import shlex

    from shotsmith.tui.web import tui_command_line

    line = tui_command_line(tmp_path / "my project", backend="animatic", resolution="360p")
    argv = shlex.split(line)
    assert argv[1:5] == ["-m", "shotsmith", "tui", "--project"] and argv[5] == str((tmp_path / "my project").resolve())
    assert argv[6:] == ["--backend", "animatic", "--resolution", "360p"]


def test_the_page_asks_nothing_of_other_hosts(tmp_path):
    from shotsmith.tui.web import local_templates

    page = (local_templates(tmp_path) / "app_index.html").read_text()
    assert "googleapis" not in page and "js/textual.js" in page
    assert "://" not in page.replace("http://www.w3.org/2000/svg", "")  # every other URL is the server's own


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "shotsmith", "web", "--project", str(tmp_path / "p"),
                               "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
