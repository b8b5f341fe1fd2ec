"""A local clip extension is keyed by the clip's content, not by where the project folder is.

The ``diffusers`` backend's extension handle is the clip's own file (its absolute path, which is what the
model conditions on). With that path in the cache key, a project folder moved elsewhere named a different
request for the very same extension, and the GPU ran it again. The engine now keys a local handle by the
clip's SHA-256: moving the folder and making the shot longer again reuses the extension (no pipeline call),
while a different clip behind the same path is a different extension.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("diffusers")
pytest.importorskip("torch")

from shotsmith.assistant.production import ProductionService, ServiceOptions  # noqa: E402
from shotsmith.backends.base import GenerationMode, GenerationRequest  # noqa: E402
from shotsmith.backends.engine import cache_key  # noqa: E402
from shotsmith.media.ffmpeg import run_ffmpeg  # noqa: E402
from shotsmith.plan_edits import edit_shot  # noqa: E402
from tests.backends.diffusers_support import (  # noqa: E402, F401 (fixtures, used by name)
    fresh_pipeline,
    make_video_backend,
    models,
    one_cpu_thread,
    tiny_model,
)
from tests.backends import tiny_video_pipelines as tiny  # noqa: E402

BRIEF = "a 2 second shot of a red kite over the sea"


def open_service(model: Path, root: Path, monkeypatch) -> ProductionService:
    root.parent.mkdir(parents=True, exist_ok=True)
    config = root.parent / "shotsmith.toml"
    config.write_text(f'[backends.diffusers]\nmodel = "{model}"\nshort_side = 32\nfps = [8]\nsteps = 2\n'
                      'device = "cpu"\nmax_duration_s = 4.0\nsize_multiple = 32\n', encoding="utf-8")
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    return ProductionService.open(root, ServiceOptions(backend="diffusers", keyframes="off", auto_approve=True,
                                                       resolution="360p", fps=8), emit=lambda e: None)


def extensions(service: ProductionService) -> list:
    return [r for r in service.store.project.generations.values() if r.request.get("mode") == "video-extend"]


def test_a_moved_project_extends_its_clip_again_from_the_cache(models, tmp_path, monkeypatch):
    calls = tiny.recording_pipeline(monkeypatch, "LTXConditionPipeline")
    model = tiny_model(models, "ltx_condition")
    service = open_service(model, tmp_path / "here" / "p", monkeypatch)
    service.plan_brief(BRIEF, shot_count=1)
    assert service.generate().generated == [1]
    short = service.plan.shots[0]
    wanted = round(short.clip_length_s + 0.9, 3)
    service.edit(lambda p: edit_shot(p, 1, duration_s=wanted))
    assert service.generate().generated == [1] and len(calls) == 2  # the clip, then its extension
    longer = service.plan.shots[0].clip
    assert len(extensions(service)) == 1 and longer != short.clip
    service.store.undo()  # back to the short shot, bound to its first clip
    assert service.plan.shots[0].clip == short.clip

    moved = tmp_path / "there" / "p"
    shutil.move(str(tmp_path / "here" / "p"), moved)
    service = open_service(model, moved, monkeypatch)
    assert service.plan.shots[0].clip == short.clip
    service.edit(lambda p: edit_shot(p, 1, duration_s=wanted))  # "make shot 1 longer" again, in the new place
    result = service.generate()
    assert len(calls) == 2, "the extension ran on the model again after the project moved"
    assert result.generated == [] and result.cached == [1]
    assert service.plan.shots[0].clip == longer and (moved / longer).is_file()
    assert len(extensions(service)) == 1  # one record: the same key before and after the move


def request(clip: Path) -> GenerationRequest:
    return GenerationRequest(prompt="a red kite", duration_s=1.0, aspect_ratio="1:1", resolution="360p", fps=8,
                             seed=7, mode=GenerationMode.VIDEO_EXTEND, extend_from=str(clip))


def make_clip(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(["-f", "lavfi", "-i", f"{source}s=32x32:r=8:d=1", "-c:v", "libx264", "-preset", "ultrafast",
                "-pix_fmt", "yuv420p", str(path)])
    return path


def test_the_key_follows_the_clips_content_not_its_path(models, tmp_path):
    backend = make_video_backend(tiny_model(models, "ltx_condition"))
    here = make_clip(tmp_path / "a" / "clip.mp4", "testsrc2=")
    there = tmp_path / "b" / "clip.mp4"
    there.parent.mkdir()
    shutil.copy(here, there)
    key = lambda clip: cache_key(backend, backend.prepare(request(clip))[0])  # noqa: E731
    assert key(here) == key(there)  # same frames, another folder: the same extension
    make_clip(there, "color=c=red:")  # another clip behind the same path: another extension
    assert key(here) != key(there)
    # A handle that is no local file (a provider's task id) stays in the key as it is.
    cloud = request(here).model_copy(update={"extend_from": "task-123"})
    assert cache_key(backend, cloud) != cache_key(backend, cloud.model_copy(update={"extend_from": "task-124"}))
