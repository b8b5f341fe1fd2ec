"""Extending a clip that became too short, through each provider's own extension protocol (mocks).

A shot made longer than its clip is extended where the backend can (Luma: a generation whose
``keyframes.frame0`` names the earlier generation; Kling: ``/v1/videos/video-extend`` with the
video's id; Veo: ``predictLongRunning`` with ``instances[0].video.uri``), priced and approved like a
create, sent once, resumed after a crash without a second create, bound in place of the short
clip (which undo brings back for free) and rendered at the new length. A backend that cannot
extend makes the shot again and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shotsmith.assistant.events import GenerationProgress, Notice
from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.backends.base import GenerationMode
from shotsmith.backends.engine import cache_key
from shotsmith.media.probe import probe
from shotsmith.plan_edits import edit_shot
from tests.backends.backend_mocks.kling import ACCESS_KEY, SECRET_KEY, KlingMock
from tests.backends.backend_mocks.luma import LumaMock
from tests.backends.backend_mocks.veo import GEMINI_KEY, VeoMock

LUMA_KEY = "luma-test-SECRET-abcdef"
BRIEF = "a 5 second shot of a red kite over a beach"


def small_shape(self, task):
    """Clips of the length each create asked for, small (fast to make and check)."""
    body = task.body
    if "instances" in body:
        seconds = float((body.get("parameters") or {}).get("durationSeconds") or 8)
    else:
        seconds = float(str(body.get("duration") or "5").rstrip("s"))
    return 160, 90, seconds


@dataclass
class Case:
    name: str
    mock_cls: type
    key: str
    env: dict
    base_path: str = ""
    model: str | None = None


CASES = {
    "luma": Case("luma", LumaMock, LUMA_KEY, {"LUMAAI_API_KEY": LUMA_KEY}, "/dream-machine/v1"),
    "kling": Case("kling", KlingMock, "unused", {"KLING_ACCESS_KEY": ACCESS_KEY, "KLING_SECRET_KEY": SECRET_KEY},
                  model="kling-v1-6"),
    "veo": Case("veo", VeoMock, GEMINI_KEY, {"GEMINI_API_KEY": GEMINI_KEY}, "/v1beta"),
}


def start(case: Case, serve, mock_clip, tmp_path, monkeypatch, *, model: str | None = None):
    cls = type(f"Small{case.mock_cls.__name__}", (case.mock_cls,), {"generation_shape": small_shape})
    mock = serve(cls, mock_clip, key=case.key, render=True, latency=0.05)
    model = model or case.model
    config = tmp_path / "shotsmith.toml"
    config.write_text(f'[backends.{case.name}]\nbase_url = "{mock.url}{case.base_path}"\npoll_interval_s = 0.01\n'
                      + (f'model = "{model}"\n' if model else ""), encoding="utf-8")
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    return mock


def planned(case: Case, root: Path, **kwargs) -> ProductionService:
    service = ProductionService.open(root, ServiceOptions(backend=case.name, keyframes="off", auto_approve=True,
                                                          resolution="720p", fps=24), **kwargs)
    service.plan_brief(BRIEF, shot_count=1)
    return service


def creates(mock) -> list:
    return [r for r in mock.log if r.method == "POST" and r.path.endswith(
        ("/generations/video", "/text2video", "/image2video", "/video-extend", ":predictLongRunning"))]


def check_extension_body(case: Case, mock, body: dict, first) -> None:
    """The extension create in the provider's own shape, naming the first generation."""
    if case.name == "luma":
        assert body["keyframes"] == {"frame0": {"type": "generation", "id": first.id}}
        assert body["duration"] in ("5s", "9s") and body["model"] == "ray-2"
    elif case.name == "kling":
        assert set(body) <= {"video_id", "prompt", "negative_prompt", "cfg_scale", "callback_url"}
        assert body["video_id"] == KlingMock.video_id(first) and body["prompt"]
    else:
        instance = body["instances"][0]
        assert instance["video"]["uri"].startswith(f"{mock.url}/files/{first.id}.mp4")
        assert "image" not in instance and body["parameters"]["resolution"] == "720p"


