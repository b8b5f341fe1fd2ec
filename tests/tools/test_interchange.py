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


# -- mixed rates, speed, EDL rates -------------------------------------------------

def _mixed_project(tmp_path, make_clip, fps: float = 30) -> ProjectStore:
    """A cut of 29.97 and 25 fps media with a dissolve, a 2x clip entered by that dissolve and a 0.5x clip."""
    from shotsmith.timeline import OutputSettings

    store = ProjectStore.create(tmp_path / f"mixed{fps:g}")
    make_clip("ntsc.mp4", duration=4, fps=30000 / 1001, size="160x120", folder=store.assets_dir)
    make_clip("pal.mp4", duration=4, fps=25, size="160x120", source="testsrc", folder=store.assets_dir)
    tl = store.project.timeline
    tl.output = OutputSettings(width=160, height=120, fps=fps)
    tl.clips = [
        ClipRef(source="assets/ntsc.mp4", in_s=0.5, out_s=2.5, transition_to_next=Transition(kind=TransitionKind.DISSOLVE, duration_s=0.5)),
        ClipRef(source="assets/pal.mp4", in_s=0.4, out_s=2.4, speed=2.0),
        ClipRef(source="assets/pal.mp4", in_s=1.0, out_s=1.6, speed=0.5,
                transition_to_next=Transition(kind=TransitionKind.DISSOLVE, duration_s=0.4)),
        ClipRef(source="assets/ntsc.mp4", in_s=1.0, out_s=2.0),
    ]
    store.save()
    return store


def _reimport(store: ProjectStore, exported: Path, tmp_path: Path, **kw) -> ProjectStore:
    other = ProjectStore.create(tmp_path / f"back_{exported.suffix[1:]}_{len(list(tmp_path.iterdir()))}")
    other.add_input(exported)
    import_otio(ToolContext(store=other), ImportOtioArgs(path=str(exported), **kw))
    return other


def _assert_same_cut(before, after, tolerance: float, frame: float = 1e-6) -> None:
    """Same clips, speeds and in/out points (within ``tolerance``); cut points and transitions within
    ``frame`` (a format that counts frames places them on whole frames, as the renderer does)."""
    for n, (old, new) in enumerate(zip(before.clips, after.clips, strict=True), start=1):
        assert new.speed == pytest.approx(old.speed), f"clip {n} speed"
        assert abs(new.in_s - old.in_s) <= tolerance, f"clip {n} in {new.in_s} != {old.in_s}"
        assert abs(new.out_s - old.out_s) <= max(tolerance, frame) * old.speed + 1e-6, f"clip {n} out {new.out_s} != {old.out_s}"
        assert new.transition_to_next.kind == old.transition_to_next.kind
        assert abs(new.transition_to_next.overlap_s - old.transition_to_next.overlap_s) <= frame + 1e-6
    assert abs(after.duration_s - before.duration_s) <= frame + 1e-6


def test_otio_speed_clips_last_their_track_time(tmp_path, make_clip):
    """OTIO reads a clip's source range as track time (the media read is that times the speed)."""
    store = _mixed_project(tmp_path, make_clip)
    result = export_otio(ToolContext(store=store), ExportOtioArgs(output="renders/cut.otio"))
    video = otio.adapters.read_from_file(result.output).video_tracks()[0]
    assert video.duration().to_seconds() == pytest.approx(store.project.timeline.duration_s)
    fast = list(video.find_clips())[1]
    assert fast.effects[0].time_scalar == 2.0
    assert fast.source_range.start_time.rate == 25  # each clip keeps its media's rate in .otio
    # 2 s of media at 2x is 1 s on the track, less the 0.25 s the dissolve takes before the cut
    assert fast.source_range.duration.to_seconds() == pytest.approx(0.75)
    assert fast.source_range.start_time.to_seconds() == pytest.approx(0.4 + 0.25 * 2)
    back = _reimport(store, Path(result.output), tmp_path)
    _assert_same_cut(store.project.timeline, back.project.timeline, 1e-6)


@pytest.mark.skipif(not available_formats()["edl"], reason="otio-cmx3600-adapter not installed")
@pytest.mark.parametrize("fps", [30, 29.97, 25])
def test_mixed_rate_edl_is_one_rate_and_reads_back_to_the_frame(tmp_path, make_clip, fps):
    store = _mixed_project(tmp_path, make_clip, fps)
    result = export_otio(ToolContext(store=store), ExportOtioArgs(output="renders/cut.edl"))
    text = Path(result.output).read_text()
    stamps = [line.split()[-4:] for line in text.splitlines() if line[:3].isdigit()]
    separators = {tc[8] for tcs in stamps for tc in tcs}
    assert separators == ({";"} if fps == 29.97 else {":"})  # one rate for source and record alike
    assert max(int(tc[9:]) for tcs in stamps for tc in tcs) < round(fps)
    assert "M2   pal.mp4\t\t60.0" in text or "M2   pal.mp4\t\t59.94" in text or "M2   pal.mp4\t\t50.0" in text
    exact = 30000 / 1001 if fps == 29.97 else fps
    reread = otio.adapters.read_from_file(result.output, rate=exact)  # OTIO's own reader accepts it
    clips = list(reread.video_tracks()[0].find_clips())
    assert [c.effects[0].time_scalar if c.effects else 1 for c in clips] == [1, 2, 0.5, 1]
    back = _reimport(store, Path(result.output), tmp_path, rate=fps)
    _assert_same_cut(store.project.timeline, back.project.timeline, 0.5 / fps + 1e-6, 1 / fps)


