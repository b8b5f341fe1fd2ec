"""Continuity between shots: ``continue`` makes the next shot from the previous clip's last frame.

End to end on real media with the offline animatic (which animates a start frame): the cut at a
``continue`` shows the same picture on both sides, a new clip for shot N gives shot N+1 a new first
frame, a backend without image-to-video refuses it in one line, and the estimate prices continued
shots as image-to-video requests bound to their approval.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.assistant.production import continuity
from shotsmith.assistant.sessions.intents import parse_intent
from shotsmith.backends.base import GenerationMode
from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove, Transition, TransitionKind
from shotsmith.media.ffmpeg import ffmpeg_exe
from shotsmith.plan_edits import continue_from, edit_shot
from tests.assistant._test_backends import ImageToVideoBackend, register

BRIEF = "a 6 second film: a red kite over a beach, a dog running on the sand, 3 shots"
FPS = 24


@pytest.fixture(autouse=True)
def _backends():
    register()
    ImageToVideoBackend.requests.clear()


def planned(root: Path, backend: str = "animatic", **options) -> ProductionService:
    service = ProductionService.open(root, ServiceOptions(backend=backend, resolution="360p", fps=FPS, **options))
    service.plan_brief(BRIEF, shot_count=3)
    # A static shot 2 keeps these tests about the frame itself; every other move across the cut is covered by
    # test_animatic.py::test_a_continued_shot_starts_on_the_previous_clips_last_frame_whatever_its_camera_move.
    service.edit(lambda p: edit_shot(p, 2, camera=CameraMove.STATIC))
    return service


def decoded(video: Path, indices: list[int]) -> dict[int, np.ndarray]:
    out = {}
    with av.open(str(video)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n in indices:
                out[n] = frame.to_ndarray(format="rgb24").astype(np.float32)
    return out


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """The share of pixels that visibly change (beyond codec noise). The animatic's slate (SHOT 1 / SHOT 2
    and the camera line, drawn over the cut by the render) changes at the cut by design: about 4% of the
    frame; the picture under it is what must carry on."""
    return float((np.abs(a - b).mean(axis=2) > 20).mean())


def test_continue_starts_the_next_shot_on_the_last_frame_of_the_previous_clip(tmp_path):
    service = planned(tmp_path / "p")
    service.edit(lambda p: continue_from(p, 2, 1))
    plan = service.plan
    assert plan.shots[0].transition_to_next.kind is TransitionKind.CONTINUE
    assert plan.shots[0].transition_to_next.overlap_s == 0  # a hard cut in the edit
    assert plan.shots[1].continues_from == continuity.PENDING
    result = service.generate()
    assert sorted(result.generated) == [1, 2, 3]
    one, two = service.plan.shots[:2]
    # Shot 2's first-frame keyframe is shot 1's clip's last frame, bound to that clip's content.
    assert two.continues_from == continuity.clip_digest(service.store.root / one.clip)
    assert two.bound_keyframe and two.keyframe.startswith("clips/continue-")
    expected = service.store.root / "expected.png"
    continuity.last_frame(service.store.root / one.clip, expected, one.camera)
    key = np.asarray(Image.open(service.store.root / two.keyframe).convert("RGB")).astype(np.float32)
    assert diff(key, np.asarray(Image.open(expected).convert("RGB")).astype(np.float32)) == 0
    # ...and shot 2's clip starts from it: the animatic's card is the frame (resampled to the card's size).
    card = Image.open(service.store.root / two.clip).convert("RGB")
    assert diff(np.asarray(card.resize((key.shape[1], key.shape[0]), Image.Resampling.BILINEAR)).astype(np.float32),
                key) < 3.0
    # In the render the cut between them is invisible: the last frame of shot 1 and the first of shot 2
    # differ by codec noise, like two frames inside one shot, while the cut into shot 3 is a jump.
    rendered = service.render()
    assert abs(rendered.duration_s - plan.total_duration_s) < 0.05
    cut = round(one.duration_s * FPS)
    frames = decoded(Path(rendered.path), [cut - 2, cut - 1, cut])
    assert changed(frames[cut - 2], frames[cut - 1]) < 0.01  # inside shot 1
    assert changed(frames[cut - 1], frames[cut]) < 0.07  # across the cut: the slate's words only


def test_without_continue_the_same_cut_is_a_jump(tmp_path):
    service = planned(tmp_path / "p")
    service.edit(lambda p: edit_shot(p, 1, transition=Transition.cut()))
    service.generate()
    rendered = service.render()
    cut = round(service.plan.shots[0].duration_s * FPS)
    frames = decoded(Path(rendered.path), [cut - 1, cut])
    assert changed(frames[cut - 1], frames[cut]) > 0.14  # what the continue test's bound rules out


def test_a_new_clip_for_shot_n_gives_shot_n_plus_1_a_new_first_frame_and_undo_brings_both_back_free(tmp_path):
    service = planned(tmp_path / "p")
    service.edit(lambda p: continue_from(p, 2, 1))
    service.generate()
    before = {s.index: s for s in service.plan.shots}
    service.edit(lambda p: edit_shot(p, 1, prompt="a yellow kite over a grey sea"))
    result = service.generate()
    after = {s.index: s for s in service.plan.shots}
    assert sorted(result.generated) == [1, 2]  # shot 3 keeps its clip
    assert after[2].continues_from == continuity.clip_digest(service.store.root / after[1].clip)
    assert after[2].continues_from != before[2].continues_from
    assert after[2].keyframe != before[2].keyframe and after[2].clip != before[2].clip
    assert after[3].clip == before[3].clip
    service.store.undo()
    undone = {s.index: s for s in service.plan.shots}
    assert undone[1].prompt == before[1].prompt
    result = service.generate()
    assert result.generated == []
    final = {s.index: s for s in service.plan.shots}
    assert final[2].keyframe == before[2].keyframe and final[2].clip == before[2].clip


def test_a_backend_without_image_to_video_refuses_continue_in_one_line(tmp_path):
    service = planned(tmp_path / "p", backend="priced-test")  # text-to-video only
    with pytest.raises(InvalidInputError, match="priced-test does not do image-to-video"):
        service.edit(lambda p: continue_from(p, 2, 1))
    assert service.plan.shots[0].transition_to_next.kind is not TransitionKind.CONTINUE
    with pytest.raises(InvalidInputError, match="right before it"):
        continue_from(service.plan, 3, 1)
    with pytest.raises(InvalidInputError, match="first shot"):
        continue_from(service.plan, 1, 2)
    with pytest.raises(InvalidInputError, match="last shot"):
        edit_shot(service.plan, 3, transition=Transition(kind=TransitionKind.CONTINUE))


def test_the_chat_cli_sets_continue_and_refuses_it_for_a_text_to_video_backend(tmp_path):
    project = tmp_path / "p"
    run = lambda *args: subprocess.run([sys.executable, "-m", "shotsmith", "chat", "-p", str(project), *args],  # noqa: E731
                                       capture_output=True, text=True, timeout=240)
    done = run("-b", "animatic", "-r", "360p", "-m", BRIEF, "-m", "make shot 3 continue from 2", "-m", "generate")
    assert done.returncode == 0, done.stderr
    assert "shot 3 starts from the last frame of shot 2" in done.stdout
    service = ProductionService.open(project)
    assert service.plan.shots[1].transition_to_next.kind is TransitionKind.CONTINUE
    assert service.plan.shots[2].bound_keyframe.startswith("clips/continue-")
    refused = run("-b", "diffusers", "-m", "continue shot 2 from shot 1")
    assert refused.returncode == 2
    assert "diffusers does not do image-to-video" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout


def test_intents_read_continue():
    assert parse_intent("continue shot 3 from shot 2", shot_count=4).args == {"index": 3, "source": 2}
    assert parse_intent("make shot 3 continue from 2", shot_count=4).args == {"index": 3, "source": 2}
    assert parse_intent("the last shot continues from shot 3", shot_count=4).args == {"index": 4, "source": 3}
    assert parse_intent("make shot 3 longer", shot_count=4).kind == "duration"


def test_the_estimate_prices_continued_shots_as_image_to_video_and_one_yes_covers_the_chain(tmp_path):
    service = planned(tmp_path / "p", backend="i2v-test", keyframes="off")
    service.edit(lambda p: continue_from(p, 2, 1))
    service.edit(lambda p: continue_from(p, 3, 2))
    estimate = service.estimate()
    assert estimate.shots == [1, 2, 3]  # every shot, the continued ones priced before their frames exist
    assert all(c.usd > 0 for c in estimate.to_generate)
    assert [c.cache_key.startswith("continue-") for c in estimate.to_generate] == [False, True, True]
    service.spending.record(estimate, approved=True, by="user")  # the user's yes to what was shown
    result = service.generate()
    assert result.awaiting is None and sorted(result.generated) == [1, 2, 3]
    requests = {r.shot_index: r for r in ImageToVideoBackend.requests}
    assert requests[1].mode is GenerationMode.TEXT_TO_VIDEO
    for index in (2, 3):
        shot = service.plan.shots[index - 1]
        assert requests[index].mode is GenerationMode.IMAGE_TO_VIDEO
        assert requests[index].image == str(service.store.root / shot.keyframe)
    # The waves ran in order (a chain), and no more was charged than approved.
    assert [r.shot_index for r in ImageToVideoBackend.requests] == [1, 2, 3]
    spent = service.store.project.spending.spent_usd
    assert spent == pytest.approx(estimate.usd)


def test_without_a_yes_the_continued_shots_are_not_sent(tmp_path):
    service = planned(tmp_path / "p", backend="i2v-test", keyframes="off")
    service.edit(lambda p: continue_from(p, 2, 1))
    with pytest.raises(Exception, match="approval"):
        service.generate()
    assert ImageToVideoBackend.requests == []


def test_the_last_frame_of_a_video_is_its_final_decoded_frame(tmp_path):
    clip = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24:duration=1.5",
                    "-c:v", "libx264", "-g", "12", "-pix_fmt", "yuv420p", str(clip)], check=True)
    frames = []
    with av.open(str(clip)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]
    assert len(frames) == 36
    out = continuity.last_frame(clip, tmp_path / "last.png")
    got = np.asarray(Image.open(out).convert("RGB")).astype(np.float32)
    assert diff(got, frames[-1]) == 0  # lossless: exactly the last decoded frame
    assert diff(got, frames[-2]) > 1.0  # testsrc2 moves: the frame before differs
    # ffmpeg's own decode of the last frame agrees within conversion noise.
    ref = tmp_path / "ref.png"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(clip), "-vf", "select=eq(n\\,35)", "-frames:v", "1",
                    str(ref)], check=True)
    assert diff(got, np.asarray(Image.open(ref).convert("RGB")).astype(np.float32)) < 2.0


def test_the_agents_edit_shot_takes_continue_in_its_strict_schema(tmp_path):
    from shotsmith.assistant.agent.schemas import strict_schema
    from shotsmith.assistant.agent.tools import EditShotArgs, ProductionTools

    schema = strict_schema(EditShotArgs)
    transition = schema["properties"]["transition"]
    assert "continue" in transition["enum"] and None in transition["enum"]
    assert schema["additionalProperties"] is False
    service = planned(tmp_path / "p")
    tools = ProductionTools(service, planner_label="test")
    fields = {name: None for name in EditShotArgs.model_fields}
    tools.edit_shot(EditShotArgs(**{**fields, "shot": 1, "transition": "continue"}))
    first = service.plan.shots[0].transition_to_next
    assert first.kind is TransitionKind.CONTINUE and first.duration_s == 0
    assert service.plan.shots[1].continues_from == continuity.PENDING
    refusing = planned(tmp_path / "q", backend="priced-test")
    with pytest.raises(InvalidInputError, match="does not do image-to-video"):
        ProductionTools(refusing, planner_label="test").edit_shot(
            EditShotArgs(**{**fields, "shot": 1, "transition": "continue"}))


def test_an_edit_plan_refuses_continue_and_a_planned_cut_exports_it_as_a_cut(tmp_path):
    from shotsmith.tools.editplan import plan_to_timeline, timeline_to_plan

    clip = tmp_path / "a.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24:duration=1",
                    "-pix_fmt", "yuv420p", str(clip)], check=True)
    with pytest.raises(InvalidInputError, match="belongs to a planned project"):
        plan_to_timeline({"clips": [{"source": str(clip), "transition": "continue"}, {"source": str(clip)}]})
    service = planned(tmp_path / "p")
    service.edit(lambda p: continue_from(p, 2, 1))
    service.generate()
    service.store.project.sync_cut()
    timeline = service.store.project.timeline
    assert timeline.clips[0].transition_to_next.kind is TransitionKind.CONTINUE
    exported = timeline_to_plan(timeline)
    assert "transition" not in exported["clips"][0]  # a hard cut in the edit


def test_continue_set_through_the_editing_tools_is_refused_at_generation_on_a_text_to_video_backend(tmp_path):
    from shotsmith.tools.arrange import SetTransitionArgs, set_transition
    from shotsmith.tools.spec import ToolContext

    service = planned(tmp_path / "p", backend="priced-test", auto_approve=True)
    set_transition(ToolContext(store=service.store), SetTransitionArgs(clip=1, kind=TransitionKind.CONTINUE))
    reopened = ProductionService.open(tmp_path / "p", ServiceOptions(auto_approve=True))
    assert reopened.plan.shots[0].transition_to_next.kind is TransitionKind.CONTINUE
    with pytest.raises(InvalidInputError, match="priced-test does not do image-to-video"):
        reopened.generate()
    assert reopened.store.project.spending.charges == []  # refused before anything was sent


def test_a_backend_that_could_not_send_the_frame_refuses_continue_before_anything_is_spent(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOTSMITH_S3_BUCKET", raising=False)
    service = planned(tmp_path / "p", backend="luma", keyframes="off")  # Luma takes images only as URLs
    with pytest.raises(InvalidInputError, match="shot 2 cannot continue from shot 1: luma takes images only as "
                                                "public URLs and no uploader is configured"):
        service.edit(lambda p: continue_from(p, 2, 1))


def test_in_a_conversation_one_yes_covers_a_continued_chain(tmp_path):
    from shotsmith.assistant import open_session
    from shotsmith.assistant.events import ApprovalRequested
    from tests.assistant._assistant_helpers import collect

    session = open_session(tmp_path / "p", options=ServiceOptions(backend="i2v-test", keyframes="off",
                                                                  resolution="360p", fps=FPS), offline=True)
    collect(session.send(BRIEF))
    collect(session.send("continue shot 2 from shot 1"))
    collect(session.send("make shot 3 continue from 2"))
    asked = [e for e in collect(session.send("generate")) if isinstance(e, ApprovalRequested)]
    assert len(asked) == 1 and asked[0].estimate.shots == [1, 2, 3]
    assert ImageToVideoBackend.requests == []  # nothing before the yes
    events = collect(session.respond(True))
    assert not [e for e in events if isinstance(e, ApprovalRequested)]  # the continued shots need no second yes
    assert session.last_error is None, session.last_error
    modes = [(r.shot_index, r.mode) for r in ImageToVideoBackend.requests]
    assert modes == [(1, GenerationMode.TEXT_TO_VIDEO), (2, GenerationMode.IMAGE_TO_VIDEO),
                     (3, GenerationMode.IMAGE_TO_VIDEO)]
    assert session.store.project.spending.spent_usd == pytest.approx(asked[0].estimate.usd)
    assert (session.store.root / "renders" / "final.mp4").is_file()


def test_a_continued_shot_starts_without_the_previous_panels_arrows(tmp_path):
    """Review of #10: a continued shot's first frame (the previous clip's last) carried the previous panel's
    pan arrow, a stale mark of a move the new shot does not make; the new move is marked in the slate."""
    import numpy as np
    from PIL import Image

    from shotsmith.assistant.production.continuity import last_frame
    from shotsmith.backends.animatic import AnimaticBackend, slate
    from shotsmith.backends.base import GenerationMode, GenerationRequest
    from shotsmith.backends.sketch import render_png
    from shotsmith.backends.sketch_draw import ARROW
    from shotsmith.formats import CameraMove

    def arrow_pixels(path):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB")).astype(int)
        return int((np.abs(pixels - ARROW).sum(axis=2) < 40).sum())

    shot = dict(duration_s=2, shot_index=2, resolution="360p", camera=CameraMove.PAN_RIGHT)
    panel = tmp_path / "panel.png"
    panel.write_bytes(render_png(GenerationRequest(prompt="Medium shot of a man walking across the street",
                                                   mode=GenerationMode.TEXT_TO_IMAGE, **shot)))
    card = tmp_path / "card.png"
    AnimaticBackend().render(GenerationRequest(prompt="a man walking", mode=GenerationMode.IMAGE_TO_VIDEO,
                                               image=str(panel), **shot), card)
    assert arrow_pixels(panel) > 100 and arrow_pixels(card) > 50  # shot 2 itself shows its pan
    first = last_frame(card, tmp_path / "continue.png", CameraMove.PAN_RIGHT)
    assert arrow_pixels(first) == 0
    continued = GenerationRequest(prompt="Medium shot of a man waving, slow pull-back", duration_s=2, shot_index=3,
                                  mode=GenerationMode.IMAGE_TO_VIDEO, image=str(first), camera=CameraMove.ZOOM_OUT,
                                  resolution="360p")
    bottom = slate(continued, 640, 360)[-1]["text"]
    assert "CAMERA: ← → SLOW PULL-BACK" in bottom, bottom
