"""Images and speech through the contract and the job engine: prepare by kind, checks by kind, cache, money rules."""

from __future__ import annotations

import asyncio
import json
import wave

import pytest
from tests.backends.backend_support import FAST_RETRY
from tests.backends.media_kind_backends import (MediaMock, RemoteSpeech, RemoteStills, SpeechBackend, StillBackend,
                                                speech_wav, still_bytes)

from shotsmith.backends.animatic import AnimaticBackend
from shotsmith.backends.base import (Capabilities, GenerationMode, GenerationRequest, GenerationResult, MediaKind,
                                     Reference)
from shotsmith.backends.download import verify_audio, verify_image, verify_output
from shotsmith.backends.engine import cache_key, collapse_warnings, generate_shots, request_payload
from shotsmith.errors import InvalidInputError, MediaError
from shotsmith.formats import CameraMove
from shotsmith.project import GenerationRecord
from shotsmith.store import ProjectStore

KEY = "sk-test-SECRET-0123456789"


def image_req(i: int = 1, prompt: str = "a lighthouse at dawn", **kw) -> GenerationRequest:
    values = dict(prompt=f"{prompt} {i}", duration_s=5, shot_index=i, mode=GenerationMode.TEXT_TO_IMAGE,
                  resolution="360p")
    values.update(kw)
    return GenerationRequest(**values)


def voice_req(i: int = 1, text: str = "open daily from seven", **kw) -> GenerationRequest:
    values = dict(prompt=text, duration_s=3, shot_index=i, mode=GenerationMode.TEXT_TO_SPEECH)
    values.update(kw)
    return GenerationRequest(**values)


@pytest.fixture
def picture(tmp_path):
    def make(name: str, colour=(10, 20, 30)):
        path = tmp_path / name
        path.write_bytes(still_bytes(32, 32, "PNG", colour))
        return path
    return make


# -- cache keys ---------------------------------------------------------------------------------------------

def test_video_cache_keys_are_the_same_as_before_media_kinds():
    """Computed with the code before the media-kind fields existed: old projects' shots stay cached."""
    request = GenerationRequest(prompt="a lighthouse at dawn", duration_s=5, shot_index=3, seed=7, style="warm")
    assert cache_key(AnimaticBackend(), request) == "657be0958994c7d8d555bb893cec900eee5978e8f6e3952efd63b6ebec57c709"


def test_cache_key_covers_every_new_field_and_image_contents(picture):
    backend = StillBackend()
    mara = picture("mara.png")
    base = image_req(references=[Reference(path=str(mara), tag="Mara")])
    key = cache_key(backend, base)
    for change in ({"voice": "ana"}, {"language": "de"}, {"instructions": "whisper"},
                   {"end_image": str(picture("end.png"))}, {"references": []},
                   {"references": [Reference(path=str(mara), tag="Mara", role="style")]}, {"take": 1}):
        assert cache_key(backend, base.model_copy(update=change)) != key, change
    mara.write_bytes(still_bytes(32, 32, "PNG", (99, 99, 99)))  # same file name, another picture
    assert cache_key(backend, base) != key
    end = picture("last.png")
    with_end = base.model_copy(update={"end_image": str(end)})
    before = cache_key(backend, with_end)
    end.write_bytes(still_bytes(32, 32, "PNG", (1, 2, 3)))
    assert cache_key(backend, with_end) != before


def test_request_payload_matches_records_written_before_the_new_fields():
    request = GenerationRequest(prompt="p", duration_s=4)
    old_record = request.model_dump(mode="json", exclude={"shot_index", "end_image", "references", "voice",
                                                          "language", "instructions", "audio", "extend_from", "take"})
    assert request_payload(request) == old_record


def test_old_generation_records_load_as_video():
    record = GenerationRecord.model_validate({"cache_key": "k", "backend": "animatic", "status": "succeeded"})
    assert record.kind == "video" and record.word_timings is None


# -- prepare by kind -----------------------------------------------------------------------------------------

def test_images_ignore_duration_and_fps():
    ready, warnings = StillBackend().prepare(image_req(duration_s=123.4, fps=13))
    assert warnings == [] and ready.duration_s == 123.4


