"""A generation's cache key names the files a request carries by their content, not by where the project is.

The key used to hash the absolute paths of the storyboard still (``image``), the last frame (``end_image``)
and each reference image. A project folder moved (or cloned to another machine) then looked its clips up
under other keys whenever a shot lost its binding (a prompt changed and typed back, a re-plan), and paid
for the same pictures again. These tests run the Runway protocol (``runway`` video and ``runway-image``
stills, both mocked on 127.0.0.1) on real files: a cast reference image, storyboard stills, clips.

Records written before the change are filed under :func:`legacy_cache_key`; they are found in place (the
usual upgrade: same folder, new code) and in a folder the project was moved to before the upgrade (its
former folder read off the records' paths), filed under the new key when used, and a task left running
under the old key is resumed, never created again.
"""

from __future__ import annotations

import asyncio
import shutil
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.assistant.production.casting import add_member
from shotsmith.backends.base import GenerationMode, GenerationRequest, Reference
from shotsmith.backends.cache_keys import carried_files, moved_legacy_keys, same_request
from shotsmith.backends.engine import cache_key, generate_shots, key_payload, legacy_cache_key
from shotsmith.backends.registry import get_backend
from shotsmith.backends.runway import RunwayBackend
from shotsmith.plan_edits import edit_shot
from shotsmith.project import GenerationRecord
from shotsmith.store import ProjectStore
from tests.backends.backend_mocks.runway import RunwayMock
from tests.backends.backend_support import FAST_RETRY
from tests.backends.test_extend import CASES, start

RUNWAY_KEY = "sk-test-SECRET-0123456789"
BRIEF = "a 5 second shot of @mara pouring latte art in a small cafe"
CREATE_PATHS = ("/v1/text_to_video", "/v1/image_to_video", "/v1/text_to_image")


@pytest.fixture
def runway(serve, mock_clip, tmp_path, monkeypatch):
    """The Runway mock answering both the video and the image backend, fast polls."""
    mock = serve(RunwayMock, mock_clip, key=RUNWAY_KEY, latency=0.0)
    config = tmp_path / "shotsmith.toml"
    config.write_text(f'[backends.runway]\nbase_url = "{mock.url}"\npoll_interval_s = 0.01\n'
                      f'[backends.runway-image]\nbase_url = "{mock.url}"\npoll_interval_s = 0.01\n', encoding="utf-8")
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    monkeypatch.setenv("RUNWAYML_API_SECRET", RUNWAY_KEY)
    return mock


def creates(mock) -> list:
    return [r for r in mock.log if r.method == "POST" and r.path in CREATE_PATHS]


