"""Preview proxies on real media: made in the background as clips arrive, read by previews when ready,
the same pictures at the same times as the sources, never half-made, never for what gains nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.media.ffmpeg import FFmpegRun, run_ffmpeg
from shotsmith.timeline import ClipRef, OutputSettings, Timeline
from shotsmith.tools import proxies
from shotsmith.tools.encoding import preview_settings
from shotsmith.tools.incremental import render
from shotsmith.tools.proxies import ProxyMaker, make_proxy, proxy_resolver, proxy_spec

OUTPUT = OutputSettings(width=1280, height=720, fps=10)
PREVIEW = preview_settings(OUTPUT)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> list[Path]:
    """Two 1280x720 clips with sound: large enough that a 640x360 proxy saves three quarters of each frame."""
    folder = tmp_path_factory.mktemp("big")
    clips = []
    for i, pattern in enumerate(["testsrc2", "smptehdbars"]):
        out = folder / f"big{i}.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", f"{pattern}=s=1280x720:r=10:d=2", "-f", "lavfi", "-i",
                    f"sine=f={440 + 110 * i}:sample_rate=48000:d=2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "10", "-c:a", "aac", "-shortest", str(out)])
        clips.append(out)
    return clips


def _frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as container:
        return [(float(f.time), f.to_ndarray(format="gray").astype(float)) for f in container.decode(video=0)]


def test_a_proxy_has_every_frame_at_its_time_at_the_preview_size(big, tmp_path):
    spec = proxy_spec(big[0], PREVIEW, tmp_path)
    assert spec is not None and (spec.width, spec.height) == (640, 360)
    made = make_proxy(spec)
    source, proxy = _frames(big[0]), _frames(made)
    assert [t for t, _ in proxy] == [t for t, _ in source]
    with av.open(str(made)) as container:
        assert not container.streams.audio  # the sound is mixed from the source
        assert (container.streams.video[0].width, container.streams.video[0].height) == (640, 360)
    assert proxy_spec(big[0], PREVIEW, tmp_path).path == made  # the same key again


def test_no_proxy_for_a_small_source_a_still_or_a_picture_that_starts_late(make_clip, tmp_path):
    small = make_clip("small.mp4", size="320x180", duration=1)
    assert proxy_spec(small, PREVIEW, tmp_path) is None
    still = tmp_path / "still.png"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=1920x1080", "-frames:v", "1", str(still)])
    assert proxy_spec(still, PREVIEW, tmp_path) is None
    late = tmp_path / "late.mp4"
    run_ffmpeg(["-itsoffset", "0.5", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=10:d=1", "-f", "lavfi", "-i",
                "sine=d=1.5", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                "-c:a", "aac", str(late)])
    assert proxy_spec(late, PREVIEW, tmp_path) is None
    assert proxy_spec(tmp_path / "gone.mp4", PREVIEW, tmp_path) is None


def test_a_changed_source_gets_a_new_proxy(big, tmp_path):
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(big[0].read_bytes())
    first = proxy_spec(copy, PREVIEW, tmp_path).path
    copy.write_bytes(big[1].read_bytes())
    assert proxy_spec(copy, PREVIEW, tmp_path).path != first


def test_a_preview_reads_ready_proxies_and_looks_like_the_preview_from_the_sources(big, tmp_path, monkeypatch):
    timeline = Timeline(clips=[ClipRef(source=str(big[0]), in_s=0.3, out_s=1.8),
                               ClipRef(source=str(big[1]), in_s=0.2, out_s=1.7)], output=OUTPUT)
    folder = tmp_path / "proxies"
    plain = render(timeline, tmp_path / "plain.mp4", cache=None, preview=True, preview_cache=tmp_path / "p1")
    read: list[str] = []
    real_run = FFmpegRun.run

    def spy(self):
        read.extend(b for a, b in zip(self.args, self.args[1:]) if a == "-i" and b.startswith(str(folder)))
        return real_run(self)

    monkeypatch.setattr(FFmpegRun, "run", spy)
    # nothing ready: the sources are read, nothing is made on the way
    render(timeline, tmp_path / "none.mp4", cache=None, preview=True, preview_cache=tmp_path / "p0", proxies=folder)
    assert read == [] and not folder.exists()
    maker = ProxyMaker(folder)
    assert len(maker.request(big, PREVIEW)) == 2
    assert maker.wait(60) and len(maker.made) == 2 and not maker.failed
    assert maker.request(big, PREVIEW) == []  # made already
    proxied = render(timeline, tmp_path / "proxied.mp4", cache=None, preview=True, preview_cache=tmp_path / "p2",
                     proxies=folder)
    assert sorted(set(read)) == sorted(str(p) for p in maker.made)
    a, b = _frames(Path(plain.path)), _frames(Path(proxied.path))
    assert [t for t, _ in a] == [t for t, _ in b] and len(a) == 30
    assert max(float(np.abs(x - y).mean()) for (_, x), (_, y) in zip(a, b)) < 4  # scaled once or twice
    with av.open(proxied.path) as container:  # the sound is the sources' (the proxies have none)
        assert container.streams.audio and container.streams.audio[0].duration


def test_a_proxy_being_made_is_cancelled_at_close_and_leaves_nothing(big, tmp_path, monkeypatch):
    started = threading.Event()
    real = proxies.run_ffmpeg

    def slow(args, **kwargs):
        started.set()
        kwargs["cancel"].wait(10)  # as a long source would: still running when the session ends
        return real(args, **kwargs)

    monkeypatch.setattr(proxies, "run_ffmpeg", slow)
    maker = ProxyMaker(tmp_path / "proxies")
    maker.request(big[:1], PREVIEW)
    assert started.wait(10)
    maker.close()
    assert not maker.made and not maker.failed
    assert list((tmp_path / "proxies").iterdir()) == []
    assert maker.request(big[1:], PREVIEW) == []  # closed: nothing new starts


def test_a_proxy_that_fails_is_reported_and_the_preview_reads_the_source(tmp_path, big, monkeypatch, caplog):
    def broken(args, **kwargs):
        raise proxies.ShotsmithError("ffmpeg failed: no space left on device")

    monkeypatch.setattr(proxies, "run_ffmpeg", broken)
    maker = ProxyMaker(tmp_path / "proxies")
    maker.request(big[:1], PREVIEW)
    assert maker.wait(30)
    assert maker.failed and "no space" in maker.failed[0][1]
    assert "no preview proxy for big0.mp4" in caplog.text
    picture = proxy_resolver(Path, PREVIEW, tmp_path / "proxies")
    assert picture(str(big[0])) == big[0]


def test_a_rotated_phone_clip_gets_an_upright_proxy_and_the_same_preview(tmp_path):
    upright = tmp_path / "upright.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=1280x720:r=10:d=2", "-c:v", "libx264", "-preset", "ultrafast",
                str(upright)])
    phone = tmp_path / "phone.mp4"
    run_ffmpeg(["-display_rotation", "90", "-i", str(upright), "-c", "copy", str(phone)])
    output = OutputSettings(width=720, height=1280, fps=10)
    spec = proxy_spec(phone, preview_settings(output), tmp_path / "px")
    assert spec is not None and (spec.width, spec.height) == (360, 640)
    make_proxy(spec)
    timeline = Timeline(clips=[ClipRef(source=str(phone), in_s=0.2, out_s=1.8)], output=output)
    a = render(timeline, tmp_path / "a.mp4", cache=None, preview=True, preview_cache=tmp_path / "p1")
    b = render(timeline, tmp_path / "b.mp4", cache=None, preview=True, preview_cache=tmp_path / "p2",
               proxies=tmp_path / "px")
    fa, fb = _frames(Path(a.path)), _frames(Path(b.path))
    assert len(fa) == len(fb) == 16 and fa[0][1].shape == (640, 360)
    assert max(float(np.abs(x - y).mean()) for (_, x), (_, y) in zip(fa, fb)) < 4


def test_old_proxies_are_pruned_beyond_the_limit_but_never_the_cuts(big, tmp_path, monkeypatch):
    maker = ProxyMaker(tmp_path / "proxies")
    maker.request(big[:1], PREVIEW)
    assert maker.wait(60)
    first = maker.made[0]
    monkeypatch.setattr(proxies, "MAX_PROXY_BYTES", first.stat().st_size)  # room for one proxy only
    maker.request(big[1:], PREVIEW)  # the cut now shows the other clip only
    assert maker.wait(60)
    assert not first.exists() and maker.made[1].exists()
    # the cut's own proxies stay, whatever the limit
    maker.request(big, PREVIEW)
    assert maker.wait(60)
    assert all(p.exists() for p in maker.made[1:]) and len(list((tmp_path / "proxies").glob("*.mp4"))) == 2
