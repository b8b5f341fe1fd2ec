"""Project history: every change to the plan, the cut or the production settings is a snapshot you can undo.

``ProjectStore.save`` records the editable part of the project (brief, plan,
timeline, production settings) whenever it differs from the current entry, so
a change from any front end (a tool, the chat, the CLI, the TUI, an import)
can be undone and redone — across restarts, since history lives in
``PROJECT/.shotsmith/history/`` and is written atomically like the rest.

What a snapshot leaves out is as deliberate as what it holds: generation
records, the spending ledger and clip files are never rolled back, so undoing
and redoing costs nothing (every clip stays cached) and money already spent
stays on the books. A shot's bound clip is part of the snapshot but not of
what counts as a change, so binding clips after generation amends the current
entry instead of adding one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from shotsmith.atomic import atomic_write_text
from shotsmith.errors import InvalidInputError, ProjectError

if TYPE_CHECKING:
    from shotsmith.project import Project

HISTORY_DIR = ".shotsmith/history"
INDEX_FILE = "index.json"
#: The parts of a project a snapshot holds.
EDITABLE = ("brief", "plan", "timeline", "production", "cast", "look", "narration")
#: Shot fields that follow generation, not an edit: they do not make a new entry.
_BINDING_FIELDS = ("clip", "clip_signature", "clip_length_s", "keyframe", "end_keyframe", "keyframe_signature",
                   "keyframe_approved", "continues_from")
#: History entries kept; the oldest are dropped beyond this (their snapshots with them).
MAX_ENTRIES = 500


class HistoryEntry(BaseModel):
    number: int = Field(ge=1)
    at: datetime
    label: str
    digest: str


class HistoryIndex(BaseModel):
    head: int = 0
    entries: list[HistoryEntry] = Field(default_factory=list)

    def entry(self, number: int) -> HistoryEntry | None:
        return next((e for e in self.entries if e.number == number), None)


def _one_line(exc: Exception) -> str:
    """A reading error as one line: pydantic's report spans lines and links its docs."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{first['msg']}" + (f" at {where}" if where else "")
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def editable_state(project: "Project") -> dict[str, Any]:
    data = json.loads(project.model_dump_json(include=set(EDITABLE)))
    return data


def _digest(state: dict[str, Any]) -> str:
    """What counts as a change: the editable state without the clips bound by generation."""
    plan = state.get("plan")
    if plan:
        plan = {**plan, "shots": [{k: v for k, v in s.items() if k not in _BINDING_FIELDS} for s in plan["shots"]]}
        state = {**state, "plan": plan}
    timeline = state.get("timeline")
    if plan:  # the timeline is derived from the plan; its clips follow the bindings
        # A timeline left at its defaults is absent from a defaults-excluded dump until binding fills its
        # clips: both read the same here, or generating would count as an edit (a no-op entry to undo).
        state = {**state, "timeline": {**(timeline or {}), "clips": []}}
    elif timeline:
        state = {**state, "timeline": {**timeline, "clips": timeline.get("clips")}}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:20]


def _project_digest(project: "Project") -> str:
    # Fields left at their defaults do not count: a newer shotsmith adding a setting is not a change.
    return _digest(json.loads(project.model_dump_json(include=set(EDITABLE), exclude_defaults=True)))


#: The longest label kept: it is a cell of ``shotsmith history`` and part of undo's one line.
MAX_LABEL = 60
#: Shot fields the prompt is composed from: a change to one is named by the part, not as "prompt".
_PROMPT_PARTS = ("subject", "action", "setting", "lighting")


def _num(value: Any) -> str:
    return f"{float(value):g}"


def _recomposed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether the shot's new prompt is the one its changed parts compose (not one the user wrote)."""
    from shotsmith.plan_edits import compose_prompt

    if not any(before.get(k) != after.get(k) for k in (*_PROMPT_PARTS, "camera", "style")):
        return False
    try:
        composed = compose_prompt(after.get("subject") or before.get("prompt", ""), after.get("action") or "",
                                  after.get("setting") or "", after.get("camera") or "static",
                                  after.get("style") or "", after.get("lighting") or "")
    except ValueError:  # a camera move this shotsmith does not know: say "prompt"
        return False
    return composed == after.get("prompt")


