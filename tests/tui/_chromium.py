"""A small headless-Chromium driver over the DevTools protocol, for the ``shotsmith web`` test.

Only what the test needs: open a page, record what the page receives on its
websockets (the terminal's output: xterm.js draws it on a canvas, so the DOM
holds no text to read), evaluate JavaScript, allow downloads into a folder,
press keys and take a screenshot. Chromium is started with every host name
resolving to nothing but 127.0.0.1, so the page cannot reach anything else.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

#: Installed into every page before its scripts run: keeps the text of every websocket message it receives,
#: and the URLs the page asks to open (a download is one) instead of opening them.
RECORD_WEBSOCKETS = r"""
(() => {
  window.__received = [];
  window.__opened = [];
  window.open = (url) => { window.__opened.push(String(url)); return null; };
  const decoder = new TextDecoder();
  const Original = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Original(...args);
    socket.addEventListener("message", (event) => {
      const data = event.data;
      if (typeof data === "string") window.__received.push(data);
      else if (data instanceof ArrayBuffer) window.__received.push(decoder.decode(data));
      else if (data instanceof Blob) data.arrayBuffer().then((b) => window.__received.push(decoder.decode(b)));
    });
    return socket;
  };
  window.WebSocket.prototype = Original.prototype;
  Object.assign(window.WebSocket, Original);
})();
"""

_ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\|\x1b.")


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def plain(text: str) -> str:
    """Terminal output without escape sequences."""
    return _ANSI.sub("", text)


class Page:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict:
        message_id = next(self._ids)
        await self.socket.send_str(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads((await self.socket.receive(timeout=30)).data)
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    async def received_text(self) -> str:
        """Everything the page's websockets received, escape sequences taken out."""
        return plain("".join(await self.evaluate("window.__received || []") or []))

    async def wait_for_text(self, *needles: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.received_text()
            if all(needle in text for needle in needles):
                return text
            await asyncio.sleep(0.25)
        missing = [needle for needle in needles if needle not in text]
        raise AssertionError(f"the page never showed {missing!r}; it received {len(text)} characters: {text[-800:]!r}")

    async def press(self, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code, modifiers=modifiers,
                            windowsVirtualKeyCode=key_code, nativeVirtualKeyCode=key_code)

    async def screenshot(self, path: Path) -> Path:
        data = (await self.call("Page.captureScreenshot", format="png"))["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@asynccontextmanager
async def chromium(profile: Path, *, width: int = 1400, height: int = 900):
    """A headless Chromium with one blank page; yields a :class:`Page`."""
    binary = chromium_binary()
    assert binary, "chromium is not installed"
    process = subprocess.Popen(
        [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        endpoint = await asyncio.wait_for(asyncio.to_thread(_devtools_endpoint, process), timeout=30)
        port = re.search(r"127\.0\.0\.1:(\d+)/", endpoint).group(1)
        async with aiohttp.ClientSession() as http:
            for _ in range(50):
                targets = await (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    break
                await asyncio.sleep(0.1)
            async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                page = Page(socket)
                await page.call("Page.enable")
                await page.call("Page.addScriptToEvaluateOnNewDocument", source=RECORD_WEBSOCKETS)
                yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _devtools_endpoint(process: subprocess.Popen) -> str:
    for line in process.stderr:  # type: ignore[union-attr]
        if "DevTools listening on" in line:
            # Keep reading its log, or a full pipe would stall the browser.
            threading.Thread(target=lambda: all(process.stderr), daemon=True).start()  # type: ignore[arg-type]
            return line.split("on", 1)[1].strip()
    raise RuntimeError(f"chromium exited ({process.wait()}) before it listened")