@pytest.mark.parametrize("name", ["luma", "kling", "veo"])
def test_a_longer_shot_extends_its_clip_once_and_renders_at_the_new_length(name, serve, mock_clip, tmp_path,
                                                                          monkeypatch):
    case = CASES[name]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch)
    notices: list[str] = []
    service = planned(case, tmp_path / "p", emit=lambda e: isinstance(e, Notice) and notices.append(e.text))
    service.generate()
    (first,) = mock.tasks.values()
    short = service.plan.shots[0]
    assert short.clip and short.clip_length_s
    # The shot grows past its clip: the estimate is one extension, priced like a create of the added seconds.
    wanted = round(short.clip_length_s + 2.5, 3)
    service.edit(lambda p: edit_shot(p, 1, duration_s=wanted))
    be = service.backend()
    extension = service._extension_for(service.plan.shots[0], service.plan, be)
    assert extension is not None and extension.mode is GenerationMode.VIDEO_EXTEND
    ready, _ = be.prepare(extension)
    estimate = service.estimate()
    assert [c.cache_key for c in estimate.to_generate] == [cache_key(be, ready)]
    assert estimate.usd == pytest.approx(be.estimate_cost(ready).usd) and estimate.usd > 0
    result = service.generate()
    assert result.generated == [1]
    assert len(creates(mock)) == 2  # the first clip, then one extension
    check_extension_body(case, mock, creates(mock)[-1].body, first)
    assert any("extending its" in n for n in notices)
    # The approval and the charge are bound to the extension request.
    ledger = service.store.project.spending
    assert cache_key(be, ready) in ledger.approvals[-1].cache_keys
    assert ledger.charges[-1].cache_key == cache_key(be, ready)
    # The extended clip replaces the short one: the whole clip, longer by what was added.
    shot = service.plan.shots[0]
    assert shot.clip != short.clip and (service.store.root / short.clip).is_file()
    assert shot.clip_length_s == pytest.approx(short.clip_length_s + mock.tasks[
        next(t for t in mock.tasks if t != first.id)].extra["adds_s"], abs=0.1)
    rendered = service.render()
    assert rendered.duration_s == pytest.approx(wanted, abs=0.05)
    assert probe(Path(rendered.path)).duration_s == pytest.approx(wanted, abs=0.05)
    # Undo gives the short shot its own clip back, free: nothing is sent.
    service.store.undo()
    assert service.generate().generated == []
    assert service.plan.shots[0].clip == short.clip
    assert len(creates(mock)) == 2


@pytest.mark.parametrize("name", ["luma", "kling", "veo"])
def test_a_crash_after_the_extension_was_created_resumes_it_instead_of_extending_twice(name, serve, mock_clip,
                                                                                      tmp_path, monkeypatch):
    case = CASES[name]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch)
    service = planned(case, tmp_path / "p")
    service.generate()
    service.edit(lambda p: edit_shot(p, 1, duration_s=round(service.plan.shots[0].clip_length_s + 2.0, 3)))
    mock.latency = 5.0  # the extension is still running when the process dies
    for task in mock.tasks.values():
        task.created -= 60  # (the first clip finished long ago)

    class Crash(Exception):
        pass

    def crash(event) -> None:
        if isinstance(event, GenerationProgress) and event.state == "submitted":
            raise Crash("the process died")

    crashing = ProductionService.open(tmp_path / "p", ServiceOptions(auto_approve=True), emit=crash)
    with pytest.raises(Exception):
        crashing.generate()
    assert len(creates(mock)) == 2
    records = [r for r in crashing.store.project.generations.values() if r.request.get("mode") == "video-extend"]
    assert len(records) == 1 and records[0].remote_task_id and records[0].status != "succeeded", records[0].error
    charges = len(crashing.store.project.spending.charges)
    mock.latency = 0.05
    for task in mock.tasks.values():
        task.created -= 60  # the provider finished it meanwhile
    rerun = ProductionService.open(tmp_path / "p", ServiceOptions(auto_approve=True))
    result = rerun.generate()
    assert result.generated == [1]
    assert len(creates(mock)) == 2  # resumed: no second extension
    assert len(rerun.store.project.spending.charges) == charges  # and not charged twice
    shot = rerun.plan.shots[0]
    assert shot.clip == rerun.store.project.generations[records[0].cache_key].clip


