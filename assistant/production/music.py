"""Music in the production path: a bed from the user's file or folder, and cutting to its beat.

Why its own module: the pieces exist in the catalogue (:func:`shotsmith.tools.audio.choose_music`
picks a track by mood tags, :func:`~shotsmith.tools.audio.music_bed` fades, loops and
ducks it) and in the core (:func:`shotsmith.beats.snap_to_beats`), but a run, the chat
and the agent must all use them the same way. So the choice lives in the project's
production settings (``music``, ``music_mood``, ``beat_sync``, and the track chosen,
``music_bed``), and the service calls this module at two points only:

* when a plan is made (or music is set on a planned project): choose the track,
  register it as a read-only input (so no render can ever be written over it),
  and, when cutting to the beat was asked for, move the cuts onto its beats as
  one plan edit (one history entry, before any money is spent on the shots, and
  before the narration is written, so its lines fit the snapped shots);
* on every render: lay the bed under the whole cut (replacing the bed an earlier
  render laid, keeping any music the user added by hand), faded, ducked under
  the voice-over, and with a loudness target so the renderer's two-pass loudness
  brings the mix to it.

Beat tracking needs librosa (the ``beats`` extra); music alone needs nothing more.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from shotsmith.errors import InvalidInputError, ShotsmithError
from shotsmith.timeline import Timeline
from shotsmith.tools.audio import AUDIO_SUFFIXES, choose_music, folder_tracks, music_bed, read_library

#: The :class:`~.service.ProductionService` calling in (not imported: the service imports this module).
Service = Any

#: The loudness a bed's mix is brought to when the output has no target yet (the web/social presets' -14 LUFS).
DEFAULT_LUFS = -14.0
#: How far a cut may move to reach a beat (a shot never gets shorter than MIN_SHOT_S for it).
MAX_SHIFT_S = 0.5
MIN_SHOT_S = 0.5
#: "cut to the beat", "edit on the beat", "synced to the music", "beat-synced cuts".
_BEAT_PHRASE = re.compile(r"\b(?:cut|cuts|edit(?:ed)?|sync(?:ed)?|synchroni[sz]ed|timed)\s+(?:it\s+|them\s+|this\s+|the\s+cuts?\s+)?"
                          r"(?:to|on|with)\s+"
                          r"(?:the\s+)?(?:beats?|music|rhythm)\b|\bbeat[- ]?(?:sync(?:ed)?|matched)\b", re.IGNORECASE)
OFF_WORDS = ("off", "none", "no")


def wants_beat_sync(text: str) -> bool:
    """Whether a brief or message asks for the cuts to follow the music's beat."""
    return bool(_BEAT_PHRASE.search(text or ""))


def parse_moods(text: str | list[str] | None) -> list[str]:
    """Mood tags from ``"warm, upbeat"`` (or a list), lower-cased, without blanks or repeats."""
    if not text:
        return []
    items = text if isinstance(text, list) else re.split(r"[,;]", text)
    out: list[str] = []
    for item in items:
        for word in str(item).strip().lower().split():
            if word and word not in out:
                out.append(word)
    return out


def require_librosa() -> None:
    """Cutting to the beat needs librosa: say how to install it (a usage error, nothing done) when it is missing."""
    try:
        import librosa  # noqa: F401
    except ImportError as exc:
        raise InvalidInputError("cutting to the beat needs librosa, which is not installed",
                                hint="pip install 'shotsmith[beats]' (librosa; ~430 MB with scipy and numba); "
                                     "music without beat sync needs no extra") from exc


def check_source(source: str, moods: list[str] | None = None) -> Path:
    """The music file or folder the user named, checked: it exists, a folder holds audio, a mood matches."""
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix.lower() not in AUDIO_SUFFIXES | {".mp4", ".mov", ".mkv", ".webm"}:
            raise InvalidInputError(f"music {source} is not an audio file",
                                    hint=f"use one of {', '.join(sorted(AUDIO_SUFFIXES))}, or a folder of them")
        if moods:
            raise InvalidInputError(f"--music-mood chooses a track from a folder, but {source} is one file",
                                    hint="pass the folder holding your music, or leave out --music-mood")
        return check_audio(path.resolve())
    if not path.exists():
        raise InvalidInputError(f"music {source} does not exist", hint="give an audio file or a folder of them")
    folder_tracks(path, source)
    if moods:
        _match_moods(path, moods)
    return path.resolve()