def portrait(path: Path, colour=(200, 60, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (96, 128), (30, 30, 40))
    image.paste(Image.new("RGB", (48, 64), colour), (24, 32))
    image.save(path)
    return path


def open_service(root: Path, **options) -> ProductionService:
    return ProductionService.open(root, ServiceOptions(**{"backend": "runway", "resolution": "720p", "fps": 24,
                                                          "auto_approve": True, **options}))


def made_project(root: Path, tmp_path: Path) -> ProductionService:
    """One shot of a cast member, storyboard-first: a still from the reference, the clip from the still."""
    service = open_service(root)
    add_member(service.store, "mara", [portrait(tmp_path / "mara.png")], description="a barista with red hair")
    service.plan_brief(BRIEF, shot_count=1)
    assert service.generate().generated == [1]
    return service


def unbind_by_a_round_trip(service: ProductionService, mock,
                            other: str = "a barista wiping the counter at closing time") -> None:
    """Change the shot's prompt (and make it: a still and a clip are sent), then type the first prompt back:
    its binding is gone, so the shot is found through the cache, not through the plan."""
    original = service.plan.shots[0].prompt
    sent = len(creates(mock))
    service.edit(lambda p: edit_shot(p, 1, prompt=other))
    assert service.generate().generated == [1]
    assert len(creates(mock)) > sent  # the mock is live: what is not in the cache is sent
    service.edit(lambda p: edit_shot(p, 1, prompt=original))
    assert service.plan.shots[0].bound_clip is None and service.plan.shots[0].bound_keyframe is None


def records_under_legacy_keys(store: ProjectStore) -> dict[str, str]:
    """Rewrite the project as the code before the key change left it: each record under its legacy key.
    Returns legacy key -> new key."""
    generations = store.project.generations
    moved: dict[str, str] = {}
    for key, record in list(generations.items()):
        backend = get_backend(record.backend)
        request = GenerationRequest.model_validate(record.request)
        assert cache_key(backend, request) == key  # the record is what the key was computed from
        old = legacy_cache_key(backend, request)
        moved[old] = key
        del generations[key]
        generations[old] = record.model_copy(update={"cache_key": old})
    store.save()
    return moved


def assert_free_and_nothing_sent(service: ProductionService, mock) -> None:
    sent = len(creates(mock))
    estimate = service.estimate()
    assert estimate.to_generate == [] and estimate.usd == 0, estimate.text
    result = service.generate()
    assert result.generated == [] and result.usd == 0
    assert len(creates(mock)) == sent, "a clip in the cache was created again on the provider"
    shot = service.plan.shots[0]
    assert shot.bound_clip and (service.store.root / shot.bound_clip).is_file()


def test_a_moved_project_finds_its_stills_and_clips_by_content(runway, tmp_path):
    service = made_project(tmp_path / "here" / "p", tmp_path)
    first_clip = service.plan.shots[0].clip
    requests = [r.request for r in service.store.project.generations.values()]
    assert any(r.get("image") for r in requests) and any(r.get("references") for r in requests)
    assert {r.path for r in creates(runway)} == {"/v1/text_to_image", "/v1/image_to_video"}

    moved = tmp_path / "there" / "p"
    shutil.move(str(tmp_path / "here" / "p"), moved)
    service = open_service(moved)
    unbind_by_a_round_trip(service, runway)
    assert_free_and_nothing_sent(service, runway)
    assert service.plan.shots[0].clip == first_clip
    # Moved back (a clone taken home): the records made in the second place hit in the first one too.
    shutil.move(str(moved), tmp_path / "here" / "p")
    service = open_service(tmp_path / "here" / "p")
    unbind_by_a_round_trip(service, runway, other="an empty cafe at dawn, chairs on the tables")
    assert_free_and_nothing_sent(service, runway)
    assert service.plan.shots[0].clip == first_clip


def test_a_project_written_before_the_change_reuses_its_clips_in_place_then_anywhere(runway, tmp_path):
    root = tmp_path / "here" / "p"
    service = made_project(root, tmp_path)
    unbind_by_a_round_trip(service, runway)
    renamed = records_under_legacy_keys(service.store)
    assert set(renamed) != set(renamed.values())  # the carried files changed the keys

    # The upgrade: the same folder, the new code. Estimated free, nothing sent, the records filed anew.
    service = open_service(root)
    assert_free_and_nothing_sent(service, runway)
    generations = ProjectStore.open(root).project.generations
    rekeyed = [new for old, new in renamed.items() if new in generations]
    assert rekeyed, "the legacy records used were not filed under their new keys"
    assert all(old in generations for old in renamed)  # the old entries stay (code from before still finds them)
    for new in rekeyed:
        assert generations[new].cache_key == new and generations[new].status == "succeeded"

    # Filed anew, they hit after a move as well.
    moved = tmp_path / "there" / "p"
    shutil.move(str(root), moved)
    service = open_service(moved)
    unbind_by_a_round_trip(service, runway, other="an empty cafe at dawn, chairs on the tables")
    assert_free_and_nothing_sent(service, runway)


def test_a_moved_project_reuses_a_longer_clip_of_the_same_picture(serve, mock_clip, tmp_path, monkeypatch):
    """Veo 3.1 takes the cast's reference images with the prompt (text-to-video, no still): a shot made at 8 s
    and wanted at 4 s after the move is served by the 8 s clip of the same picture (same reference content)."""
    case = CASES["veo"]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch)  # clips as long as each create asked for
    root = tmp_path / "here" / "p"
    options = {"backend": "veo", "keyframes": "off"}
    service = open_service(root, **options)
    add_member(service.store, "mara", [portrait(tmp_path / "mara.png")])
    service.plan_brief(BRIEF.replace("5 second", "8 second"), shot_count=1)
    assert service.generate().generated == [1]
    made = service.plan.shots[0]
    assert made.clip_length_s == pytest.approx(8, abs=0.1)
    (record,) = service.store.project.generations.values()
    assert record.request["references"] and list(record.file_sha256) == [r["path"] for r in
                                                                            record.request["references"]]
    veo_creates = lambda: [r for r in mock.log if r.method == "POST" and r.path.endswith(":predictLongRunning")]  # noqa: E731
    assert veo_creates()[0].body["instances"][0]["referenceImages"]

    moved = tmp_path / "there" / "p"
    shutil.move(str(root), moved)
    service = open_service(moved, **options)
    original = service.plan.shots[0].prompt
    service.edit(lambda p: edit_shot(p, 1, prompt="a barista wiping the counter at closing time"))
    assert service.generate().generated == [1] and len(veo_creates()) == 2
    # The first prompt back, at half the length: the 8 s clip of that picture covers it (no 4 s create).
    service.edit(lambda p: edit_shot(p, 1, prompt=original, duration_s=4))
    assert service.plan.shots[0].bound_clip is None
    estimate = service.estimate()
    assert estimate.to_generate == [] and estimate.usd == 0, estimate.text
    assert service.generate().generated == [] and len(veo_creates()) == 2
    assert service.plan.shots[0].clip == made.clip


