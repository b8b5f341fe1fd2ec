"""OTIO export/import: the cut survives a round trip; EDL / FCP XML where adapters exist; bad media refused."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

from shotsmith.errors import InvalidInputError, MediaError, ProjectError
from shotsmith.formats import Transition, TransitionKind
from shotsmith.store import ProjectStore
from shotsmith.timeline import AudioTrack, ClipRef, Title
from shotsmith.tools.interchange import (
    ExportOtioArgs, ImportOtioArgs, available_formats, export_otio, import_otio,
)
from shotsmith.tools.spec import ToolContext


@pytest.fixture
def project(tmp_path, make_clip):
    store = ProjectStore.create(tmp_path / "proj")
    make_clip("a.mp4", duration=3, folder=store.assets_dir)
    make_clip("b.mp4", duration=3, source="testsrc", folder=store.assets_dir)
    c = make_clip("c.mp4", duration=2, source="smptebars", folder=tmp_path / "outside")
    store.add_input(c)
    music = tmp_path / "outside" / "music.m4a"
    from shotsmith.media.ffmpeg import run_ffmpeg

    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=220:d=6", "-c:a", "aac", str(music)])
    store.add_input(music)
    tl = store.project.timeline
    tl.clips = [
        ClipRef(source="assets/a.mp4", in_s=0.5, out_s=2.5, transition_to_next=Transition(kind=TransitionKind.DISSOLVE, duration_s=0.5)),
        ClipRef(source="assets/b.mp4", in_s=0.0, out_s=2.0, transition_to_next=Transition(kind=TransitionKind.WIPE_LEFT, duration_s=0.4), volume=0.5),
        ClipRef(source=str(c.resolve()), in_s=0.2, out_s=1.8, mute=True),
    ]
    tl.titles = [Title(text="Hello: world", start_s=0.5, end_s=2.0)]
    tl.audio = [AudioTrack(source=str(music.resolve()), start_s=1.0, in_s=0.5, out_s=4.0, volume=0.6)]
    store.save()
    return store


def test_otio_structure(project, tmp_path):
    result = export_otio(ToolContext(store=project), ExportOtioArgs(output="renders/cut.otio"))
    assert result.format == "otio" and result.clips == 3 and result.transitions == 2
    tl = otio.adapters.read_from_file(result.output)
    video = tl.video_tracks()[0]
    clips = list(video.find_clips())
    assert len(clips) == 3
    # a: 0.5..2.5 minus half of the 0.5 s dissolve at its tail
    first = clips[0].source_range
    assert first.start_time.to_seconds() == pytest.approx(0.5)
    assert first.duration.to_seconds() == pytest.approx(1.75)
    transitions = [i for i in video if isinstance(i, otio.schema.Transition)]
    assert transitions[0].transition_type == "SMPTE_Dissolve"
    assert transitions[0].in_offset.to_seconds() == pytest.approx(0.25)
    # The track is exactly as long as the shotsmith cut.
    assert video.duration().to_seconds() == pytest.approx(project.project.timeline.duration_s)
    url = clips[0].media_reference.target_url
    assert url.startswith("file://") and Path(otio.url_utils.filepath_from_url(url)).is_file()
    assert clips[0].media_reference.available_range.duration.to_seconds() == pytest.approx(3.0, abs=0.05)
    audio = tl.audio_tracks()[0]
    placed = audio.range_of_child(list(audio.find_clips())[0])
    assert placed.start_time.to_seconds() == pytest.approx(1.0)
    assert video.markers[0].name == "Hello: world"


def test_round_trip(project, tmp_path):
    ctx = ToolContext(store=project)
    export_otio(ctx, ExportOtioArgs(output="renders/cut.otio"))
    before = project.project.timeline.model_copy(deep=True)
    other = ProjectStore.create(tmp_path / "other")
    other.add_input(project.root / "renders" / "cut.otio")
    result = import_otio(ToolContext(store=other), ImportOtioArgs(path=str(project.root / "renders" / "cut.otio")))
    after = ProjectStore.open(other.root).project.timeline
    assert result.clips == 3 and result.audio_tracks == 1 and result.notes == []
    for old, new in zip(before.clips, after.clips, strict=True):
        assert new.in_s == pytest.approx(old.in_s, abs=1e-6) and new.out_s == pytest.approx(old.out_s, abs=1e-6)
        assert new.transition_to_next == old.transition_to_next
        assert (new.mute, new.volume) == (old.mute, old.volume)
        src_old = project.resolve(old.source)
        assert Path(new.source).resolve() == src_old  # outside the other project: registered as an input
    assert str(project.resolve(before.clips[0].source)) in other.project.inputs
    assert after.audio[0].start_s == pytest.approx(1.0) and after.audio[0].in_s == pytest.approx(0.5)
    assert after.audio[0].out_s == pytest.approx(4.0) and after.audio[0].volume == pytest.approx(0.6)
    assert after.titles == before.titles
    assert after.duration_s == pytest.approx(before.duration_s)


def test_import_nle_timeline_without_our_metadata(project, tmp_path, make_clip):
    make_clip("shot.mp4", duration=4, folder=project.assets_dir)
    tl = otio.schema.Timeline(name="from resolve")
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    ref = otio.schema.ExternalReference(target_url="assets/shot.mp4")  # relative: next to the .otio's folder
    for start in (0, 60):
        track.append(otio.schema.Clip(name=f"s{start}", media_reference=ref.clone(),
                                      source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start, 30), otio.opentime.RationalTime(45, 30))))
    track.insert(1, otio.schema.Transition(in_offset=otio.opentime.RationalTime(6, 30), out_offset=otio.opentime.RationalTime(9, 30)))
    tl.tracks.append(track)
    path = project.root / "nle.otio"
    otio.adapters.write_to_file(tl, str(path))
    result = import_otio(ToolContext(store=project), ImportOtioArgs(path="nle.otio"))
    clips = project.project.timeline.clips
    assert result.clips == 2 and clips[0].source == "assets/shot.mp4"
    assert clips[0].out_s == pytest.approx(1.5 + 0.3)  # visible end plus the transition's handle
    assert clips[1].in_s == pytest.approx(2.0 - 0.2)
    assert clips[0].transition_to_next.duration_s == pytest.approx(0.5)


def test_missing_and_remote_media_refused(project, tmp_path):
    tl = otio.schema.Timeline()
    track = otio.schema.Track()
    track.append(otio.schema.Clip(name="gone", media_reference=otio.schema.ExternalReference(target_url=(tmp_path / "gone.mp4").as_uri()),
                                  source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 30), otio.opentime.RationalTime(30, 30))))
    tl.tracks.append(track)
    path = project.root / "bad.otio"
    otio.adapters.write_to_file(tl, str(path))
    with pytest.raises(MediaError, match="gone.mp4 does not exist"):
        import_otio(ToolContext(store=project), ImportOtioArgs(path="bad.otio"))
    track[0].media_reference = otio.schema.ExternalReference(target_url="https://example.com/a.mp4")
    otio.adapters.write_to_file(tl, str(path))
    with pytest.raises(MediaError, match="not a local file"):
        import_otio(ToolContext(store=project), ImportOtioArgs(path="bad.otio"))
    track[0].media_reference = otio.schema.MissingReference()
    otio.adapters.write_to_file(tl, str(path))
    with pytest.raises(MediaError, match="no media reference"):
        import_otio(ToolContext(store=project), ImportOtioArgs(path="bad.otio"))
    (project.root / "junk.otio").write_text("{not json")
    with pytest.raises(InvalidInputError, match="not a timeline OTIO can read"):
        import_otio(ToolContext(store=project), ImportOtioArgs(path="junk.otio"))


def test_clip_past_media_end_refused(project):
    tl = otio.schema.Timeline()
    track = otio.schema.Track()
    track.append(otio.schema.Clip(name="long", media_reference=otio.schema.ExternalReference(target_url=(project.assets_dir / "a.mp4").as_uri()),
                                  source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 30), otio.opentime.RationalTime(300, 30))))
    tl.tracks.append(track)
    otio.adapters.write_to_file(tl, str(project.root / "long.otio"))
    with pytest.raises(InvalidInputError, match="past the end of a.mp4"):
        import_otio(ToolContext(store=project), ImportOtioArgs(path="long.otio"))


def test_needs_project_and_clips(tmp_path):
    with pytest.raises(ProjectError):
        export_otio(ToolContext(), ExportOtioArgs(output=str(tmp_path / "x.otio")))
    store = ProjectStore.create(tmp_path / "empty")
    with pytest.raises(InvalidInputError, match="no clips"):
        export_otio(ToolContext(store=store), ExportOtioArgs(output="x.otio"))


def test_unknown_suffix(project):
    with pytest.raises(InvalidInputError, match="cannot tell the format"):
        export_otio(ToolContext(store=project), ExportOtioArgs(output="cut.txt"))


@pytest.mark.skipif(not available_formats()["edl"], reason="otio-cmx3600-adapter not installed")
def test_edl(project):
    result = export_otio(ToolContext(store=project), ExportOtioArgs(output="renders/cut.edl"))
    text = Path(result.output).read_text()
    assert "a.mp4" in text and "b.mp4" in text
    assert " D " in text or " D  " in text  # dissolve events
    assert any("written as a dissolve" in n for n in result.notes)
    reread = otio.adapters.read_from_file(result.output, rate=30)
    assert len(list(reread.find_clips())) == 3


@pytest.mark.skipif(not available_formats()["fcpxml"], reason="otio-fcp-adapter not installed")
def test_fcp_xml(project):
    result = export_otio(ToolContext(store=project), ExportOtioArgs(output="renders/cut.xml"))
    reread = otio.adapters.read_from_file(result.output)
    assert len(list(reread.video_tracks()[0].find_clips())) == 3


def test_formats_reported_when_adapter_missing(project, monkeypatch):
    monkeypatch.setattr(otio.adapters, "available_adapter_names", lambda: ["otio_json"])
    with pytest.raises(InvalidInputError, match="pip install otio-cmx3600-adapter"):
        export_otio(ToolContext(store=project), ExportOtioArgs(output="cut.edl"))


@pytest.mark.skipif(not available_formats()["edl"], reason="otio-cmx3600-adapter not installed")
def test_edl_round_trip_to_the_frame(project, tmp_path):
    export_otio(ToolContext(store=project), ExportOtioArgs(output="renders/cut.edl"))
    other = ProjectStore.create(tmp_path / "from_edl")
    edl = project.root / "renders" / "cut.edl"
    other.add_input(edl)
    result = import_otio(ToolContext(store=other), ImportOtioArgs(path=str(edl)))
    assert result.clips == 3
    frame = 1 / 30
    for old, new in zip(project.project.timeline.clips, other.project.timeline.clips, strict=True):
        assert abs(new.in_s - old.in_s) <= frame and abs(new.out_s - old.out_s) <= frame
        assert Path(new.source).resolve() == project.resolve(old.source)
    dissolve = other.project.timeline.clips[0].transition_to_next
    assert dissolve.kind == TransitionKind.DISSOLVE and abs(dissolve.duration_s - 0.5) <= 2 * frame