def _numbers(numbers: list[int]) -> str:
    """``1, 2`` / ``1-6`` / ``1-3, 5``: runs of three or more as ranges, so many shots stay short."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def _field_change(key: str, old: Any, new: Any, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """One changed shot field in a few words ("speed 0.5x", "duration 4 s → 6 s"); None: said by another."""
    if key == "prompt":  # recomposed from its parts (plan_edits.edit_shot's rule): the changed part says it
        return None if _recomposed(before, after) else "prompt"
    if key == "take":
        return "new take" if (new or 0) > (old or 0) else "earlier take"
    if key == "duration_s":
        if after.get("speed", 1.0) != before.get("speed", 1.0) and old is not None and new is not None \
                and abs(old * before.get("speed", 1.0) / after.get("speed", 1.0) - new) < 0.01:
            return None  # the same footage at another speed: "speed 0.5x" says it
        return f"duration {_num(old)} s → {_num(new)} s"
    if key == "speed":
        return f"speed {_num(new)}x"
    if key == "camera":
        return f"camera {str(new).replace('_', ' ')}"
    if key == "transition_to_next":
        kind = (new or {}).get("kind", "cut")
        if kind == (old or {}).get("kind", "cut") and kind != "cut":
            return f"{kind} {_num(new.get('duration_s', 0))} s"
        return "cut to next" if kind == "cut" else f"{kind} to next"
    if key == "in_s":
        return f"starts {_num(new)} s in"
    if key == "volume":
        return f"volume {_num(new)}x"
    if key == "mute":
        return "muted" if new else "unmuted"
    if key in ("fit", "motion"):
        return f"{key} {new}" if new else f"{key} default"
    if key == "source":
        return "footage" if new else "generated"
    if key == "source_length_s":
        return None
    if key == "redo_of":  # the storyboard's "redo 2 with …": the still is drawn again from the new prompt
        return "still redone" if new else None
    return key.replace("_", " ")


def _shot_changes(before: dict[str, Any], after: dict[str, Any], *, skip: tuple[str, ...] = ()) -> list[str]:
    """What changed in one shot, in the shot's field order, each once (``skip``: fields said elsewhere)."""
    words: list[str] = []
    for key in dict.fromkeys([*after, *before]):
        if key in _BINDING_FIELDS or key in skip or key == "index" or before.get(key) == after.get(key):
            continue
        word = _field_change(key, before.get(key), after.get(key), before, after)
        if word and word not in words:
            words.append(word)
    return words or ["edited"]


def _shots_label(changed: dict[int, list[str]], *, brief: bool = False) -> str:
    """``shot 1: speed 0.5x``; ``shots 1, 2: prompt``; ``shot 1: prompt; shot 3: new take``.

    ``brief``: only which shots and which kinds of change ("shot 1: speed, duration"), for a long label.
    """
    if brief:
        changed = {i: list(dict.fromkeys(w.split(" ")[0] if w not in ("new take", "earlier take") else "take"
                                         for w in words)) for i, words in changed.items()}
    groups: dict[str, list[int]] = {}
    for index, words in changed.items():
        groups.setdefault(", ".join(words), []).append(index)
    return "; ".join(f"shot{'s' if len(shots) > 1 else ''} {_numbers(shots)}: {words}"
                     for words, shots in groups.items())


def _count_change(old: list[str], new: list[str]) -> str:
    """Shots added or removed, by number ("shot 2 removed"), when the others stayed in order."""

    def gone(longer: list[str], shorter: list[str]) -> list[int] | None:
        missing, rest = [], iter(enumerate(longer, 1))
        for prompt in shorter:
            for number, candidate in rest:
                if candidate == prompt:
                    break
                missing.append(number)
            else:
                return None
        return missing + [number for number, _ in rest]

    removed, added = (gone(old, new), None) if len(new) < len(old) else (None, gone(new, old))
    numbers, verb = (removed, "removed") if removed else (added, "added")
    if numbers and len(numbers) == abs(len(old) - len(new)):
        return f"shot{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))} {verb}"
    return f"{len(old)} → {len(new)} shots"