def test_a_project_written_before_the_change_and_moved_before_the_upgrade_still_pays_nothing(runway, tmp_path):
    """The old code's project, moved (or cloned) and only then opened by the new code: its records' legacy
    keys hold the first folder's paths, read back off the records themselves."""
    root = tmp_path / "here" / "p"
    service = made_project(root, tmp_path)
    unbind_by_a_round_trip(service, runway)
    renamed = records_under_legacy_keys(service.store)
    moved = tmp_path / "elsewhere" / "deeper" / "p"
    shutil.move(str(root), moved)
    service = open_service(moved)
    assert_free_and_nothing_sent(service, runway)
    generations = ProjectStore.open(moved).project.generations
    assert any(new in generations for new in renamed.values())  # filed under the new keys
    # A still that changed behind the same name is not taken for the one the old record was made from.
    for key in [k for k in renamed.values() if k in generations]:  # only the legacy records are left to find
        del service.store.project.generations[key]
    service.edit(lambda p: p.model_copy(update={"shots": [s.model_copy(update={"clip": None, "clip_signature": None})
                                                          for s in p.shots]}))  # the clip's binding lost
    assert open_service(moved).estimate().usd == 0  # found again under its moved legacy key
    for key in [k for k in renamed.values() if k in service.store.project.generations]:
        del service.store.project.generations[key]
    service.store.save()
    portrait(moved / service.plan.shots[0].keyframe, (0, 0, 255))
    estimate = open_service(moved).estimate()
    assert [c.kind for c in estimate.to_generate] == ["video"] and estimate.usd > 0


def test_a_legacy_record_found_in_place_makes_the_estimate_free_before_anything_runs(runway, tmp_path):
    root = tmp_path / "p"
    service = made_project(root, tmp_path)
    unbind_by_a_round_trip(service, runway)
    records_under_legacy_keys(service.store)
    sent = len(creates(runway))
    estimate = open_service(root, auto_approve=False).estimate()
    assert estimate.to_generate == [] and estimate.usd == 0 and len(creates(runway)) == sent


