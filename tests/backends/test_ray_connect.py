"""Joining a Ray cluster by a wrong address is one clear usage error within ``connect_timeout_s``.

``ray.init`` itself has no connect timeout (it retried for minutes, with its C++ log on the
terminal), so the address is probed first: nothing listening, and a server that accepts TCP but
never answers, must both fail inside the bound, and Ray must not have been started.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

pytest.importorskip("ray")

from shotsmith.backends.executors.ray_pool import RaySettings, connect  # noqa: E402
from shotsmith.errors import InvalidInputError  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _no_ray_here(monkeypatch) -> list:
    """This process as if Ray were not joined yet (another test module may have started the shared local
    instance), with ray.init recording its calls instead of joining anything."""
    import ray

    inits: list = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda *args, **kwargs: inits.append(kwargs))
    return inits


def _connect_fails(address: str, monkeypatch, bound: float) -> InvalidInputError:
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    inits = _no_ray_here(monkeypatch)
    started = time.monotonic()
    with pytest.raises(InvalidInputError) as caught:
        connect(RaySettings(address=address, connect_timeout_s=bound))
    took = time.monotonic() - started
    assert took < bound + 1.0, took
    assert inits == []  # refused before ray.init was ever called
    error = caught.value
    assert error.exit_code == 2
    assert "\n" not in error.message
    assert error.message.startswith(f"cannot reach the Ray cluster at {address} within {bound:g} s (")
    return error


def test_nothing_listening_fails_at_once(monkeypatch):
    address = f"127.0.0.1:{_free_port()}"
    started = time.monotonic()
    _connect_fails(address, monkeypatch, bound=5.0)
    assert time.monotonic() - started < 2.0  # refused: no need to wait out the bound


def test_a_silent_server_fails_within_the_bound(silent_server, monkeypatch):
    error = _connect_fails(silent_server, monkeypatch, bound=1.5)
    assert "no answer" in error.message


def test_the_ray_client_scheme_and_env_address_are_probed_too(monkeypatch):
    address = f"ray://127.0.0.1:{_free_port()}"
    _connect_fails(address, monkeypatch, bound=2.0)
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")
    with pytest.raises(InvalidInputError, match="cannot reach the Ray cluster at 127.0.0.1:"):
        connect(RaySettings(connect_timeout_s=2.0))


def test_the_cli_refuses_a_wrong_address_before_any_work(tmp_path, monkeypatch, capsys):
    """--executor ray with a cluster that is not there: one line, exit 2, at once (not a failed shot later)."""
    import ray

    from shotsmith.cli import main

    (tmp_path / "briefs").mkdir()
    (tmp_path / "briefs" / "tea.txt").write_text("a 2 second ad for tea", encoding="utf-8")
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")
    inits = _no_ray_here(monkeypatch)
    started = time.monotonic()
    code = main(["batch", str(tmp_path / "briefs"), "-o", str(tmp_path / "out"), "--executor", "ray"])
    assert code == 2 and time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert "cannot reach the Ray cluster at 127.0.0.1:" in err and "Traceback" not in err
    assert inits == [] and not (tmp_path / "out" / "tea.mp4").exists()
