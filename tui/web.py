"""``shotsmith web``: the same TUI in a browser, served by textual-serve on 127.0.0.1.

For a team member without a terminal, or a project on a remote GPU box
reached through an SSH tunnel. textual-serve starts one ``shotsmith tui``
process per browser tab (with Textual's web driver) and relays it over a
websocket; there is no second UI to keep in step. The server listens on
127.0.0.1 only: it has no login, and anyone who can reach it can spend the
project's money, so reaching it from elsewhere is a tunnel's job.

textual-serve's page links a web font from a public CDN; the page served
here leaves that link out (the terminal font falls back to the browser's
monospace), so opening the app makes no request beyond this machine.

Ctrl-C (SIGTERM, SIGHUP) stops it as it stops any command: each open tab's
``shotsmith tui`` is asked to quit and awaited, then one line (``stopped``) and
exit 130 (143, 129); textual-serve alone returned quietly, which read as exit 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import sys
import tempfile
from pathlib import Path

from shotsmith.errors import CancelledError

HOST = "127.0.0.1"
_FONT_LINK = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*/>\s*", re.S)


def tui_command_line(project: Path, *, llm: str | None = None, llm_base_url: str | None = None,
                     backend: str | None = None, resolution: str | None = None, executor: str | None = None) -> str:
    """The shell command textual-serve runs for each browser tab (it runs commands through a shell)."""
    argv = [sys.executable, "-m", "shotsmith", "tui", "--project", str(Path(project).resolve())]
    for flag, value in (("--llm", llm), ("--llm-base-url", llm_base_url), ("--backend", backend),
                        ("--resolution", resolution), ("--executor", executor)):
        if value:
            argv += [flag, value]
    return shlex.join(argv)


def local_templates(folder: Path) -> Path:
    """textual-serve's page template without its CDN font link, written into ``folder``."""
    import textual_serve

    source = Path(textual_serve.__file__).parent / "templates" / "app_index.html"
    (folder / "app_index.html").write_text(_FONT_LINK.sub("", source.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


def is_tab() -> bool:
    """Whether this process is a browser tab's TUI (textual-serve runs it with Textual's web driver)."""
    return os.environ.get("TEXTUAL_DRIVER", "").startswith("textual.drivers.web_driver")


def leave_the_terminal() -> None:
    """A tab's TUI leaves the server's process group (its own session), so the terminal's Ctrl-C is the server's.

    Its keys come from the browser; a Ctrl-C in the server's terminal reached
    every tab too, and one pressed twice caught a tab on its way out (after
    Textual's loop had put Python's handler back): a KeyboardInterrupt
    traceback in the server's output. The server asks each tab to quit when
    it stops, and a tab whose server is gone sees its input end.
    """
    with contextlib.suppress(OSError, AttributeError):  # already a session leader; a platform without setsid
        os.setsid()


def check_port(port: int) -> None:
    """Refuse now, in one line, a port this machine will not let us serve on (taken, or privileged).

    The server only binds once it has printed its banner ("Press Ctrl+C to quit"),
    which read as serving when the very next line said it could not. The probe
    binds as aiohttp does (``SO_REUSEADDR``), so a port left in TIME_WAIT passes.
    """
    import errno
    import socket

    from shotsmith.errors import ShotsmithError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise ShotsmithError(f"cannot serve on {HOST}:{port}: {reason}", hint="pick another --port") from exc


async def _children_reaped(timeout: float = 5.0) -> None:
    """Wait (a few seconds at most) until every child process of ours has exited and been reaped.

    A tab's service is done when its TUI's output ends, a moment before the
    process (and its shell) exit; asyncio reaps them in a watcher thread, which
    warned "Loop … that handles pid … is closed" when the server's loop had
    closed first. ``waitid(WNOWAIT)`` looks without reaping, so asyncio still
    gets every exit status.
    """
    import asyncio
    import time

    if not hasattr(os, "waitid"):  # pragma: no cover - not on this platform: asyncio then waits as it can
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # none left
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.02)  # the watcher's last callback runs on the loop


class WebStopped(CancelledError):
    """The server was stopped by a signal: the CLI says ``stopped`` and exits 128 + the signal (130 for Ctrl-C).

    textual-serve takes SIGINT and SIGTERM for itself and returns quietly, so
    without this a Ctrl-C read as a command that had finished (exit 0).
    """

    report = "stopped"

    def __init__(self, signum: int) -> None:
        super().__init__("stopped")
        self.exit_code = 128 + int(signum)


def serve(command: str, *, port: int, title: str) -> None:
    """Serve ``command`` on 127.0.0.1:``port`` until a signal stops it (then :class:`WebStopped`)."""
    import asyncio

    import textual_serve
    from textual_serve.server import Server

    from shotsmith import interrupts
    from shotsmith.errors import ShotsmithError

    class _Server(Server):
        """textual-serve's server that remembers which signal stopped it."""

        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            self.stopped_by: int | None = None
            self.signals = 0
            self.tabs: set[asyncio.Task] = set()  # each open tab's websocket handler

        def request_exit(self, signum: int = signal.SIGINT) -> None:
            # The first signal stops the server; a second one while the tabs quit is not a second stop (it
            # ended run_app's cleanup with a bare exit 1); the third leaves at once, as every command does.
            interrupts.request_cancel(signum)
            self.signals += 1
            if self.signals >= interrupts.FORCE_AFTER:
                with contextlib.suppress(OSError):
                    os.write(2, b"stopped (forced)\n")
                os._exit(128 + (self.stopped_by or signum))
            if self.stopped_by is None:
                self.stopped_by = signum
                super().request_exit()

        async def on_startup(self, app) -> None:  # type: ignore[no-untyped-def]
            await super().on_startup(app)
            # textual-serve registered request_exit without the signal; register it again with it (and SIGHUP).
            loop = asyncio.get_running_loop()
            for signum in interrupts.CANCEL_SIGNALS:
                loop.add_signal_handler(signum, self.request_exit, signum)

        async def handle_websocket(self, request):  # type: ignore[no-untyped-def]
            self.tabs.add(task := asyncio.current_task())
            try:
                return await super().handle_websocket(request)
            finally:
                self.tabs.discard(task)

        async def on_shutdown(self, app) -> None:  # type: ignore[no-untyped-def]
            # Each open tab's `shotsmith tui` is asked to quit and awaited now: aiohttp would otherwise wait
            # for the tab's websocket (seconds) and close the loop under the child's pipes (a traceback).
            tabs = list(self.tabs)
            for task in tabs:
                task.cancel()
            await asyncio.gather(*tabs, return_exceptions=True)
            await _children_reaped()
            await super().on_shutdown(app)

    statics = Path(textual_serve.__file__).parent / "static"
    with tempfile.TemporaryDirectory(prefix="shotsmith-web-") as folder:
        server = _Server(command, host=HOST, port=port, title=title, statics_path=statics,
                         templates_path=local_templates(Path(folder)))
        try:
            server.serve()
        except OSError as exc:  # the port is taken (or not ours to bind): one line, not a traceback
            raise ShotsmithError(f"cannot serve on {HOST}:{port}: {exc.strerror or exc}",
                                 hint="pick another --port") from exc
    if server.stopped_by is not None:
        raise WebStopped(server.stopped_by)