def test_a_backend_that_cannot_extend_generates_the_shot_again_and_says_so(serve, mock_clip, tmp_path, monkeypatch):
    case = CASES["kling"]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch, model="kling-v2-5-turbo")  # no video-extend
    notices: list[str] = []
    service = planned(case, tmp_path / "p", emit=lambda e: isinstance(e, Notice) and notices.append(e.text))
    service.generate()
    old = service.plan.shots[0]
    service.edit(lambda p: edit_shot(p, 1, duration_s=7.5))
    assert service._extension_for(service.plan.shots[0], service.plan, service.backend()) is None
    service.generate()
    said = [n for n in notices if "cannot extend" in n]
    assert said and "shot 1: kling cannot extend a clip" in said[0] and "generated again" in said[0]
    assert [r.path for r in creates(mock)] == ["/v1/videos/text2video"] * 2
    assert creates(mock)[-1].body["duration"] == "10"
    assert service.plan.shots[0].clip != old.clip and service.plan.shots[0].clip_length_s >= 7.5


def test_the_official_luma_sdk_sends_the_same_extension(serve, mock_clip):
    lumaai = pytest.importorskip("lumaai")
    from shotsmith.backends.base import GenerationRequest
    from shotsmith.backends.luma import LumaBackend

    mock = serve(LumaMock, mock_clip, key=LUMA_KEY, latency=0.0)
    client = lumaai.LumaAI(auth_token=LUMA_KEY, base_url=mock.url + "/dream-machine/v1", max_retries=0)
    first = client.generations.create(prompt="a red kite", model="ray-2", duration="5s", resolution="720p",
                                      aspect_ratio="16:9")
    ours = LumaBackend(base_url=mock.url).body(GenerationRequest(
        prompt="a red kite", mode=GenerationMode.VIDEO_EXTEND, extend_from=first.id, duration_s=5, model="ray-2"))
    theirs = client.generations.create(**{k: v for k, v in ours.items() if k != "loop"}, loop=False)
    assert mock.tasks[theirs.id].body == ours
    assert mock.tasks[theirs.id].extra["extends"].id == first.id
    with pytest.raises(lumaai.BadRequestError):  # an unknown generation cannot be extended
        client.generations.create(prompt="x", model="ray-2", duration="5s", resolution="720p", aspect_ratio="16:9",
                                  keyframes={"frame0": {"type": "generation", "id": "missing"}})


def test_an_extension_request_without_its_source_is_refused():
    from shotsmith.backends.base import GenerationRequest
    from shotsmith.backends.luma import LumaBackend
    from shotsmith.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="extend_from"):
        LumaBackend().prepare(GenerationRequest(prompt="x", mode=GenerationMode.VIDEO_EXTEND, duration_s=5))
    ready, warnings = LumaBackend().prepare(GenerationRequest(prompt="x", mode=GenerationMode.VIDEO_EXTEND,
                                                              extend_from="g1", duration_s=2.5))
    assert ready.duration_s == 5.0 and any("using 5s" in w for w in warnings)


def test_an_extension_that_is_not_the_whole_longer_clip_is_not_bound(serve, mock_clip, tmp_path, monkeypatch):
    case = CASES["luma"]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch)
    # A provider answering with the new seconds alone (not the whole clip): shorter than the clip it extends.
    type(mock).task_shape = lambda self, task: ((160, 90, 1.0) if task.extra.get("extends") else small_shape(self, task))
    notices: list[str] = []
    service = planned(case, tmp_path / "p", emit=lambda e: isinstance(e, Notice) and notices.append(e.text))
    service.generate()
    short = service.plan.shots[0]
    service.edit(lambda p: edit_shot(p, 1, duration_s=7.0))
    service.generate()
    assert any("no longer than the one it extended" in n for n in notices)
    assert service.plan.shots[0].clip == short.clip  # kept, not replaced by the fragment
    assert len(creates(mock)) == 2  # and not extended again and again


def test_a_lost_kling_extend_create_is_never_sent_again(serve, mock_clip, tmp_path, monkeypatch):
    """video-extend takes no external_task_id: an answer lost after the create stops the shot as
    "may have been created"; the rerun does not pay for a second extension."""
    case = CASES["kling"]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch)
    service = planned(case, tmp_path / "p")
    service.generate()
    service.edit(lambda p: edit_shot(p, 1, duration_s=7.0))
    mock.faults.submit_accept_drop = 1  # the extension is created, its answer lost
    with pytest.raises(Exception, match="may have been created"):
        service.generate()
    assert len(creates(mock)) == 2
    with pytest.raises(Exception, match="may have been created"):
        ProductionService.open(tmp_path / "p", ServiceOptions(auto_approve=True)).generate()
    assert len(creates(mock)) == 2


