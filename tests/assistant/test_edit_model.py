"""One edit model: an edit made through any door lands in the plan once and shows in every later render.

Each test edits a planned project through a different front (the editing
tools' "clip N", the plan edits the chat and the agent use, an import), then
renders through the production service and reads the output back: duration,
order (by the colour of each shot's footage), speed, transition, aspect and
replaced footage.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.formats import Transition, TransitionKind
from shotsmith.plan_edits import edit_shot, reorder
from shotsmith.tools.spec import ToolContext, TOOLS
from shotsmith.tools.catalogue import load_all

COLOURS = {"red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255)}


def colour_at(path: Path, t: float) -> np.ndarray:
    """Mean RGB of the frame shown at ``t`` seconds."""
    with av.open(str(path)) as container:
        best = None
        for frame in container.decode(container.streams.video[0]):
            if frame.time is not None and frame.time > t + 1e-6:
                break
            best = frame
        assert best is not None
        return best.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)


def nearest(rgb: np.ndarray) -> str:
    return min(COLOURS, key=lambda name: float(np.abs(np.array(COLOURS[name]) - rgb).sum()))


def video_length(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames / float(stream.average_rate)


@pytest.fixture
def footage_project(tmp_path, make_clip):
    """A planned project whose three shots are plain colour clips (2 s shown of 4 s each)."""
    service = ProductionService.open(tmp_path / "proj", ServiceOptions(resolution="360p", fps=24))
    for name in COLOURS:
        make_clip(f"{name}.mp4", duration=4, size="320x180", fps=24, source=f"color=c={name}",
                  folder=service.store.assets_dir)
    service.plan_brief("a 6 second film in three shots")
    for index, name in enumerate(COLOURS, start=1):
        service.add_footage(f"{name}.mp4", index=index, duration_s=2.0)
    return service


def tool(name: str, service: ProductionService, **args):
    load_all()
    return TOOLS[name](ToolContext(store=service.store), args)


def shown_order(path: Path, starts: list[float]) -> list[str]:
    return [nearest(colour_at(path, t)) for t in starts]


def test_speed_set_with_the_editing_tool_survives_the_render(footage_project):
    result = tool("set_speed", footage_project, clip=2, speed=0.5)
    assert result.duration_s == pytest.approx(8.0)  # shot 2 shows its 2 s at half speed: 4 s
    rendered = footage_project.render()
    assert rendered.duration_s == pytest.approx(8.0, abs=0.05)
    assert video_length(Path(rendered.path)) == pytest.approx(8.0, abs=0.05)
    assert shown_order(Path(rendered.path), [1.0, 3.0, 5.0, 7.0]) == ["red", "green", "green", "blue"]
    assert footage_project.store.project.plan.shots[1].speed == 0.5


def test_arrange_reorders_the_shots_and_the_render_shows_it(footage_project):
    tool("arrange", footage_project, order=[3, 1, 2])
    assert [s.source.rsplit("/", 1)[-1] for s in footage_project.plan.shots] == ["blue.mp4", "red.mp4", "green.mp4"]
    rendered = footage_project.render()
    assert shown_order(Path(rendered.path), [1.0, 3.0, 5.0]) == ["blue", "red", "green"]


def test_set_clip_trim_and_remove_survive_a_later_plan_edit(footage_project):
    tool("set_clip", footage_project, clip=1, in_s=1.0, out_s=2.5)  # 1.5 s of red
    tool("arrange", footage_project, remove=[3])
    footage_project.edit(lambda plan: edit_shot(plan, 2, volume=0.5))  # a later edit elsewhere
    rendered = footage_project.render()
    assert rendered.duration_s == pytest.approx(3.5, abs=0.05)
    assert shown_order(Path(rendered.path), [0.5, 2.5]) == ["red", "green"]
    assert footage_project.plan.shots[0].in_s == 1.0


def test_transition_is_a_blend_in_the_render(footage_project):
    tool("set_transition", footage_project, clip=1, kind="dissolve", duration_s=1.0)
    rendered = footage_project.render()
    assert rendered.duration_s == pytest.approx(6.0, abs=0.05)  # the handle comes from the footage, not the cut
    middle = colour_at(Path(rendered.path), 2.5)  # shot 1 hands over to shot 2 from 2.0 to 3.0 s
    assert middle[0] > 60 and middle[1] > 30, middle  # red and green at once: a cross-dissolve


def test_reframe_to_vertical_keeps_the_clips_and_sizes_the_output(footage_project):
    tool("reframe", footage_project, aspect_ratio="9:16", mode="blur")
    assert footage_project.estimate().to_generate == []
    rendered = footage_project.render()
    assert (rendered.width, rendered.height) == (360, 640)
    tool("set_speed", footage_project, clip=1, speed=2.0)  # a later edit does not undo the reframe
    assert (footage_project.render().width, footage_project.render().height) == (360, 640)


def test_replacing_a_generated_shot_with_footage(tmp_path, make_clip):
    service = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="360p", fps=24))
    make_clip("beach.mp4", duration=3, size="320x180", fps=24, source="color=c=blue", folder=service.store.assets_dir)
    service.plan_brief("a 6 second ad for a bakery, 3 shots")
    service.generate()
    service.add_footage("beach.mp4", index=1)
    assert service.estimate().to_generate == []  # the other shots keep their clips
    rendered = service.render()
    assert nearest(colour_at(Path(rendered.path), 0.5)) == "blue"
    assert rendered.duration_s == pytest.approx(6.0, abs=0.05)


def test_generated_shots_keep_their_clips_through_reorder_speed_and_transition(tmp_path):
    service = ProductionService.open(tmp_path / "g", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 6 second ad for a bakery, 3 shots")
    service.generate()
    clips = [s.clip for s in service.plan.shots]
    service.edit(lambda p: reorder(p, [3, 2, 1]))
    service.edit(lambda p: edit_shot(p, 1, speed=0.5, transition=Transition(kind=TransitionKind.FADE, duration_s=0.3)))
    estimate = service.estimate()
    assert estimate.to_generate == [], estimate.text  # nothing regenerated, nothing to pay
    assert [s.clip for s in service.plan.shots] == clips[::-1]
    rendered = service.render()
    assert rendered.duration_s == pytest.approx(8.0, abs=0.05)


def test_a_new_prompt_needs_a_new_clip_and_the_rest_do_not(tmp_path):
    service = ProductionService.open(tmp_path / "n", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 6 second ad for a bakery, 3 shots")
    service.generate()
    service.edit(lambda p: edit_shot(p, 2, prompt="a croissant on a marble counter, macro, soft light"))
    assert service.estimate().shots == [2]
    with pytest.raises(Exception, match="no clip yet"):
        service.render()
    result = service.generate()
    assert result.generated == [2] and sorted(result.cached) == [1, 3]
    assert service.render().duration_s == pytest.approx(6.0, abs=0.05)


def test_an_edit_that_cannot_render_is_refused_and_the_plan_is_unchanged(footage_project):
    before = footage_project.plan
    with pytest.raises(Exception, match="past the end"):
        tool("set_clip", footage_project, clip=1, in_s=10.0)
    assert footage_project.plan == before


def test_an_imported_edit_plan_lands_in_the_plan_and_survives_later_edits(footage_project, tmp_path):
    import yaml

    tool("export_edit_plan", footage_project, output="cut.yaml")
    document = yaml.safe_load((footage_project.store.root / "cut.yaml").read_text())
    document["clips"] = list(reversed(document["clips"]))
    document["clips"][0]["speed"] = 2.0
    (footage_project.store.root / "cut.yaml").write_text(yaml.safe_dump(document))
    tool("import_edit_plan", footage_project, plan="cut.yaml")
    assert [s.source.rsplit("/", 1)[-1] for s in footage_project.plan.shots] == ["blue.mp4", "green.mp4", "red.mp4"]
    footage_project.edit(lambda plan: edit_shot(plan, 3, volume=0.8))  # a later edit keeps the import
    rendered = footage_project.render()
    # blue at 2x (1 s, a cut), green 2.5 s fading 0.5 s into red 2.5 s: 5.5 s, as the imported cut says
    assert rendered.duration_s == pytest.approx(5.5, abs=0.05)
    assert shown_order(Path(rendered.path), [0.5, 2.0, 4.5]) == ["blue", "green", "red"]


def test_the_editing_render_tool_refuses_a_cut_with_shots_missing(tmp_path):
    service = ProductionService.open(tmp_path / "m", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 4 second ad for a bakery, 2 shots")
    with pytest.raises(Exception, match="no clip yet"):
        tool("render", service, output="renders/partial.mp4")
    assert not (service.store.root / "renders" / "partial.mp4").exists()


def test_an_export_preset_size_survives_later_edits(footage_project):
    tool("set_output", footage_project, preset="preview", width=320, height=180, fps=12)
    footage_project.edit(lambda plan: edit_shot(plan, 1, volume=0.5))
    rendered = footage_project.render()
    assert (rendered.width, rendered.height) == (320, 180)
    assert footage_project.store.project.timeline.output.fps == 12
