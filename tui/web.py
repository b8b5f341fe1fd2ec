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
"""

from __future__ import annotations

import re
import shlex
import sys
import tempfile
from pathlib import Path

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


def serve(command: str, *, port: int, title: str) -> None:
    """Serve ``command`` on 127.0.0.1:``port`` until Ctrl+C."""
    import textual_serve
    from textual_serve.server import Server

    from shotsmith.errors import ShotsmithError

    statics = Path(textual_serve.__file__).parent / "static"
    with tempfile.TemporaryDirectory(prefix="shotsmith-web-") as folder:
        server = Server(command, host=HOST, port=port, title=title, statics_path=statics,
                        templates_path=local_templates(Path(folder)))
        try:
            server.serve()
        except OSError as exc:  # the port is taken (or not ours to bind): one line, not a traceback
            raise ShotsmithError(f"cannot serve on {HOST}:{port}: {exc.strerror or exc}",
                                 hint="pick another --port") from exc