@pytest.mark.skipif(not available_formats()["fcpxml"], reason="otio-fcp-adapter not installed")
def test_mixed_rate_fcp_xml_reads_back_to_the_frame_with_its_speeds(tmp_path, make_clip):
    import xml.etree.ElementTree as ET

    store = _mixed_project(tmp_path, make_clip)
    result = export_otio(ToolContext(store=store), ExportOtioArgs(output="renders/cut.xml"))
    root = ET.parse(result.output).getroot()
    files = {f.findtext("name"): f.findtext("rate/timebase") for f in root.iter("file") if f.find("rate") is not None}
    assert files == {"ntsc.mp4": "30", "pal.mp4": "25"}  # each file keeps its own rate
    speeds = [p.findtext("value") for p in root.iter("parameter") if p.findtext("parameterid") == "speed"]
    assert speeds == ["200", "50"]
    reread = otio.adapters.read_from_file(result.output)
    video = reread.video_tracks()[0]
    assert video.duration().to_seconds() == pytest.approx(store.project.timeline.duration_s, abs=0.5 / 30)
    back = _reimport(store, Path(result.output), tmp_path)
    _assert_same_cut(store.project.timeline, back.project.timeline, 0.5 / 30 + 1e-6, 1 / 30)


@pytest.mark.skipif(not available_formats()["edl"], reason="otio-cmx3600-adapter not installed")
def test_edl_import_reads_at_the_rate_given(tmp_path, make_clip):
    """An EDL says no rate: a 25 fps one read at a 30 fps project's rate landed frames early. --rate fixes it;
    impossible frame numbers and drop-frame timecode are recognised."""
    from shotsmith.timeline import OutputSettings

    store = ProjectStore.create(tmp_path / "pal")
    make_clip("pal.mp4", duration=4, fps=25, size="160x120", folder=store.assets_dir)
    store.project.timeline.output = OutputSettings(width=160, height=120, fps=25)
    store.project.timeline.clips = [ClipRef(source="assets/pal.mp4", in_s=0.52, out_s=2.0),
                                    ClipRef(source="assets/pal.mp4", in_s=2.4, out_s=3.6)]
    store.save()
    edl = Path(export_otio(ToolContext(store=store), ExportOtioArgs(output="renders/cut.edl")).output)
    at_25 = _reimport(store, edl, tmp_path, rate=25)  # into a 30 fps project
    assert at_25.project.timeline.output.fps == 30
    _assert_same_cut(store.project.timeline, at_25.project.timeline, 1e-6)
    other = ProjectStore.create(tmp_path / "guess")
    other.add_input(edl)
    with pytest.raises(InvalidInputError, match="read at 30 fps its source and record lengths disagree") as caught:
        import_otio(ToolContext(store=other), ImportOtioArgs(path=str(edl)))
    assert "--rate" in caught.value.hint and other.project.timeline.clips == []

    store.project.timeline.output = OutputSettings(width=160, height=120, fps=30)
    store.project.timeline.clips[0].in_s = 0.9  # frame 27 of 30
    store.save()
    edl30 = Path(export_otio(ToolContext(store=store), ExportOtioArgs(output="renders/cut30.edl")).output)
    other.add_input(edl30)
    with pytest.raises(InvalidInputError, match="counts frames up to 27, so it was not made at 25 fps"):
        import_otio(ToolContext(store=other), ImportOtioArgs(path=str(edl30), rate=25))

    store.project.timeline.output = OutputSettings(width=160, height=120, fps=29.97)
    store.save()
    df = Path(export_otio(ToolContext(store=store), ExportOtioArgs(output="renders/df.edl")).output)
    assert ";" in df.read_text()
    other.add_input(df)
    result = import_otio(ToolContext(store=other), ImportOtioArgs(path=str(df)))
    assert any("29.97 fps (drop-frame" in n for n in result.notes)
    _assert_same_cut(store.project.timeline, other.project.timeline, 0.5 / 29.97 + 1e-6, 1 / 29.97)
    with pytest.raises(InvalidInputError, match="drop-frame"):
        import_otio(ToolContext(store=other), ImportOtioArgs(path=str(df), rate=25))


def test_otio_metadata_with_a_misspelled_key_is_named(project, tmp_path):
    result = export_otio(ToolContext(store=project), ExportOtioArgs(output="renders/cut.otio"))
    tl = otio.adapters.read_from_file(result.output)
    clip = list(tl.video_tracks()[0].find_clips())[1]
    clip.metadata["shotsmith"]["volumne"] = 0.2
    otio.adapters.write_to_file(tl, str(project.root / "typo.otio"))
    with pytest.raises(InvalidInputError, match=r"unknown key 'volumne' \(did you mean 'volume'\?\)"):
        import_otio(ToolContext(store=project), ImportOtioArgs(path="typo.otio"))
    tl.metadata["shotsmith"]["titles"][0]["postion"] = "top"
    del clip.metadata["shotsmith"]["volumne"]
    otio.adapters.write_to_file(tl, str(project.root / "typo.otio"))
    with pytest.raises(InvalidInputError, match=r"titles 1: unknown key 'postion' \(did you mean 'position'\?\)"):
        import_otio(ToolContext(store=project), ImportOtioArgs(path="typo.otio"))