def test_a_task_running_under_its_legacy_key_is_resumed_not_created_again(runway, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    still = portrait(store.root / "clips" / "still.png")
    reference = portrait(store.root / "assets" / "cast" / "mara" / "mara.png", (40, 160, 90))
    backend = RunwayBackend(base_url=runway.url, poll_interval_s=0.01, retry=FAST_RETRY)
    request = GenerationRequest(prompt="mara pours latte art", duration_s=5, shot_index=1, image=str(still),
                                mode=GenerationMode.IMAGE_TO_VIDEO, references=[Reference(path=str(reference))])
    runway.latency = 5.0  # still running when the process dies

    class Killed(BaseException):
        pass

    def kill(event):
        if event.state == "submitted":
            raise Killed()

    with pytest.raises(Killed):
        asyncio.run(generate_shots(store, backend, [request], on_progress=kill))
    assert runway.submits == 1
    ready = backend.prepare(request)[0]
    new, old = cache_key(backend, ready), legacy_cache_key(backend, ready)
    assert new != old
    # As the code before the change wrote it: the running task's record under the legacy key.
    store = ProjectStore.open(store.root)
    record = store.project.generations.pop(new)
    assert record.status in ("submitted", "running") and record.remote_task_id
    store.project.generations[old] = record.model_copy(update={"cache_key": old})
    store.save()

    runway.latency = 0.0
    for task in runway.tasks.values():
        task.created -= 60  # the provider finished it meanwhile
    outcomes = asyncio.run(generate_shots(ProjectStore.open(store.root), backend, [request]))
    assert outcomes[0].ok and outcomes[0].resumed, outcomes[0].error
    assert runway.submits == 1, "the running task was created a second time"
    generations = ProjectStore.open(store.root).project.generations
    assert old not in generations  # one record follows the task: moved, not copied
    assert generations[new].status == "succeeded" and generations[new].remote_task_id == record.remote_task_id
    # And it is a plain cache hit from now on.
    again = asyncio.run(generate_shots(ProjectStore.open(store.root), backend, [request]))
    assert again[0].cached and runway.submits == 1


def test_a_run_killed_while_its_shot_ran_resumes_it_after_the_upgrade_without_paying_again(runway, tmp_path):
    """Through the production service: the old code was killed while the shot's task ran (its still made);
    the new code finds the task under the legacy key, polls it to the end, and neither creates nor charges."""
    from shotsmith.assistant.events import GenerationProgress

    root = tmp_path / "p"
    service = open_service(root)
    add_member(service.store, "mara", [portrait(tmp_path / "mara.png")])
    service.plan_brief(BRIEF, shot_count=1)
    runway.latency = 5.0  # the clip is still being made when the process dies

    class Crash(Exception):
        pass

    def crash(event) -> None:
        if isinstance(event, GenerationProgress) and event.kind == "shot" and event.state == "submitted":
            raise Crash("the process died")

    with pytest.raises(Exception):
        ProductionService.open(root, ServiceOptions(auto_approve=True), emit=crash).generate()
    assert [r.path for r in creates(runway)] == ["/v1/text_to_image", "/v1/image_to_video"]
    store = ProjectStore.open(root)
    (running,) = [r for r in store.project.generations.values() if r.kind == "video"]
    assert running.remote_task_id and running.status in ("submitted", "running")
    records_under_legacy_keys(store)
    charges = len(store.project.spending.charges)

    runway.latency = 0.0
    for task in runway.tasks.values():
        task.created -= 60  # the provider finished it meanwhile
    rerun = open_service(root)
    assert rerun.generate().generated == [1]
    assert len(creates(runway)) == 2, "the task running under the legacy key was created again"
    assert len(rerun.store.project.spending.charges) == charges  # and not charged again
    shot = rerun.plan.shots[0]
    record = rerun.store.project.generations[cache_key(rerun.backend(), rerun.backend().prepare(
        rerun.request_for(shot, rerun.plan, rerun.backend()))[0])]
    assert record.remote_task_id == running.remote_task_id and shot.clip == record.clip


# -- the key itself -------------------------------------------------------------------------------------------------

FILES = ("image", "end_image", "reference")
FOLDER_CHARS = string.ascii_letters + string.digits + " -_é"


COLOURS = {"image": (10, 20, 30), "end_image": (40, 50, 60), "reference": (70, 80, 90)}


def project_files(root: Path) -> dict[str, Path]:
    return {"image": portrait(root / "clips" / "still.png", COLOURS["image"]),
            "end_image": portrait(root / "clips" / "end.png", COLOURS["end_image"]),
            "reference": portrait(root / "assets" / "cast" / "mara" / "a.png", COLOURS["reference"])}


def request_for(files: dict[str, Path], **kw) -> GenerationRequest:
    return GenerationRequest(prompt="a red kite", duration_s=5, shot_index=2, seed=3,
                             mode=GenerationMode.IMAGE_TO_VIDEO, image=str(files["image"]),
                             end_image=str(files["end_image"]),
                             references=[Reference(path=str(files["reference"]), tag="mara")], **kw)


@pytest.mark.parametrize("changed", [None, *FILES])
def test_the_key_is_the_same_for_two_copies_and_follows_each_files_content(changed, tmp_path):
    backend = get_backend("animatic")
    here = project_files(tmp_path / "a" / "p")
    shutil.copytree(tmp_path / "a" / "p", tmp_path / "elsewhere" / "copy")
    there = {name: tmp_path / "elsewhere" / "copy" / path.relative_to(tmp_path / "a" / "p")
             for name, path in here.items()}
    assert cache_key(backend, request_for(here)) == cache_key(backend, request_for(there))
    assert legacy_cache_key(backend, request_for(here)) != legacy_cache_key(backend, request_for(there))
    assert str(tmp_path) not in str(key_payload(request_for(there)))
    if changed is None:
        return
    portrait(there[changed], (255, 255, 0))  # another picture behind the same name
    assert cache_key(backend, request_for(here)) != cache_key(backend, request_for(there))


@settings(max_examples=25, deadline=None)
@given(here=st.text(FOLDER_CHARS, min_size=1, max_size=12), there=st.text(FOLDER_CHARS, min_size=1, max_size=12),
       pixels=st.binary(min_size=3, max_size=3), changed=st.sampled_from(FILES))
def test_property_the_key_depends_on_the_files_bytes_never_on_the_folder(here, there, pixels, changed):
    backend = get_backend("animatic")
    with tempfile.TemporaryDirectory() as top:
        a = project_files(Path(top) / "a" / here)
        b = {name: Path(top) / "b" / there / path.relative_to(Path(top) / "a" / here) for name, path in a.items()}
        shutil.copytree(Path(top) / "a" / here, Path(top) / "b" / there)
        assert cache_key(backend, request_for(a)) == cache_key(backend, request_for(b))
        portrait(b[changed], tuple(pixels))  # another picture behind the same name (or the same one again)
        if tuple(pixels) == COLOURS[changed]:
            assert cache_key(backend, request_for(a)) == cache_key(backend, request_for(b))
            return
        assert cache_key(backend, request_for(a)) != cache_key(backend, request_for(b))


def test_the_legacy_key_of_a_moved_project_is_found_from_its_records_paths(tmp_path):
    backend = get_backend("animatic")
    old_root, new_root = tmp_path / "old" / "p", tmp_path / "new" / "place" / "p"
    here = project_files(old_root)
    legacy = legacy_cache_key(backend, request_for(here))
    record = GenerationRecord(cache_key=legacy, backend="animatic", request=request_for(here).model_dump(mode="json"))
    shutil.move(str(old_root), new_root)
    there = {name: new_root / path.relative_to(old_root) for name, path in here.items()}
    assert legacy_cache_key(backend, request_for(there)) != legacy
    assert moved_legacy_keys(backend, request_for(there), new_root, [record]) == [legacy]
    # Files outside the project are not rebased; records naming no file of the project give no folder.
    stranger = record.model_copy(update={"request": {**record.request, "image": "/nowhere/x.png", "end_image": None,
                                                     "references": []}})
    assert moved_legacy_keys(backend, request_for(there), new_root, [stranger]) == []
    assert moved_legacy_keys(backend, request_for(there), tmp_path / "unrelated", [record]) == []


def test_same_request_compares_a_records_files_by_content_wherever_it_was_made(tmp_path):
    old_root, new_root = tmp_path / "old" / "p", tmp_path / "new" / "p"
    here = project_files(old_root)
    made = request_for(here)
    legacy = GenerationRecord(cache_key="k", backend="animatic", request=made.model_dump(mode="json"))
    kept = legacy.model_copy(update={"file_sha256": carried_files(made)})
    apart = ("shot_index", "duration_s", "seed")
    shorter = made.model_copy(update={"duration_s": 2.0})
    assert same_request(legacy, shorter, exclude=apart) and same_request(kept, shorter, exclude=apart)
    shutil.move(str(old_root), new_root)
    there = request_for({name: new_root / path.relative_to(old_root) for name, path in here.items()})
    assert same_request(kept, there, exclude=apart)  # the digests kept with the record
    assert not same_request(legacy, there, exclude=apart)  # a record without them: its files are gone
    retagged = there.model_copy(update={"references": [there.references[0].model_copy(update={"tag": "theo"})]})
    assert not same_request(kept, retagged, exclude=apart)
    portrait(Path(there.end_image), (1, 2, 3))
    assert not same_request(kept, there, exclude=apart)


def test_the_legacy_key_is_the_old_algorithm_to_the_bit():
    """Pinned with the value the code before the change computed for this request (files absent, so the
    digests are None and the value does not depend on the machine): a "fix" here would lose every record."""
    request = GenerationRequest(prompt="a red kite", duration_s=5, shot_index=3, seed=7,
                                mode=GenerationMode.IMAGE_TO_VIDEO, image="/projects/ad.shotsmith/clips/still.png",
                                end_image="/projects/ad.shotsmith/clips/end.png",
                                references=[Reference(path="/projects/ad.shotsmith/assets/cast/mara/a.png", tag="mara")])
    assert legacy_cache_key(get_backend("animatic"), request) == \
        "e398ae66682607dad65cc8ccf34e43a7d296d42fc0ade6490e1cf74eb565463a"


def test_what_is_not_a_local_file_stays_in_the_key_as_it_is(tmp_path):
    backend = get_backend("animatic")
    plain = GenerationRequest(prompt="a red kite", duration_s=5, seed=1)
    # A request that carries no local file keeps its key: text-to-video projects need no lookup twice.
    assert cache_key(backend, plain) == legacy_cache_key(backend, plain)
    url = plain.model_copy(update={"mode": GenerationMode.IMAGE_TO_VIDEO, "image": "https://cdn.example/a.png"})
    other = url.model_copy(update={"image": "https://cdn.example/b.png"})
    assert key_payload(url)["image"] == "https://cdn.example/a.png"
    assert cache_key(backend, url) != cache_key(backend, other)