def test_text_to_image_with_references_goes_reference_to_image(picture):
    ready, warnings = StillBackend().prepare(image_req(references=[Reference(path=str(picture("a.png")))]))
    assert ready.mode is GenerationMode.REFERENCE_TO_IMAGE and warnings == []


def test_references_beyond_the_limit_are_dropped_with_a_warning(picture):
    refs = [Reference(path=str(picture(f"{n}.png")), tag=n) for n in ("Mara", "Jon", "Cafe")]
    ready, warnings = StillBackend().prepare(image_req(references=refs))
    assert [r.tag for r in ready.references] == ["Mara", "Jon"]
    assert warnings == ["shot 1: stilltest takes at most 2 reference images; 1 more dropped (Cafe)"]


def test_reference_to_image_on_a_backend_without_it_falls_back_and_says_so(picture):
    class Plain(StillBackend):
        name = "plainstill"

        def capabilities(self):
            return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE], resolutions=["360p"])

    request = image_req(mode=GenerationMode.REFERENCE_TO_IMAGE, references=[Reference(path=str(picture("m.png")))])
    ready, warnings = Plain().prepare(request)
    assert ready.mode is GenerationMode.TEXT_TO_IMAGE and ready.references == []
    assert any("reference-to-image" in w for w in warnings)
    assert any("takes no reference images; 1 dropped" in w for w in warnings)


def test_reference_to_image_needs_a_reference():
    with pytest.raises(InvalidInputError, match="reference image"):
        StillBackend().prepare(image_req(mode=GenerationMode.REFERENCE_TO_IMAGE))


def test_voice_falls_back_to_the_first_with_a_warning_and_defaults_silently():
    backend = SpeechBackend()
    ready, warnings = backend.prepare(voice_req(voice="zoe"))
    assert ready.voice == "ana" and warnings == ["shot 1: speechtest has no voice 'zoe'; using 'ana'"]
    ready, warnings = backend.prepare(voice_req())
    assert ready.voice == "ana" and warnings == []
    ready, warnings = backend.prepare(voice_req(voice="ben", language="de-AT"))
    assert (ready.voice, ready.language, warnings) == ("ben", "de-AT", [])


def test_voice_requests_skip_picture_checks_and_report_what_speech_cannot_use(picture):
    request = voice_req(aspect_ratio="9:16", resolution="2160p", duration_s=0.1, fps=7, camera=CameraMove.PAN_LEFT,
                        references=[Reference(path=str(picture("r.png")))], instructions="slowly", language="fr",
                        end_image=str(picture("e.png")))
    ready, warnings = SpeechBackend().prepare(request)
    assert ready.references == [] and ready.instructions is None and ready.end_image is None
    assert ready.language == "en" and ready.duration_s == 0.1
    text = "\n".join(warnings)
    for expected in ("takes no reference images", "speaking instructions", "does not speak fr", "end image"):
        assert expected in text
    assert "camera" not in text and "duration" not in text and "resolution" not in text


def test_every_dropped_video_field_is_reported(picture):
    class Plain(AnimaticBackend):
        name = "plainvideo"

        def capabilities(self):
            return Capabilities(modes=[GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO],
                                resolutions=["360p"], max_references=1)

    request = GenerationRequest(prompt="a lighthouse, slow push-in", duration_s=5, shot_index=4, seed=3,
                                negative_prompt="blur", camera=CameraMove.ZOOM_IN, image=str(picture("s.png")),
                                end_image=str(picture("e.png")), audio=True, voice="ana",
                                references=[Reference(path=str(picture(f"{n}.png")), tag=n) for n in ("Mara", "Jon")])
    ready, warnings = Plain().prepare(request)
    assert ready.mode is GenerationMode.IMAGE_TO_VIDEO  # a start image on a backend that can use it
    assert ready.seed is None and ready.negative_prompt is None and ready.end_image is None
    assert ready.audio is None and ready.voice is None and [r.tag for r in ready.references] == ["Mara"]
    assert ready.camera is CameraMove.ZOOM_IN  # kept: part of the cache key; the warning says it is not controlled
    text = "\n".join(warnings)
    for expected in ("seed", "negative prompt", "no camera control; the slow push-in is only described in the prompt",
                     "end frame", "silent clips", "1 more dropped (Jon)", "the voice is not used"):
        assert expected in text, expected
    assert all(w.startswith("shot 4: ") for w in warnings)


