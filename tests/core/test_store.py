"""The project store: atomic saves, schema checks, and the path guard."""

from __future__ import annotations

import json
import os

import pytest

from shotsmith import atomic
from shotsmith.brief import Brief
from shotsmith.errors import PathSafetyError, ProjectError
from shotsmith.store import PROJECT_FILE, ProjectStore


def test_create_save_open_round_trip(tmp_path):
    store = ProjectStore.create(tmp_path / "p", name="coffee")
    store.project.brief = Brief(text="a 15 second ad", duration_s=15)
    store.save()
    again = ProjectStore.open(tmp_path / "p")
    assert again.project.name == "coffee"
    assert again.project.brief.duration_s == 15
    assert {p.name for p in (tmp_path / "p").iterdir()} >= {"assets", "clips", "renders", PROJECT_FILE}


def test_create_refuses_existing_project(tmp_path):
    ProjectStore.create(tmp_path / "p")
    with pytest.raises(ProjectError, match="already holds a project"):
        ProjectStore.create(tmp_path / "p")


@pytest.mark.parametrize("crash_point", ["fsync", "replace"])
def test_crash_mid_save_leaves_previous_project_intact(tmp_path, monkeypatch, crash_point):
    store = ProjectStore.create(tmp_path / "p", name="before")
    before = (tmp_path / "p" / PROJECT_FILE).read_bytes()

    class Crash(BaseException):
        """Stands in for the process dying (not an Exception, so nothing swallows it)."""

    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(atomic.os, crash_point, crash)
    store.project.name = "after"
    with pytest.raises(Crash):
        store.save()
    monkeypatch.undo()
    assert (tmp_path / "p" / PROJECT_FILE).read_bytes() == before
    assert ProjectStore.open(tmp_path / "p").project.name == "before"
    leftovers = [p.name for p in (tmp_path / "p").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_truncated_project_file_is_a_clear_error(tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    path = store.root / PROJECT_FILE
    path.write_text(path.read_text()[:40])
    with pytest.raises(ProjectError, match="unreadable"):
        ProjectStore.open(tmp_path / "p")


def test_unknown_schema_version_is_refused(tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    path = store.root / PROJECT_FILE
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match="schema version 99"):
        ProjectStore.open(tmp_path / "p")


def test_resolve_refuses_escapes_and_allows_registered_inputs(tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    (store.assets_dir / "a.mp4").write_bytes(b"x")
    assert store.resolve("assets/a.mp4") == (store.assets_dir / "a.mp4").resolve()
    for bad in ("../outside.mp4", "/etc/passwd", "assets/../../outside.mp4"):
        with pytest.raises(PathSafetyError, match="outside the project"):
            store.resolve(bad)
    outside = tmp_path / "footage.mp4"
    outside.write_bytes(b"x")
    os.symlink(outside, store.assets_dir / "link.mp4")
    with pytest.raises(PathSafetyError):
        store.resolve("assets/link.mp4")
    store.add_input(outside)
    assert store.resolve(str(outside)) == outside.resolve()
    assert store.resolve("assets/link.mp4") == outside.resolve()  # now a registered input


def test_atomic_output_removes_temp_on_failure_and_keeps_old_file(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("ffmpeg died")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_source_paths_cover_every_kind_of_layer(tmp_path):
    from shotsmith.timeline import AudioTrack, ClipRef, Overlay

    store = ProjectStore.create(tmp_path / "p")
    timeline = store.project.timeline
    timeline.clips.append(ClipRef(source="clips/a.mp4", out_s=1))
    timeline.audio.append(AudioTrack(source="assets/music.wav"))
    timeline.overlays.append(Overlay(source="assets/logo.png"))
    timeline.caption_settings.srt = "assets/subs.srt"
    names = {p.name for p in store.source_paths()}
    assert {"a.mp4", "music.wav", "logo.png", "subs.srt"} <= names


def test_a_registered_secret_never_reaches_project_json(tmp_path):
    from shotsmith.project import GenerationRecord
    from shotsmith.scrub import register_secret

    secret = "sk-live-SHOULD-NOT-LEAK-77aa"
    register_secret(secret)
    store = ProjectStore.create(tmp_path / "p")
    store.project.generations["k"] = GenerationRecord(cache_key="k", backend="runway",
                                                      error=f"401: invalid key {secret} (check it)")
    store.save()
    text = (tmp_path / "p" / "project.json").read_text()
    assert secret not in text and "invalid key ***" in text