def _plan_changes(old_plan: dict[str, Any], new_plan: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the detailed label of a plan edit, a shorter one for when the whole label runs long)."""
    old_shots = {s["index"]: s for s in old_plan["shots"]}
    new_shots = {s["index"]: s for s in new_plan["shots"]}
    old_prompts = [old_shots[i]["prompt"] for i in sorted(old_shots)]
    new_prompts = [new_shots[i]["prompt"] for i in sorted(new_shots)]
    if len(old_shots) != len(new_shots):
        label = _count_change(old_prompts, new_prompts) if set(old_prompts) & set(new_prompts) \
            else f"plan replaced ({len(new_prompts)} shot{'' if len(new_prompts) == 1 else 's'})"
        return label, label
    if old_prompts != new_prompts and sorted(old_prompts) == sorted(new_prompts):
        for start in range(len(old_prompts)):  # one shot taken out and put back elsewhere
            rest = old_prompts[:start] + old_prompts[start + 1:]
            for to in range(len(old_prompts)):
                if to != start and rest[:to] + [old_prompts[start]] + rest[to:] == new_prompts:
                    return f"shot {start + 1} moved to {to + 1}", "shots reordered"
        moved = sum(1 for a, b in zip(old_prompts, new_prompts) if a != b)
        return f"{moved} shots reordered", "shots reordered"
    # A new aspect ratio is the plan's, said once ("aspect 9:16"), not as a change to every shot.
    skip = ("aspect_ratio",) if old_plan.get("aspect_ratio") != new_plan.get("aspect_ratio") else ()
    changed = {i: _shot_changes(old_shots[i], new_shots[i], skip=skip) for i in sorted(new_shots)
               if {k: v for k, v in old_shots[i].items() if k not in _BINDING_FIELDS + skip}
               != {k: v for k, v in new_shots[i].items() if k not in _BINDING_FIELDS + skip}}
    if not changed:
        return None, None
    short = _shots_label(changed, brief=True)
    if len(short) > MAX_LABEL:  # every changed shot with every kind of change among them
        kinds = list(dict.fromkeys(k for words in _shots_label(changed, brief=True).split("; ")
                                   for k in words.split(": ", 1)[1].split(", ")))
        short = f"shot{'s' if len(changed) > 1 else ''} {_numbers(list(changed))}: {', '.join(kinds)}"
    if len(short) > MAX_LABEL:
        short = f"shot{'s' if len(changed) > 1 else ''} {_numbers(list(changed))} edited"
    return _shots_label(changed), short


def _titles_change(old: list[Any] | None, new: list[Any] | None) -> str:
    """``title added`` / ``2 titles removed`` / ``title changed``."""
    old, new = old or [], new or []
    delta = len(new) - len(old)
    if delta:
        count = abs(delta)
        return f"{'' if count == 1 else f'{count} '}title{'' if count == 1 else 's'} {'added' if delta > 0 else 'removed'}"
    differing = sum(1 for a, b in zip(old, new) if a != b)
    return "title changed" if differing == 1 else "titles changed"


def describe_change(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """A short label (at most :data:`MAX_LABEL` characters) for what changed between two snapshots.

    The one place history labels are made, from the snapshots themselves, so every
    front end's edit is named the same way: ``shot 1: speed 0.5x``, ``shot 2: prompt``,
    ``shot 3: new take``, ``shot 2: duration 4 s → 6 s``, ``shot 3 moved to 1``,
    ``3 shots reordered``, ``shot 4 removed``, ``title added``. "shot 1 edited" alone said nothing an undo
    could be chosen by; a label that would run long says less (which shots, which kinds).
    """
    if before is None:
        return "project created" if not after.get("plan") else "plan made"
    parts: list[str] = []
    short_plan: str | None = None
    old_plan, new_plan = before.get("plan"), after.get("plan")
    if old_plan != new_plan:
        if not old_plan:
            count = len(new_plan["shots"])
            parts.append(f"plan made ({count} shot{'' if count == 1 else 's'})")
        elif not new_plan:
            parts.append("plan removed")
        else:
            detailed, short_plan = _plan_changes(old_plan, new_plan)
            if detailed:
                parts.append(detailed)
            if old_plan.get("aspect_ratio") != new_plan.get("aspect_ratio"):
                parts.append(f"aspect {new_plan['aspect_ratio']}")
            if old_plan.get("title") != new_plan.get("title"):
                parts.append("video title " + ("removed" if not new_plan.get("title") else
                                               "added" if not old_plan.get("title") else "changed"))
    old_tl, new_tl = before.get("timeline") or {}, after.get("timeline") or {}
    for key in ("titles", "audio", "overlays", "captions", "output", "caption_settings"):
        if old_tl.get(key) != new_tl.get(key):
            parts.append(_titles_change(old_tl.get(key), new_tl.get(key)) if key == "titles"
                         else f"{key.replace('_', ' ')} changed")
    if not new_plan and old_tl.get("clips") != new_tl.get("clips"):
        parts.append("clips changed")
    if before.get("cast") != after.get("cast") or before.get("look") != after.get("look"):
        parts.append("cast changed")
    if before.get("narration") != after.get("narration"):
        parts.append("narration changed")
    if before.get("production") != after.get("production"):
        parts.append("settings changed")
    if before.get("brief") != after.get("brief") and not parts:
        parts.append("brief changed")
    label = ", ".join(parts) or "changed"
    if len(label) > MAX_LABEL and short_plan is not None and parts and parts[0] != short_plan:
        label = ", ".join([short_plan, *parts[1:]])
    if len(label) > MAX_LABEL:
        label = label[:MAX_LABEL - 2].rstrip(" ,;:") + " …"
    return label


def describe_move(entries: list[HistoryEntry], before: int, after: int) -> tuple[str, str]:
    """(what an undo or redo from entry ``before`` to ``after`` took back or brought back, where it is now).

    Naming only the entry it lands on ("back at change 3 (shot 1 edited)") read as the change undone.
    """
    numbers = [e.number for e in entries]
    lo, hi = sorted((numbers.index(before), numbers.index(after)))
    moved = entries[lo + 1:hi + 1]
    if after < before:
        moved = list(reversed(moved))
    named = [f"{e.number} ({e.label})" for e in moved]
    what = ("change " if len(named) == 1 else "changes ") + (
        named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1])
    here = entries[numbers.index(after)]
    return what, f"change {here.number} ({here.label})"


class History:
    """The undo/redo log of one project folder."""

    def __init__(self, root: Path) -> None:
        self.folder = Path(root) / HISTORY_DIR
        self._index: HistoryIndex | None = None
        #: (entry number, text) of the snapshot this process last wrote: a save that changes nothing of it writes nothing
        self._written: tuple[int, str] | None = None
        #: The head moved (undo/redo) and the index is not written yet: the project's save writes it, after project.json
        self._moved = False

    # -- reading ---------------------------------------------------------------------------
    @property
    def index(self) -> HistoryIndex:
        if self._index is None:
            path = self.folder / INDEX_FILE
            try:
                self._index = HistoryIndex.model_validate_json(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                self._index = HistoryIndex()
            except (OSError, ValueError) as exc:  # ValidationError is a ValueError: a truncated or reshaped file
                raise ProjectError(f"the project's history {path} is unreadable: {_one_line(exc)}",
                                   hint="move .shotsmith/history aside to start a new history") from exc
        return self._index

    def snapshot(self, number: int) -> dict[str, Any]:
        path = self.folder / f"{number:05d}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProjectError(f"history entry {number} is unreadable ({path}): {_one_line(exc)}",
                               hint="move .shotsmith/history aside to start a new history") from exc

    # -- writing ---------------------------------------------------------------------------
    def _write(self, number: int, state: dict[str, Any]) -> None:
        text = json.dumps(state, ensure_ascii=False) + "\n"
        atomic_write_text(self.folder / f"{number:05d}.json", text)
        self._written = (number, text)

    def _save_index(self) -> None:
        atomic_write_text(self.folder / INDEX_FILE, self.index.model_dump_json(indent=1) + "\n")
        self._moved = False

    def record(self, project: "Project") -> HistoryEntry | None:
        """Add an entry when the editable state changed since the head; amend the head when only bindings did."""
        state = editable_state(project)
        digest = _project_digest(project)
        index = self.index
        head = index.entry(index.head)
        settings_of_a_new_project = (head is not None and len(index.entries) == 1 and not state.get("plan")
                                     and _digest({k: v for k, v in state.items() if k not in ("production", "timeline")})
                                     == _digest({k: v for k, v in self.snapshot(head.number).items()
                                                 if k not in ("production", "timeline")}))
        if head is not None and (head.digest == digest or settings_of_a_new_project):
            # Same edit state with new clip bindings, or the settings of a project that has nothing in
            # it yet: amend the current entry quietly instead of adding one.
            if head.digest == digest and self._written == (head.number, json.dumps(state, ensure_ascii=False) + "\n"):
                if self._moved:
                    self._save_index()
                return None  # e.g. a generation record changed: the snapshot on disk is this state already
            head.digest = digest
            self._write(head.number, state)
            self._save_index()
            return None
        before = self.snapshot(head.number) if head is not None else None
        # Numbers are never reused, not even by a new history (the old one moved aside): a kept render
        # names the change it came from, and must not come to name another.
        number = max([0] + [e.number for e in index.entries] + [r.history_entry or 0 for r in project.renders]) + 1
        from shotsmith.project import utcnow

        entry = HistoryEntry(number=number, at=utcnow(), label=describe_change(before, state), digest=digest)
        self._write(number, state)
        # A change after an undo drops what could have been redone (as every editor does).
        dropped = [e for e in index.entries if e.number > index.head]
        index.entries = [e for e in index.entries if e.number <= index.head] + [entry]
        index.head = number
        while len(index.entries) > MAX_ENTRIES:
            dropped.append(index.entries.pop(0))
        self._save_index()
        for old in dropped:
            (self.folder / f"{old.number:05d}.json").unlink(missing_ok=True)
        return entry

    def move(self, project: "Project", steps: int) -> HistoryEntry:
        """Undo (``steps`` < 0) or redo (> 0): put the editable state of that entry into ``project``.

        The new head is written by the :meth:`record` of the project's save that follows, after
        project.json: cut off between the two writes (Ctrl-C, a full disk), the head still names the
        state project.json holds, whose next save then records the move as a change, instead of a
        head that moved without its project (the next undo skipped a change).
        """
        index = self.index
        numbers = [e.number for e in index.entries]
        if not numbers or index.head not in numbers:
            raise InvalidInputError("there is no history to move in yet")
        here = numbers.index(index.head)
        position = here + steps
        # Say how far it can go: "nothing to undo" while two changes can still be undone reads as a bug.
        if position < 0:
            if here == 0:
                raise InvalidInputError("nothing to undo: this is the oldest change in the history")
            raise InvalidInputError(f"nothing to undo that far: only {here} change(s) can be undone",
                                    hint=f"undo {here} goes back to change {numbers[0]}, the oldest kept")
        if position >= len(numbers):
            left = len(numbers) - 1 - here
            if left == 0:
                raise InvalidInputError("nothing to redo")
            raise InvalidInputError(f"nothing to redo that far: only {left} change(s) can be redone")
        target = index.entries[position]
        state = self.snapshot(target.number)
        from shotsmith.project import Project

        merged = {**json.loads(project.model_dump_json()), **{k: state.get(k) for k in EDITABLE if k in state}}
        restored = Project.model_validate(merged)
        for key in EDITABLE:
            setattr(project, key, getattr(restored, key))
        # The entry as this shotsmith digests it: one written by an older version may differ, and the
        # save of the move would then take it for an edit (a new entry, the redo branch dropped).
        target.digest = _project_digest(project)
        index.head = target.number
        self._moved = True
        return target