def test_camera_warning_says_when_the_prompt_does_not_describe_the_move():
    class Plain(AnimaticBackend):
        name = "nocam"

        def capabilities(self):
            return Capabilities(resolutions=["360p"])

    _, warnings = Plain().prepare(GenerationRequest(prompt="a lighthouse", duration_s=2, camera=CameraMove.TILT_UP,
                                                    resolution="360p"))
    assert warnings == ["nocam has no camera control and the prompt does not describe the gentle tilt up; "
                        "the shot may not move that way"]


def test_start_image_on_a_text_only_backend_is_reported(picture):
    class TextOnly(AnimaticBackend):  # the animatic itself animates stills; this one keeps only its text mode
        name = "textonly"

        def capabilities(self):
            return super().capabilities().model_copy(update={"modes": [GenerationMode.TEXT_TO_VIDEO]})

    ready, warnings = TextOnly().prepare(GenerationRequest(prompt="p", duration_s=2, image=str(picture("s.png"))))
    assert ready.image is None and ready.mode is GenerationMode.TEXT_TO_VIDEO
    assert warnings == ["textonly does not do image-to-video; the start image is not used"]


def test_collapse_warnings_reports_each_once_with_its_shots():
    warnings = [f"shot {i}: x does not take a seed; it is ignored" for i in (1, 2, 3, 5, 7, 8)]
    warnings += ["shot 2: duration 7s is not available on x; using 5s", "shot 3: x does not take a seed; it is ignored",
                 "a warning without a shot"]
    assert collapse_warnings(warnings) == ["shots 1-3, 5, 7-8: x does not take a seed; it is ignored",
                                           "shot 2: duration 7s is not available on x; using 5s",
                                           "a warning without a shot"]


def test_collapse_warnings_over_a_run(store):
    backend = SpeechBackend()
    outcomes = asyncio.run(generate_shots(store, backend, [voice_req(i, text=f"word {i}", voice="zoe")
                                                           for i in range(1, 6)]))
    assert all(o.ok for o in outcomes)
    assert collapse_warnings(outcomes) == ["shots 1-5: speechtest has no voice 'zoe'; using 'ana'"]


# -- checks by kind ------------------------------------------------------------------------------------------

def test_verify_image_reads_real_images_and_refuses_the_rest(tmp_path):
    for fmt, suffix in (("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp")):
        path = tmp_path / f"x.{fmt}"
        path.write_bytes(still_bytes(40, 30, fmt))
        checked = verify_image(path)
        assert (checked.kind, checked.suffix, checked.width, checked.height) == (MediaKind.IMAGE, suffix, 40, 30)
    gif = tmp_path / "x.gif"
    gif.write_bytes(still_bytes(8, 8, "GIF"))
    with pytest.raises(MediaError, match="GIF"):
        verify_image(gif)
    cut = tmp_path / "cut.png"
    cut.write_bytes(still_bytes(200, 200, "PNG")[:60])
    with pytest.raises(MediaError, match="decode"):
        verify_image(cut)
    text = tmp_path / "page.png"
    text.write_text("<html>")
    with pytest.raises(MediaError, match="not an image"):
        verify_image(text)


def test_verify_audio_decodes_and_catches_truncation(tmp_path, mock_clip):
    data, timings = speech_wav("one two three")
    good = tmp_path / "s.wav"
    good.write_bytes(data)
    checked = verify_audio(good)
    assert checked.suffix == ".wav" and checked.duration_s == pytest.approx(1.5, abs=0.01)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 3])  # the header still promises the whole length
    with pytest.raises(MediaError, match="truncated"):
        verify_audio(cut)
    with pytest.raises(MediaError, match="no audio stream"):
        verify_audio(mock_clip)  # a silent video is not speech
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
    with pytest.raises(MediaError):
        verify_audio(empty)


