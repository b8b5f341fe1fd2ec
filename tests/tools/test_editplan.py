"""The declarative edit plan (YAML/JSON) and the render CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shotsmith.cli import main
from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove, Transition, TransitionKind
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore
from shotsmith.timeline import (AudioTrack, Caption, ChromaKey, ClipRef, OutputSettings, Overlay, Timeline, Title)
from shotsmith.tools import catalogue
from shotsmith.tools.editplan import dump_plan, load_plan, plan_to_timeline, save_plan
from shotsmith.tools.spec import TOOLS, ToolContext

catalogue.load_all()

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "edit-plans"


def rich_timeline(folder: Path) -> Timeline:
    return Timeline(
        clips=[ClipRef(source=str(folder / "a.mp4"), in_s=0.5, out_s=2.0,
                       transition_to_next=Transition(kind=TransitionKind.WIPE_UP, duration_s=0.4), volume=0.5),
               ClipRef(source=str(folder / "still.png"), out_s=3.0, motion=CameraMove.PAN_LEFT, fit="cover", speed=1.0),
               ClipRef(source=str(folder / "b.mp4"), out_s=1.0, mute=True, speed=2.0)],
        titles=[Title(text="Two\nlines: 100% 'quoted'", start_s=1, end_s=2, position="top_right", color="#ffcc00")],
        audio=[AudioTrack(source=str(folder / "m.m4a"), volume=0.4, fade_out_s=1, loop=True),
               AudioTrack(source=str(folder / "vo.m4a"), role="voiceover", start_s=1.5)],
        overlays=[Overlay(source=str(folder / "g.mp4"), scale=1.0, chroma_key=ChromaKey(color="blue"))],
        captions=[Caption(start_s=0, end_s=1, text="hi")],
        output=OutputSettings(width=640, height=360, fps=25, loudness_lufs=-16, container="webm",
                              video_codec="libvpx-vp9", audio_codec="libopus"))


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_timeline_round_trips_through_a_plan_file(tmp_path, suffix):
    media = tmp_path / "media"
    timeline = rich_timeline(media)
    plan_file = tmp_path / "plans" / f"edit{suffix}"
    save_plan(timeline, plan_file)
    text = plan_file.read_text()
    assert "../media/a.mp4" in text  # sources relative to the plan file
    assert "wipeup 0.4" in text
    loaded, resolve = load_plan(plan_file)
    resolved = loaded.model_copy(deep=True)
    for section in (resolved.clips, resolved.audio, resolved.overlays):
        for item in section:
            item.source = str(resolve(item.source))
    assert resolved == timeline


def test_plan_conveniences_timecodes_durations_and_presets(tmp_path):
    plan = yaml.safe_load("""
version: 1
output: {preset_name: gif, width: 320, height: 240}
clips:
  - {source: a.mp4, in_s: "00:00:01.500", duration_s: 2, transition: fade}
  - {source: b.mp4, in_s: 0, out_s: "2.5", transition: {kind: slideleft, duration: 0.25}}
  - {source: c.png, out_s: 3}