def check_audio(track: Path) -> Path:
    """``track`` when ffmpeg reads sound from it; else a usage error now, not a failed render after the shots."""
    from shotsmith.media.probe import probe

    try:
        info = probe(track)
    except ShotsmithError as exc:
        raise InvalidInputError(f"music {track}: {exc.message}", hint="give an audio file ffmpeg can read") from exc
    if not info.has_audio:
        raise InvalidInputError(f"music {track} has no audio stream", hint="give a file with sound")
    return track


def _match_moods(folder: Path, moods: list[str]) -> Path:
    """The first track of ``folder`` whose tags (or, untagged, whose name) share a mood; none: a clear error."""
    chosen, why = choose_music(folder, " ".join(moods))
    if why.startswith("no mood matched"):
        tags = sorted({m for t in read_library(folder) for m in t.moods})
        raise InvalidInputError(f"no track in {folder} matches the mood {', '.join(moods)}",
                                hint=f"moods there: {', '.join(tags)}" if tags else
                                     "the folder has no music.yaml/tags.json; a track's file name must share a word")
    return chosen


def choose(source: str, brief: str, moods: list[str]) -> tuple[Path, str]:
    """(track, why): the user's moods when given (they must match), else the brief's words."""
    path = Path(source).expanduser()
    if path.is_dir() and moods:
        chosen = _match_moods(path, moods)
        return check_audio(chosen), f"moods {', '.join(moods)}"
    chosen, why = choose_music(path, brief)
    return check_audio(Path(chosen)), why


def check_options(source: str | None, moods: str | None, beat_sync: bool | None) -> None:
    """A run's music options, checked before anything is created (usage errors, exit 2)."""
    if source is None:
        if moods:
            raise InvalidInputError("--music-mood needs --music FOLDER to choose from")
        return
    if source.strip().lower() in OFF_WORDS:
        if moods or beat_sync:
            raise InvalidInputError("--music off cannot take --music-mood or --beat-sync")
        return
    check_source(source, parse_moods(moods))
    if beat_sync:
        require_librosa()


def settings_updates(store, source: str | None, moods: str | None, beat_sync: bool | None) -> dict:
    """What a run's music options change in the production settings (nothing when none was given).

    When the track may change, the bed an earlier render laid comes off the timeline now.
    """
    settings = store.project.production
    updates: dict = {}
    if source is not None:
        if source.strip().lower() in OFF_WORDS:
            _drop_bed(store, settings.music_bed)
            return {"music": None, "music_mood": [], "beat_sync": False, "music_bed": None}
        music = str(Path(source).expanduser().resolve())
        if music != settings.music:
            updates.update(music=music, music_bed=None)
    if moods is not None:
        mood_list = parse_moods(moods)
        if mood_list != settings.music_mood:
            updates.update(music_mood=mood_list, music_bed=None)
    if beat_sync is not None:
        updates["beat_sync"] = beat_sync
    if "music_bed" in updates:
        _drop_bed(store, settings.music_bed)
    return updates


# -- the service's two hooks ---------------------------------------------------------------------

def prepare(service: Service, brief: str | None = None, *, snap: bool | None = None) -> list[str]:
    """Choose the bed for the project (and cut to its beat when asked); return what to tell the user.

    ``brief`` defaults to the project's; ``snap`` defaults to the setting or the brief's words.
    """
    store = service.store
    settings = store.project.production
    text = brief if brief is not None else (store.project.brief.text if store.project.brief else "")
    notes: list[str] = []
    asked_beat = (settings.beat_sync or wants_beat_sync(text)) if snap is None else snap
    if not settings.music:
        if asked_beat:
            notes.append("cutting to the beat needs music: pass --music FILE|FOLDER (or say 'add music from …'); "
                         "the cuts were left where they are")
        return notes
    track, why = choose(settings.music, text, settings.music_mood)
    ref = store.relative(store.add_input(track))
    if ref != settings.music_bed:
        _drop_bed(store, settings.music_bed)
        store.project.production = settings.model_copy(update={"music_bed": ref})
        store.save()
    notes.append(f"music: {track.name} ({why}), faded in and out, ducked under any voice-over")
    if asked_beat and service.has_plan:
        notes.append(snap_to_music(service))
    return notes