def test_verify_audio_names_the_container_from_content(tmp_path):
    from shotsmith.media.ffmpeg import run_ffmpeg

    for fmt, suffix in (("mp3", ".mp3"), ("flac", ".flac"), ("ogg", ".ogg"), ("ipod", ".m4a")):
        path = tmp_path / f"tone.{fmt}"
        run_ffmpeg(["-f", "lavfi", "-i", "sine=d=0.3", "-f", fmt, str(path)])
        assert verify_output(path, MediaKind.VOICE).suffix == suffix, fmt


# -- the engine, local -----------------------------------------------------------------------------------------

def test_an_image_lands_with_the_suffix_of_its_content_and_is_cached(store):
    backend = StillBackend()
    first = asyncio.run(generate_shots(store, backend, [image_req()]))
    (outcome,) = first
    assert outcome.ok and outcome.kind is MediaKind.IMAGE and outcome.result.kind is MediaKind.IMAGE
    assert outcome.clip.suffix == ".jpg" and outcome.clip.parent == store.clips_dir
    assert verify_image(outcome.clip).width == 640
    record = ProjectStore.open(store.root).project.generations[outcome.cache_key]
    assert record.kind == "image" and record.clip.endswith(".jpg")
    assert not list(store.clips_dir.glob(".staging-*"))
    again = asyncio.run(generate_shots(ProjectStore.open(store.root), backend, [image_req()]))
    assert again[0].cached and again[0].clip == outcome.clip and again[0].kind is MediaKind.IMAGE
    assert len(backend.seen) == 1


def test_a_cached_voice_clip_keeps_its_word_timings(store):
    backend = SpeechBackend()
    (first,) = asyncio.run(generate_shots(store, backend, [voice_req()]))
    assert first.ok and first.clip.suffix == ".wav" and first.kind is MediaKind.VOICE
    assert [w.word for w in first.word_timings] == ["open", "daily", "from", "seven"]
    saved = json.loads((store.root / "project.json").read_text())["generations"][first.cache_key]
    assert saved["kind"] == "voice" and saved["word_timings"][3]["word"] == "seven"
    (again,) = asyncio.run(generate_shots(ProjectStore.open(store.root), backend, [voice_req()]))
    assert again.cached and again.word_timings == first.word_timings
    assert len(backend.seen) == 1


@pytest.mark.parametrize("payload, match", [(still_bytes(200, 200, "PNG")[:60], "does not decode"),
                                            (b"<html>busy</html>", "not an image")])
def test_a_broken_image_never_reaches_clips(store, payload, match):
    class Broken(StillBackend):
        name = "brokenstill"

        async def generate(self, request, dest, *, on_progress, cancel):
            dest.write_bytes(payload)
            return GenerationResult(path=str(dest), duration_s=0, width=640, height=360, kind=MediaKind.IMAGE)

    (outcome,) = asyncio.run(generate_shots(store, Broken(), [image_req()]))
    assert not outcome.ok and match in outcome.error
    assert list(store.clips_dir.iterdir()) == []
    assert store.project.generations[outcome.cache_key].status == "failed"


def test_a_voice_backend_writing_video_fails_the_shot(store, mock_clip):
    class Wrong(SpeechBackend):
        name = "wrongspeech"

        async def generate(self, request, dest, *, on_progress, cancel):
            dest.write_bytes(mock_clip.read_bytes())
            return GenerationResult(path=str(dest), duration_s=1, width=0, height=0, kind=MediaKind.VOICE)

    (outcome,) = asyncio.run(generate_shots(store, Wrong(), [voice_req()]))
    assert not outcome.ok and "no audio stream" in outcome.error


# -- the engine, remote: images through a task API ----------------------------------------------------------------

@pytest.fixture
def media(serve, mock_clip, monkeypatch):
    monkeypatch.setenv("MEDIAMOCK_KEY", KEY)
    return serve(MediaMock, mock_clip, key=KEY)


def stills(mock, **kw) -> RemoteStills:
    return RemoteStills(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY, **kw)


def speech(mock, **kw) -> RemoteSpeech:
    return RemoteSpeech(**{"base_url": mock.url, "retry": FAST_RETRY, **kw})