""")
    timeline = plan_to_timeline(plan)
    a, b, _ = timeline.clips
    assert (a.in_s, a.out_s) == (1.5, 3.5)
    assert a.transition_to_next == Transition(kind=TransitionKind.FADE, duration_s=0.5)
    assert b.out_s == 2.5 and b.transition_to_next.duration_s == 0.25
    assert timeline.output.container == "gif" and timeline.output.width == 320 and timeline.output.fps == 12


@pytest.mark.parametrize("text,message", [
    ("clips: [{source: a.mp4, out_s: 1, transition: spin 1}]", "unknown transition 'spin'"),
    ("clips: [{source: a.mp4, in_s: 2, out_s: 1}]", "clips 1"),
    ("clips: [{source: a.mp4, out_s: '1:99'}]", "not a time|out of range"),
    ("version: 7\nclips: []", "version 7"),
    ("scenes: []", "unknown section"),
    ("- just a list", "mapping"),
    ("output: {width: 721}", "even"),
    ("output: {preset_name: vhs}", "unknown export preset"),
])
def test_bad_plans_are_explained(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        load_plan(path)


def test_unparsable_plan_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("clips: [unclosed")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_plan(path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_plan(tmp_path / "missing.yaml")


def test_cli_renders_a_plan_with_paths_relative_to_it(make_clip, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "job"
    make_clip("a.mp4", duration=1.0, folder=folder / "media")
    make_clip("b.mp4", duration=1.0, folder=folder / "media", source="smptebars")
    (folder / "edit.yaml").write_text(dump_plan({
        "version": 1, "output": {"width": 320, "height": 240, "preset": "ultrafast"},
        "clips": [{"source": "media/a.mp4", "out_s": 1.0, "transition": "dissolve 0.25"},
                  {"source": "media/b.mp4", "out_s": 1.0}],
        "titles": [{"text": "CLI"}]}))
    monkeypatch.chdir(tmp_path)  # not the plan's folder: paths must still resolve against the plan
    assert main(["render", "job/edit.yaml", "-o", "out/cut.mp4"]) == 0
    info = probe(tmp_path / "out" / "cut.mp4")
    assert info.video.width == 320 and abs(info.duration_s - 1.75) < 0.05
    assert main(["render", "job/edit.yaml", "-o", "prev.gif", "--preset", "gif"]) == 0
    assert probe(tmp_path / "prev.gif").video.codec == "gif"
    assert main(["render", "job/edit.yaml", "-o", "x.mp4", "--preset", "webm"]) == 2
    assert main(["render", "job/edit.yaml", "-o", "job/media/a.mp4"]) == 2  # never over a source
    assert main(["render", "job/edit.yaml", "-o", "small.mp4", "--resolution", "360p", "--crf", "30"]) == 0
    assert (probe(tmp_path / "small.mp4").video.width, probe(tmp_path / "small.mp4").video.height) == (480, 360)
    assert main(["render", "job/edit.yaml", "-o", "x.mp4", "--resolution", "99p"]) == 2
    assert main(["check-plan", "job/edit.yaml"]) == 0
    assert main(["render", "job/edit.yaml", "-o", "x.mp4", "--print-command"]) == 0
    out = capsys.readouterr().out
    assert "ok: 2 clips" in out and "-filter_complex" in out and "xfade" in out


def test_cli_renders_a_project_and_exports_its_plan_and_captions(make_clip, tmp_path, capsys):
    store = ProjectStore.create(tmp_path / "proj")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)],
                                      captions=[Caption(start_s=0.1, end_s=0.9, text="caption: one")],
                                      output=OutputSettings(width=320, height=240, preset="ultrafast"))
    store.save()
    assert main(["render", str(store.root), "-o", str(tmp_path / "p.mp4"), "--preview"]) == 0
    assert main(["export-plan", str(store.root), "-o", str(tmp_path / "plan.yaml")]) == 0
    timeline, resolve = load_plan(tmp_path / "plan.yaml")
    assert resolve(timeline.clips[0].source) == clip.resolve()
    assert main(["export-srt", str(store.root), "-o", str(tmp_path / "c.srt")]) == 0
    assert "caption: one" in (tmp_path / "c.srt").read_text()
    for command in ("render", "presets", "export-plan", "check-plan", "export-srt"):
        assert main([command, "--help"]) == 0
    assert "web" in capsys.readouterr().out


def test_plan_tools_export_and_import(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "proj")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)])
    store.save()
    ctx = ToolContext(store=store)
    result = TOOLS["export_edit_plan"](ctx, {"output": "edit.yaml"})
    assert "clips/a.mp4" in Path(result.path).read_text()
    store.project.timeline = Timeline()
    TOOLS["import_edit_plan"](ctx, {"plan": "edit.yaml"})
    assert store.project.timeline.clips[0].source == "clips/a.mp4"


def test_the_example_plans_are_valid(tmp_path):
    subprocess.run([sys.executable, str(EXAMPLES / "make_media.py"), "--small", "--folder", str(tmp_path / "media")],
                   check=True)
    for plan in sorted(EXAMPLES.glob("*.y*ml")) + sorted(EXAMPLES.glob("*.json")):
        copy = tmp_path / plan.name
        copy.write_text(plan.read_text())
        assert main(["check-plan", str(copy)]) == 0, plan.name
    assert main(["render", str(tmp_path / "basic.yaml"), "-o", str(tmp_path / "basic.mp4"), "--preview"]) == 0


@pytest.mark.parametrize("section,index,bad,good", [
    ("clips", 2, "trasition", "transition"),
    ("clips", 1, "speeed", "speed"),
    ("output", None, "widht", "width"),
    ("audio", 1, "volumne", "volume"),
    ("clips", 2, "duraton_s", "duration_s"),
    ("titles", 1, "fade_in", "fade_in_s"),
    ("overlays", 1, "opactiy", "opacity"),
])
def test_misspelled_keys_are_errors_that_name_the_place_and_the_right_key(make_clip, tmp_path, capsys,
                                                                          section, index, bad, good):
    """A typo used to render with exit 0 and the edit silently dropped; now: one line, exit 2, nothing written."""
    a = make_clip("a.mp4", duration=1.0)
    music = make_clip("m.mp4", duration=1.0)
    plan = {"version": 1, "output": {"width": 320, "height": 240},
            "clips": [{"source": str(a), "out_s": 1.0}, {"source": str(a), "in_s": 0.2, "out_s": 1.0}],
            "audio": [{"source": str(music), "role": "music"}],
            "titles": [{"text": "hi"}], "overlays": [{"source": str(a), "scale": 0.3}]}
    value = "dissolve 0.5" if bad == "trasition" else 0.5
    target = plan[section] if index is None else plan[section][index - 1]
    target[bad] = value
    if bad == "duraton_s":
        del target["out_s"]
    path = tmp_path / "edit.yaml"
    path.write_text(dump_plan(plan))
    out = tmp_path / "out.mp4"
    assert main(["render", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    place = section if index is None else f"{section} {index}"
    assert f"edit.yaml: {place}: unknown key '{bad}' (did you mean '{good}'?)" in lines[0]
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_misspelled_transition_keys_and_sections_are_errors(tmp_path):
    with pytest.raises(InvalidInputError, match=r"clips 1: transition: unknown key 'duraton_s' \(did you mean 'duration_s'"):
        plan_to_timeline(yaml.safe_load("clips: [{source: a.mp4, out_s: 1, transition: {kind: fade, duraton_s: 1}}]"))
    with pytest.raises(InvalidInputError, match=r"unknown section 'caption' \(did you mean 'captions'\?\)"):
        plan_to_timeline(yaml.safe_load("clips: [{source: a.mp4, out_s: 1}]\ncaption: []"))
    with pytest.raises(InvalidInputError, match=r"overlays 1 chroma_key: unknown key 'colour' \(did you mean 'color'"):
        plan_to_timeline(yaml.safe_load("clips: [{source: a.mp4, out_s: 1}]\noverlays: [{source: a.png, chroma_key: {colour: blue}}]"))


def test_a_project_file_with_an_unknown_timeline_key_is_refused_but_old_ones_load(make_clip, tmp_path):
    """project.json files only ever held known keys: they load; a hand-edited typo is refused."""
    import json

    from shotsmith.errors import ShotsmithError

    store = ProjectStore.create(tmp_path / "proj")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    store.project.timeline = rich_timeline(tmp_path)
    store.project.timeline.clips[0].source = store.relative(clip)
    store.save()
    assert ProjectStore.open(store.root).project.timeline == store.project.timeline
    path = store.root / "project.json"
    data = json.loads(path.read_text())
    data["timeline"]["clips"][0]["speeed"] = 2
    path.write_text(json.dumps(data))
    with pytest.raises(ShotsmithError, match="not a valid project"):
        ProjectStore.open(store.root)
