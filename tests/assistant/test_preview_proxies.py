"""The production service makes preview proxies of the cut's large footage in the background, and its
previews read them: one path for every front end (run, chat, TUI, agent)."""

from __future__ import annotations

import shutil
from pathlib import Path

from shotsmith.assistant import ServiceOptions
from shotsmith.assistant.production import ProductionService
from shotsmith.media.ffmpeg import FFmpegRun, run_ffmpeg
from shotsmith.plan_edits import use_footage


def test_footage_in_the_cut_gets_a_proxy_and_the_next_preview_reads_it(tmp_path, monkeypatch):
    service = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="720p", fps=10))
    footage = service.store.assets_dir / "beach.mp4"
    footage.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=1280x720:r=10:d=3", "-f", "lavfi", "-i", "sine=d=3",
                "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(footage)])
    service.plan_brief("a 6 second ad for a bakery, 2 shots")
    service.edit(lambda p: use_footage(p, "assets/beach.mp4", length_s=3.0, index=1))
    service.generate()
    assert service.proxies.wait(60) and not service.proxies.failed
    made = list(service.proxies.folder.glob("*.mp4"))
    assert len(made) == 1  # the footage; the animatic's cards are stills, read as they are
    runs: list[tuple[str, list[str]]] = []
    real = FFmpegRun.run

    def spy(self):
        runs.append((self.what, [b for a, b in zip(self.args, self.args[1:]) if a == "-i"]))
        return real(self)

    def reading(name: str) -> dict[str, set[str]]:
        """Which runs (picture, sound) read a file whose name ends with ``name``."""
        found: dict[str, set[str]] = {"picture": set(), "sound": set()}
        for what, inputs in runs:
            kind = "sound" if "sound" in what else "picture" if "frames" in what or "rendering" in what else None
            if kind:
                found[kind] |= {i for i in inputs if i.endswith(name)}
        return found

    monkeypatch.setattr(FFmpegRun, "run", spy)
    preview = service.render(preview=True)
    assert preview.height == 360
    assert reading(made[0].name)["picture"] == {str(made[0])}  # the picture from the proxy
    assert reading("beach.mp4")["picture"] == set()
    assert reading("beach.mp4")["sound"]  # the sound from the footage itself
    # the final render reads the footage itself
    runs.clear()
    service.render()
    assert reading("beach.mp4")["picture"] and not reading(made[0].name)["picture"]
    # a proxy that went missing is not an error: the preview reads the source (after an edit, as segments differ)
    shutil.rmtree(service.proxies.folder)
    service.proxies.close()
    runs.clear()
    service.edit(lambda p: p.model_copy(update={"shots": [p.shots[0].model_copy(update={"duration_s": 2.5}),
                                                          *p.shots[1:]]}))
    again = service.render(preview=True)
    assert Path(again.path).is_file() and reading("beach.mp4")["picture"]
