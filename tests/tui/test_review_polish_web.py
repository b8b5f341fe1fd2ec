"""Review: ``shotsmith web`` stopped with Ctrl-C (or SIGTERM) exits as every interrupted command does.

It exited 0, as if it had finished: textual-serve takes SIGINT/SIGTERM for
itself and returns quietly. The README's exit codes say 130 for Ctrl-C and 143
for SIGTERM; the server says one line (``stopped``), no traceback, and leaves
nothing of its own behind (its page template folder).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"shotsmith web exited early: {process.communicate()}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"shotsmith web did not listen on {port} within {timeout} s")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux's /proc), and theirs: a tab's shell, then its ``shotsmith tui``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *children(int(child))]
    return found


def alive(pid: int) -> bool:
    """Running (not a zombie waiting to be reaped by whoever inherited it)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def page_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("shotsmith-web-*"))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_web_stopped_by_a_signal_exits_like_an_interrupted_command(tmp_path, signum, code):
    port = free_port()
    before = page_folders()
    server = subprocess.Popen([sys.executable, "-m", "shotsmith", "web", "--project", str(tmp_path / "p"),
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, server)
        server.send_signal(signum)
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == code, (out, err)
    assert err.strip() == "stopped", err
    assert "Traceback" not in out + err
    assert page_folders() <= before  # the page template folder it served from is gone
    with socket.socket() as again:  # and the port is free again
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


@pytest.mark.parametrize("presses", [1, 2])
async def test_ctrl_c_with_a_tab_open_quits_the_tabs_tui_and_exits_130_at_once(tmp_path, presses):
    """Ctrl-C in the terminal (sent to its whole process group) stops the server, which quits each tab's TUI.

    The tab's TUI is asked to quit and awaited before the server's loop closes:
    aiohttp waited seconds for the open websocket, then closed the loop under the
    child's pipes ('RuntimeError: Event loop is closed' with a traceback). A second
    Ctrl-C while the tabs quit ended the cleanup with a bare exit 1 and no word, or
    caught the tab on its way out (a KeyboardInterrupt traceback in the server's
    output): the tab now leaves the terminal's process group.
    """
    import asyncio
    import os

    import aiohttp

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "shotsmith", "web", "--project", str(tmp_path / "p"),
                               "--port", str(port), "--backend", "animatic"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for_port(port, server)
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30") as tab:
                seen = b""
                deadline = time.monotonic() + 90
                while b"Describe" not in seen and time.monotonic() < deadline:  # the TUI's input placeholder
                    try:
                        message = await asyncio.wait_for(tab.receive(), 1)
                    except asyncio.TimeoutError:
                        continue
                    if message.type == aiohttp.WSMsgType.BINARY:
                        seen += message.data
                    elif message.type == aiohttp.WSMsgType.TEXT:
                        seen += message.data.encode()
                    else:
                        break
                assert b"Describe" in seen, "the tab's TUI never drew its input"
                tabs = children(server.pid)
                assert tabs, "no process for the tab"
                for _ in range(presses):
                    os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
                    time.sleep(0.05)
                started = time.monotonic()
                while server.poll() is None and time.monotonic() - started < 30:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(tab.receive(), 0.2)
                took = time.monotonic() - started
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert server.returncode == 130, (out, err)
    assert err.strip() == "stopped", err
    assert "Traceback" not in out + err
    assert took < 10, f"stopping took {took:.1f} s"
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in tabs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in tabs), "the tab's TUI outlived the server"