class Guard:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.authorized: list[str] = []
        self.settled: list[tuple[str, bool]] = []

    def authorize(self, backend, request, key):
        from shotsmith.errors import BackendError

        if self.refuse:
            raise BackendError("spending cap reached")
        self.authorized.append(key)

    def settle(self, key, *, created):
        self.settled.append((key, created))


def test_remote_still_is_downloaded_checked_and_cached(media, store):
    guard = Guard()
    (outcome,) = asyncio.run(generate_shots(store, stills(media), [image_req()], spend_guard=guard))
    assert outcome.ok, outcome.error
    assert outcome.clip.suffix == ".png" and verify_image(outcome.clip).width == 640
    assert outcome.result.remote_task_id and outcome.result.kind is MediaKind.IMAGE
    assert guard.settled == [(outcome.cache_key, True)]
    (again,) = asyncio.run(generate_shots(store, stills(media), [image_req()], spend_guard=guard))
    assert again.cached and media.submits == 1 and len(guard.authorized) == 1


def test_remote_still_resumes_its_task_instead_of_paying_again(media, store):
    media.latency = 5.0
    (outcome,) = asyncio.run(generate_shots(store, stills(media, timeout_s=0.3), [image_req()]))
    assert not outcome.ok and outcome.resumable and "kept" in outcome.error
    record = store.project.generations[outcome.cache_key]
    assert record.remote_task_id and record.kind == "image"
    for task in media.tasks.values():
        task.created -= 60
    (again,) = asyncio.run(generate_shots(ProjectStore.open(store.root), stills(media), [image_req()]))
    assert again.ok and again.resumed and media.submits == 1


def test_remote_still_a_lost_create_answer_is_not_sent_again(media, store):
    media.faults.submit_accept_drop = 1
    (outcome,) = asyncio.run(generate_shots(store, stills(media), [image_req()]))
    assert not outcome.ok and outcome.uncertain
    (again,) = asyncio.run(generate_shots(ProjectStore.open(store.root), stills(media), [image_req()]))
    assert not again.ok and again.uncertain and media.submits == 1
    (paid,) = asyncio.run(generate_shots(ProjectStore.open(store.root), stills(media), [image_req()], resubmit=True))
    assert paid.ok and media.submits == 2


def test_remote_still_a_page_instead_of_the_image_is_refused_and_refetched(media, store):
    media.faults.download_html = 1
    (outcome,) = asyncio.run(generate_shots(store, stills(media), [image_req()]))
    assert not outcome.ok and "not an image" in outcome.error and outcome.resumable
    media.faults.truncate_download_silent = 1
    (again,) = asyncio.run(generate_shots(ProjectStore.open(store.root), stills(media), [image_req()]))
    assert again.ok and media.submits == 1 and media.downloads == 3  # html, truncated, good


def test_remote_still_refused_by_the_guard_sends_nothing(media, store):
    with pytest.raises(Exception, match="spending cap"):
        asyncio.run(generate_shots(store, stills(media), [image_req()], spend_guard=Guard(refuse=True)))
    assert media.submits == 0 and store.project.generations == {}


# -- the engine, remote: speech through a synchronous API ------------------------------------------------------------

def test_remote_speech_is_checked_cached_and_keeps_its_timings(media, store):
    guard = Guard()
    (outcome,) = asyncio.run(generate_shots(store, speech(media), [voice_req(voice="echo")], spend_guard=guard))
    assert outcome.ok, outcome.error
    assert outcome.clip.suffix == ".wav" and [w.word for w in outcome.word_timings][-1] == "seven"
    assert media.log[-1].body == {"prompt": "open daily from seven", "voice": "echo"}
    assert guard.settled == [(outcome.cache_key, True)]
    record = store.project.generations[outcome.cache_key]
    assert record.remote_data == {} and record.kind == "voice"
    (again,) = asyncio.run(generate_shots(ProjectStore.open(store.root), speech(media), [voice_req(voice="echo")]))
    assert again.cached and again.word_timings == outcome.word_timings and media.submits == 1