def snap_to_music(service: Service) -> str:
    """Move the plan's cuts onto the bed's beats, as one plan edit; return what changed."""
    from shotsmith.beats import cut_points, detect_beats, snap_to_beats
    from shotsmith.media.probe import probe

    require_librosa()
    store = service.store
    bed = store.resolve(store.project.production.music_bed or "")
    plan = service.plan
    length = probe(bed).duration_s
    beats = detect_beats(bed, duration_s=min(length, plan.total_duration_s + 1.0))
    if length < plan.total_duration_s and beats:  # a looped bed repeats its beats
        loops = int(plan.total_duration_s // length) + 1
        beats = [round(b + k * length, 3) for k in range(loops) for b in beats]
    if not beats:
        return f"no beats found in {bed.name}; the cuts were left where they are"
    before = cut_points(plan)
    snapped = cut_points(snap_to_beats(plan, beats, max_shift_s=MAX_SHIFT_S, min_shot_s=MIN_SHOT_S))
    after = keep_lines_whole(before, snapped, sum(s.duration_s for s in plan.shots), narration_needs(service))
    held = sum(1 for s, a in zip(snapped, after) if abs(s - a) > 1e-6)
    service.edit(lambda p: with_cuts(p, after))  # one plan edit: one undo takes it back
    moved = sum(1 for a, b in zip(before, after) if abs(a - b) > 1e-6)
    return (f"cut to the beat: {moved} of {len(before)} cut(s) moved onto beats of {bed.name}"
            + (f"; {held} left where they were so a voice-over line still fits its shot" if held else ""))


def narration_needs(service: Service) -> list[float]:
    """The least length each shot needs to hold its narration line whole (0 without one)."""
    from shotsmith.narration import LEAD_IN_S, TAIL_S, speech_length

    project = service.store.project
    script = project.narration
    if script is None or project.plan is None:
        return [0.0 for _ in (project.plan.shots if project.plan else [])]
    try:
        _, timings = service._narration_media()  # the spoken lines' real lengths
    except InvalidInputError:  # not spoken yet: the speaking rate
        timings = {}
    needs = []
    for shot in project.plan.shots:
        line = script.line(shot.index)
        if line is None or not line.text.strip():
            needs.append(0.0)
        else:
            needs.append(LEAD_IN_S + speech_length(timings.get(shot.index), line.text, script.rate) + TAIL_S)
    return needs


def keep_lines_whole(before: list[float], snapped: list[float], total_s: float, needs: list[float]) -> list[float]:
    """The snapped cuts, except those that would leave a shot too short for its narration line.

    Decided in order: a cut moves only when the shot before it still holds its line (or is no shorter
    than it was) and the shot after it would too with its next cut left in place, so a line that fit
    keeps fitting and a voice clip never has to be cut at a shot boundary.
    """
    chosen: list[float] = []
    previous = 0.0
    for i, cut in enumerate(snapped):
        after_next = before[i + 1] if i + 1 < len(before) else total_s
        old_left = before[i] - (before[i - 1] if i else 0.0)
        old_right = after_next - before[i]
        left_ok = cut - previous >= needs[i] - 1e-6 or cut - previous >= old_left - 1e-6
        right_ok = after_next - cut >= needs[i + 1] - 1e-6 or after_next - cut >= old_right - 1e-6
        chosen.append(cut if left_ok and right_ok else before[i])
        previous = chosen[-1]
    return chosen


def with_cuts(plan, cuts: list[float]):
    """A copy of ``plan`` whose cuts (the ends of all shots but the last) are at ``cuts``; the total is kept."""
    ends = [*cuts, sum(s.duration_s for s in plan.shots)]
    starts = [0.0, *cuts]
    shots = [s.model_copy(update={"duration_s": round(end - start, 6)}) for s, start, end in zip(plan.shots, starts,
                                                                                                ends)]
    return plan.model_copy(update={"shots": shots})


def lay_bed(service: Service, timeline: Timeline, duration_s: float) -> Timeline:
    """``timeline`` with the project's bed under all ``duration_s`` of it (none when music is off).

    The bed an earlier render laid is replaced; music the user added with ``add_audio`` stays.
    """
    from shotsmith.media.probe import probe

    store = service.store
    if store.project.production.music and not store.project.production.music_bed:
        from shotsmith.assistant.events import Notice

        for note in prepare(service, snap=False):  # a project planned before its music was set, or a resumed run
            service.emit(Notice(note))
        timeline = store.project.timeline
    settings = store.project.production
    kept = [a for a in timeline.audio if not (a.role == "music" and a.source == settings.music_bed)]
    update: dict = {"audio": kept}
    if settings.music and settings.music_bed:
        length = probe(store.resolve(settings.music_bed)).duration_s
        update["audio"] = [*kept, music_bed(settings.music_bed, duration_s=duration_s, length_s=length)]
        if timeline.output.loudness_lufs is None:
            update["output"] = timeline.output.model_copy(update={"loudness_lufs": DEFAULT_LUFS})
    return timeline.model_copy(update=update)


def configure(service: Service, source: str | None, *, moods: str | list[str] | None = None,
              beat_sync: bool | None = None) -> str:
    """Set (or, with ``source`` "off", remove) the project's music from a chat or the agent; returns what was done."""
    store = service.store
    settings = store.project.production
    if source is not None and source.strip().lower() in OFF_WORDS:
        _drop_bed(store, settings.music_bed)
        store.project.production = settings.model_copy(update={"music": None, "music_mood": [], "beat_sync": False,
                                                                "music_bed": None})
        store.save()
        return "music off: the next render has no bed (cuts stay where they are; 'undo' restores them)"
    mood_list = parse_moods(moods) if moods is not None else None
    music = str(check_source(source, mood_list)) if source else settings.music
    if not music:
        if beat_sync:
            raise InvalidInputError("cutting to the beat needs music first",
                                    hint="say 'add music from FOLDER' or pass --music")
        raise InvalidInputError("no music named", hint="name an audio file or a folder of them")
    if beat_sync:
        require_librosa()
    if mood_list is not None and Path(music).is_dir():
        check_source(music, mood_list)
    updates: dict = {"music": music}
    if mood_list is not None:
        updates["music_mood"] = mood_list
    if beat_sync is not None:
        updates["beat_sync"] = beat_sync
    store.project.production = settings.model_validate({**settings.model_dump(), **updates})
    store.save()
    # Cut again when asked now, or when the music changed under a project that cuts to the beat.
    snap = bool(beat_sync) or (beat_sync is None and settings.beat_sync and bool(source))
    return "; ".join(prepare(service, snap=snap))


def _drop_bed(store, ref: str | None) -> None:
    """Take the bed laid by an earlier render off the timeline (music the user added by hand stays)."""
    if ref:
        timeline = store.project.timeline
        store.project.timeline = timeline.model_copy(update={
            "audio": [a for a in timeline.audio if not (a.role == "music" and a.source == ref)]})


# -- what a user says in a conversation ----------------------------------------------------------

_PATH = r"(?:[\"'](?P<quoted>[^\"']+)[\"']|(?P<bare>[~./\w][^\s,;]*))"
_ADD_MUSIC = re.compile(r"^(?:please\s+)?(?:add|use|put|lay|play)\s+(?:some\s+|the\s+|my\s+)?(?P<moods>[\w ,-]*?)\s*"
                        r"(?:music|soundtrack|song|track|bed)\s+(?:from|in|at|under(?:neath)?\s+it\s+from|:)?\s*"
                        + _PATH + r"(?P<rest>.*)$", re.IGNORECASE)
_NO_MUSIC = re.compile(r"^(?:no|remove|drop|delete|without|turn off)\s+(?:the\s+)?(?:music|soundtrack|bed)"
                       r"(?:\s+please)?[.!]?$|^music\s+off[.!]?$", re.IGNORECASE)
_FILLER = {"some", "the", "my", "a", "an", "of", "and", "music", "with"}


def parse_request(text: str) -> dict | None:
    """``{"source", "moods", "beat_sync"}`` for "add calm music from ~/music", "cut to the beat", "no music";
    None when ``text`` asks nothing about music. A long message that only mentions the beat is a brief, not this."""
    t = text.strip()
    if _NO_MUSIC.match(t):
        return {"source": "off", "moods": None, "beat_sync": None}
    match = _ADD_MUSIC.match(t)
    if match:
        moods = [w for w in parse_moods(match.group("moods")) if w not in _FILLER]
        return {"source": match.group("quoted") or match.group("bare"), "moods": moods or None,
                "beat_sync": True if wants_beat_sync(match.group("rest")) else None}
    if wants_beat_sync(t) and len(t.split()) <= 8:
        return {"source": None, "moods": None, "beat_sync": True}
    return None