def test_a_continued_shot_sends_the_exact_last_frame_of_the_previous_clip_to_the_provider(serve, mock_clip, tmp_path,
                                                                                          monkeypatch):
    import base64
    import io

    import av
    import numpy as np
    from PIL import Image

    from shotsmith.plan_edits import continue_from

    case = CASES["kling"]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch)
    service = ProductionService.open(tmp_path / "p", ServiceOptions(backend="kling", keyframes="off", auto_approve=True,
                                                                    resolution="720p", fps=24))
    service.plan_brief("a 10 second film: a red kite over a beach, a dog running on the sand", shot_count=2)
    service.edit(lambda p: continue_from(p, 2, 1))
    estimate = service.estimate()
    assert estimate.shots == [1, 2] and estimate.to_generate[1].usd > 0  # the continued shot, priced as i2v
    service.generate()
    first, second = creates(mock)
    assert first.path == "/v1/videos/text2video" and second.path == "/v1/videos/image2video"
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(second.body["image"]))).convert("RGB"))
    with av.open(str(service.store.root / service.plan.shots[0].clip)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert sent.shape == frames[-1].shape
    assert np.array_equal(sent, frames[-1])  # lossless: the very last decoded frame
    assert not np.array_equal(sent, frames[-2])


KILLED_RUN = """
import sys
from shotsmith.assistant.production import ProductionService, ServiceOptions
ProductionService.open(sys.argv[1], ServiceOptions(auto_approve=True)).generate()
"""


def test_a_process_killed_while_its_extension_runs_is_resumed_by_the_next_run(serve, mock_clip, tmp_path,
                                                                              monkeypatch):
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    case = CASES["veo"]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch)
    service = planned(case, tmp_path / "p")
    service.generate()
    service.edit(lambda p: edit_shot(p, 1, duration_s=round(service.plan.shots[0].clip_length_s + 2.0, 3)))
    for task in mock.tasks.values():
        task.created -= 60
    mock.latency = 60.0  # the extension runs until the process is killed
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "p")], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            saved = json.loads((tmp_path / "p" / "project.json").read_text())
            if any(r.get("request", {}).get("mode") == "video-extend" and r.get("remote_task_id")
                   for r in saved["generations"].values()) and mock.polls:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the child never recorded the extension's operation")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(creates(mock)) == 2
    mock.latency = 0.05
    for task in mock.tasks.values():
        task.created -= 120  # the provider finished it meanwhile
    rerun = ProductionService.open(tmp_path / "p", ServiceOptions(auto_approve=True))
    assert rerun.generate().generated == [1]
    assert len(creates(mock)) == 2  # polled the same operation: one extension, paid once
    assert rerun.plan.shots[0].clip_length_s > service.plan.shots[0].clip_length_s + 2.0


def test_a_continued_shot_whose_predecessor_stays_too_short_is_said_not_skipped(serve, mock_clip, tmp_path,
                                                                               monkeypatch):
    from shotsmith.errors import InvalidInputError
    from shotsmith.plan_edits import continue_from

    case = CASES["kling"]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch, model="kling-v2-5-turbo")  # 5 or 10 s, no extend
    service = ProductionService.open(tmp_path / "p", ServiceOptions(backend="kling", keyframes="off", auto_approve=True,
                                                                    resolution="720p", fps=24))
    service.plan_brief("a 16 second film: a red kite over a beach, a dog running on the sand", shot_count=2)
    service.edit(lambda p: edit_shot(p, 1, duration_s=12.0))  # longer than any one Kling clip
    service.edit(lambda p: continue_from(p, 2, 1))
    with pytest.raises(InvalidInputError, match="shot 2 continues from shot 1, whose clip is shorter"):
        service.generate()
    assert [r.path for r in creates(mock)] == ["/v1/videos/text2video"]  # shot 1 only; shot 2 was not sent