def test_remote_speech_whose_answer_was_lost_is_not_sent_again(media, store):
    media.faults.submit_accept_drop = 1
    guard = Guard()
    (outcome,) = asyncio.run(generate_shots(store, speech(media), [voice_req()], spend_guard=guard))
    assert not outcome.ok and outcome.uncertain and guard.settled[-1][1] is True
    (again,) = asyncio.run(generate_shots(ProjectStore.open(store.root), speech(media), [voice_req()]))
    assert not again.ok and again.uncertain and media.submits == 1
    (paid,) = asyncio.run(generate_shots(ProjectStore.open(store.root), speech(media), [voice_req()], resubmit=True))
    assert paid.ok and media.submits == 2


def test_remote_speech_refused_settles_as_not_created(media, store):
    guard = Guard()
    (outcome,) = asyncio.run(generate_shots(store, speech(media), [voice_req(text=" ")], spend_guard=guard))
    assert not outcome.ok and "prompt is required" in outcome.error
    assert guard.settled == [(outcome.cache_key, False)]
    assert store.project.generations[outcome.cache_key].remote_data == {}


@pytest.mark.parametrize("body, match", [(b"RIFF\0\0\0\0WAVEgarbage", "output is unusable"),
                                         (b"{\"error\": \"oops\"}", "could not be read")])
def test_remote_speech_answered_with_unusable_audio_fails_and_a_rerun_makes_it_again(media, store, body, match):
    media.speech_body = body
    (outcome,) = asyncio.run(generate_shots(store, speech(media), [voice_req()]))
    assert not outcome.ok and match in outcome.error and not outcome.uncertain
    assert store.project.generations[outcome.cache_key].remote_data == {}  # nothing to resume or find
    (again,) = asyncio.run(generate_shots(ProjectStore.open(store.root), speech(media), [voice_req()]))
    assert again.ok and media.submits == 2


def test_remote_speech_create_is_bounded(media, store):
    media.faults.submit_hang_s = 5.0
    backend = speech(media, request_timeout_s=0.3, retry={"max_attempts": 1, "base_delay_s": 0.01,
                                                           "max_delay_s": 0.01})
    import time

    started = time.monotonic()
    (outcome,) = asyncio.run(generate_shots(store, backend, [voice_req()]))
    assert time.monotonic() - started < 3
    assert not outcome.ok and outcome.uncertain


def test_remote_speech_refused_by_the_guard_sends_nothing(media, store):
    with pytest.raises(Exception, match="spending cap"):
        asyncio.run(generate_shots(store, speech(media), [voice_req()], spend_guard=Guard(refuse=True)))
    assert media.submits == 0 and store.project.generations == {}


def test_a_backend_declares_its_kinds():
    assert StillBackend().capabilities().kinds == {MediaKind.IMAGE}
    assert SpeechBackend().capabilities().kinds == {MediaKind.VOICE}
    assert AnimaticBackend().capabilities().kinds == {MediaKind.VIDEO}
    with pytest.raises(ValueError, match="max_references"):
        Capabilities(modes=[GenerationMode.REFERENCE_TO_IMAGE])



def test_a_cloud_voice_through_the_engine_keeps_its_timings_and_warnings(serve, mock_clip, monkeypatch, tmp_path):
    """OpenAI speech returns no timings: the adapter estimates them, and the engine keeps both them and the note."""
    from tests.backends.backend_mocks.openai_speech import OpenAISpeechMock

    from shotsmith.backends.openai_speech import OpenAISpeechBackend

    mock = serve(OpenAISpeechMock, mock_clip, key=KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    store = ProjectStore.create(tmp_path / "p")
    backend = OpenAISpeechBackend(base_url=mock.url, retry=FAST_RETRY, spool_dir=str(tmp_path / "spool"))
    (outcome,) = asyncio.run(generate_shots(store, backend, [voice_req(text="Grind the beans slowly.")]))
    assert outcome.ok, outcome.error
    assert outcome.kind is MediaKind.VOICE and outcome.word_timings
    assert any("estimated" in w for w in outcome.warnings) and outcome.warnings[0].startswith("shot 1: ")
    (again,) = asyncio.run(generate_shots(ProjectStore.open(store.root), backend,
                                          [voice_req(text="Grind the beans slowly.")]))
    assert again.cached and again.word_timings == outcome.word_timings
