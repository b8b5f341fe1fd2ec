"""The offline session: the deterministic planner and a fixed edit vocabulary, no LLM.

It answers when no language model is configured, says so on its first turn,
and drives the same :class:`ProductionService` as the agent, so spending
approval, caching, the edit model and path safety behave identically. Its
conversation is kept in ``PROJECT/.shotsmith/offline_history.json`` so ``chat``
continues after a restart.
"""

from __future__ import annotations

import contextlib
import json
import re

from shotsmith.assistant.events import AssistantText, Notice
from shotsmith.assistant.planner import OFFLINE_PLANNER
from shotsmith.assistant.production.casting import add_member, unknown_tags_notice
from shotsmith.assistant.production.spending import Estimate, money
from shotsmith.assistant.production.takes import make_new_take
from shotsmith.assistant.sessions.base import STATE_DIR, SessionBase
from shotsmith.assistant.sessions.intents import Intent, parse_intent
from shotsmith.atomic import atomic_write_text
from shotsmith.backends.registry import get_backend
from shotsmith.errors import CancelledError, InvalidInputError, ShotsmithError
from shotsmith.formats import CameraMove
from shotsmith.plan_edits import continue_from, edit_shot, find_shot, swap
from shotsmith.scrub import scrub

HISTORY_FILE = "offline_history.json"
#: An edit of the voice, captions or music in words the offline planner does not know (e.g. "use a french voice
#: for the narration"): answered with what it understands rather than planned as a new brief.
_EDIT_REQUEST = re.compile(r"\s*(?:please\s+)?(?:use|change|switch|set|replace|turn|swap|give|put)\b.*\b(?:voice|voices|"
                           r"voice[- ]?over|narration|narrator|captions?|subtitles?|music|song|soundtrack)\b",
                           re.IGNORECASE)
#: An edit of numbered shots in words the offline planner does not know ("make shots 1 and 2 brighter"): answered
#: with what it understands; planning it as a brief would replace the project's shots.
_SHOT_EDIT = re.compile(r"\s*(?:please\s+)?(?:make|change|set|turn|give|put|edit|adjust)\b.*\b(?:shots?|scenes?|clips?)"
                        r"\s*#?\s*\d", re.IGNORECASE)
HELP = ("I am the offline planner and understand: a new brief; 'make shot 2 slower/faster' (speed); "
        "'make shot 2 longer/shorter' or 'shot 2 4 seconds' (duration); 'shot 3: <new prompt>'; 'shot 2 push in'; "
        "'swap the last two' / 'swap 1 and 3'; 'move shot 4 to 1'; 'vertical for Reels' / 'square'; "
        "'use my clip beach.mp4 as the opener'; 'show plan'; 'estimate'; 'preview'; 'generate' (renders the video); "
        "'undo' / 'redo'; 'this is Mara: mara.png, a woman with red hair' (cast); 'add calm music from ~/music', "
        "'cut to the beat', 'no music'; 'show the storyboard', 'approve 2' / 'approve all' / 'looks good', "
        "'redo 3 with a lower angle'; 'another take of shot 3' (the same prompt, made again); voice-over: 'shorter', \"say 'open daily from 7'\" (last shot) or "
        "\"on shot 3 say '...'\", 'no voice-over' / 'add a voice-over'. "
        "Configure a model with --llm for free-form requests.")
#: Commands that act on the plan; said alone with no plan, they are answered with :data:`NO_PLAN`.
_NEEDS_A_PLAN = ("produce", "preview", "show", "estimate", "storyboard")
NO_PLAN = ("There is no plan yet, so nothing to make or show: describe the video you want first, e.g. "
           "'a 15 second ad for a bakery, warm morning light'.")
REVIEW_HINT = ("Say 'approve 2', 'approve all' (or 'looks good'), or 'redo 3 with a lower angle'; no video money is "
               "spent on a shot before its still is approved.")
#: Notices from the planner that mean something was changed, not just assumed.
_WARNING_WORDS = ("capped", "minimum", "longest", "shortest")


def _continues(plan) -> int:
    """How many cuts are ``continue`` (a shot starting from the previous one's last frame)."""
    return sum(1 for shot in plan.shots if shot.transition_to_next.continues)


def shots_ready(generated: list[int], cached: list[int]) -> str:
    """``5 shot(s) ready, all from cache (nothing generated)``: what a run made and what it reused, never
    counting a shot twice (it read 'Generated 5 shot(s), 5 from cache' when nothing was generated)."""
    made, reused = set(generated), set(cached) - set(generated)
    ready = len(made | reused)
    if not made:
        return f"{ready} shot(s) ready, all from cache (nothing generated)" if ready else "No shots to make"
    if not reused:
        return f"{ready} shot(s) ready, all generated"
    return f"{ready} shot(s) ready: {len(made)} generated, {len(reused)} from cache"


class OfflineSession(SessionBase):
    answering = OFFLINE_PLANNER

    def __init__(self, service) -> None:
        super().__init__(service)
        self._history_path = self.store.root / STATE_DIR / HISTORY_FILE
        self._history: list[tuple[str, str]] = self._load_history()
        self._pending: tuple[bool, Estimate | None] | None = None
        #: Storyboard stills waiting for a yes to spend (shots, None: all missing; and their estimate).
        self._pending_stills: tuple[list[int] | None, Estimate] | None = None
        #: Set (to the preview flag) while generation waits for the user to approve the storyboard.
        self._held_for_review: bool | None = None
        #: The shot whose new take the pending approval would make (said again on a no).
        self._take_asked: int | None = None

    def who_text(self) -> str:
        return ("Answering: the offline planner (no language model configured; set --llm or SHOTSMITH_LLM "
                "for an LLM agent)")

    # -- persistence -------------------------------------------------------------------
    def _load_history(self) -> list[tuple[str, str]]:
        try:
            data = json.loads(self._history_path.read_text(encoding="utf-8"))
            return [(str(r), str(t)) for r, t in data]
        except (OSError, ValueError, TypeError):
            return []

    def _remember(self, role: str, text: str) -> None:
        self._history.append((role, scrub(text)))
        self._history_path.parent.mkdir(exist_ok=True)
        atomic_write_text(self._history_path, json.dumps(self._history, ensure_ascii=False, indent=1) + "\n")

    def history(self) -> list[tuple[str, str]]:
        return list(self._history)

    def remember_exchange(self, user: str, assistant: str) -> None:
        self._remember("user", user)
        self._remember("assistant", assistant)

    def remember_failure(self, error: ShotsmithError) -> None:
        if self._history and self._history[-1][0] == "user":  # the message this turn kept, not yet answered
            with contextlib.suppress(OSError, ShotsmithError):  # a read-only project: the error is said anyway
                self._remember("assistant", error.message if isinstance(error, CancelledError)
                               else f"error: {error.message}")

    @property
    def pending_approval(self) -> bool:
        return self._pending is not None or self._pending_stills is not None

    def reply(self, text: str) -> None:
        self._remember("assistant", text)
        self.emit(AssistantText(text))

    # -- turns -------------------------------------------------------------------------
    def _send(self, text: str) -> None:
        self.who_notice()
        text = text.strip()
        if not text:
            raise InvalidInputError("the message is empty", hint='describe the video, e.g. "a 15 second ad for a bakery"')
        self._remember("user", text)
        if self.pending_approval:
            intent = parse_intent(text, shot_count=0)
            if intent and intent.kind in ("approve", "decline"):
                return self._respond(intent.kind == "approve")
            raise ShotsmithError("an approval is pending; answer it first (yes or no)")
        plan = self.store.project.plan
        intent = parse_intent(text, shot_count=len(plan.shots) if plan else 0)
        if intent is not None and intent.kind in ("cast", "music"):  # these can be given before there is a plan
            return self._act(intent)
        if plan is None and intent is not None and intent.kind in _NEEDS_A_PLAN and len(text.split()) <= 3:
            # "render", "generate", "preview" (the palette's too) with nothing planned (a new project, or an
            # undo back before the first plan): a command, not a brief about the word "render".
            return self.reply(NO_PLAN)
        if plan is None or intent is None:
            if plan is not None and (len(text.split()) < 6 or _EDIT_REQUEST.match(text) or _SHOT_EDIT.match(text)):
                return self.reply(HELP)  # not a new brief: re-planning would replace the project's shots
            return self._plan(text)
        self._act(intent)

    def _run_brief(self, brief: str, *, produce: bool) -> None:
        """A scripted run: the same steps as a user typing the brief, then 'generate'."""
        self.who_notice()
        if not brief.strip():
            raise InvalidInputError("the brief is empty", hint='describe the video, e.g. "a 15 second ad for a bakery"')
        self._remember("user", brief)
        self._plan(brief, invite=not produce)
        if produce:
            self.check_cancel()
            self._produce(preview=False)

    def _plan(self, text: str, *, invite: bool = True) -> None:
        plan, notices = self.service.plan_brief(text, planner=OFFLINE_PLANNER)
        for notice in notices:
            self.emit(Notice(notice, level="warning" if any(w in notice for w in _WARNING_WORDS) else "info"))
            self.service.activity.notices.append(notice)
        estimate = self.service.estimate()
        self.reply(f"Planned {len(plan.shots)} shots, {plan.total_duration_s:g} s at {plan.aspect_ratio}. "
                   f"{estimate.text}." + (" Say 'generate' to make the video, or ask for changes." if invite else ""))

    def _act(self, intent: Intent) -> None:
        service = self.service
        a = intent.args
        if intent.kind in ("approve", "decline"):
            if intent.kind == "approve" and self._held_for_review is not None:
                return self._approve_panels(None)  # "yes" to "approve the storyboard?": all of it, and go on
            if intent.kind == "decline" and self._held_for_review is not None:
                self._held_for_review = None
                return self.reply("OK, no video was generated. Change or redo the stills you want different, "
                                  "approve them, and say 'generate' again.")
            return self.reply("There is nothing waiting for approval. " + HELP)
        if intent.kind in ("storyboard", "approve_panels", "redo_panel", "narration"):
            return self._review_or_narration(intent)
        if intent.kind == "take":
            return self._new_take(a["index"])
        if intent.kind == "show":
            return self.reply("\n".join(f"{s.index}. ({s.duration_s:g}s{'' if s.speed == 1 else f' at {s.speed:g}x'}, "
                                        f"{s.camera.value}) {s.prompt}" for s in service.plan.shots))
        if intent.kind == "estimate":
            return self.reply(service.estimate().text)
        if intent.kind == "produce":
            return self._produce(preview=False)
        if intent.kind == "preview":
            return self._produce(preview=True)
        if intent.kind == "cast":
            paths = [self.service.find_media(name) for name in a["images"]]
            known = any(m.name.lower() == a["name"].lower() for m in self.store.project.cast)
            # A new member's kind is read from the words ("this is the shop" is a location); a known one keeps
            # its own (`cast add --kind` changes it).
            member = add_member(self.store, a["name"], paths, description=a["description"],
                                kind=None if known else a.get("kind"))
            plan = self.store.project.plan
            in_shots = [s.index for s in plan.shots if member.name in s.cast] if plan else []
            return self.reply(f"{member.name} is in the cast ({member.kind}) with {len(member.images)} reference image(s)"
                              + (f"; in shot(s) {', '.join(map(str, in_shots))}" if in_shots else
                                 f"; name @{member.name} in a shot to put them in it") + ".")
        if intent.kind == "music":
            said = service.set_music(a["source"], moods=a["moods"], beat_sync=a["beat_sync"])
            if not service.has_plan:
                return self.reply(f"{said}. Now describe the video.")
            return self.reply(f"Done: {said}. Say 'generate' to update the video.")
        joins = _continues(service.plan) if service.has_plan else 0
        if intent.kind == "footage":
            service.add_footage(a["path"], index=a["index"])
            what = f"shot {a['index']} now uses {a['path']}"
        elif intent.kind == "swap":
            service.edit(lambda p: swap(p, a["a"], a["b"]))
            what = f"swapped shots {a['a']} and {a['b']}"
        elif intent.kind == "move":
            service.edit(lambda p: edit_shot(p, a["index"], move_to=a["to"]))
            what = f"moved shot {a['index']} to position {a['to']}"
        elif intent.kind == "prompt":
            service.edit(lambda p: edit_shot(p, a["index"], prompt=a["prompt"]))
            what = f"shot {a['index']} has a new prompt"
            for unknown in unknown_tags_notice(a["prompt"], self.store.project.cast):  # "shot 1: @zed opens"
                what += f" ({unknown})"
        elif intent.kind == "speed":
            speeds = {i: round(min(4.0, max(0.25, find_shot(service.plan, i).speed * a["factor"])), 2)
                      for i in a.get("indices", [a["index"]])}
            service.edit(lambda p: _each(p, speeds, lambda plan, i, v: edit_shot(plan, i, speed=v)))
            what = "; ".join(f"shot {i} plays at {v:g}x ({find_shot(service.plan, i).duration_s:.2f} s on screen)"
                             for i, v in speeds.items())
        elif intent.kind == "duration":
            lengths = {i: max(0.5, a.get("seconds") or round(find_shot(service.plan, i).duration_s * a["factor"], 2))
                       for i in a.get("indices", [a["index"]])}
            service.edit(lambda p: _each(p, lengths, lambda plan, i, v: edit_shot(plan, i, duration_s=v)))
            what = "; ".join(f"shot {i} is now {v:g} s" for i, v in lengths.items())
        elif intent.kind == "continue":
            service.edit(lambda p: continue_from(p, a["index"], a["source"]))
            what = f"shot {a['index']} starts from the last frame of shot {a['source']} (a hard cut)"
        elif intent.kind == "camera":
            moves = {i: CameraMove(a["camera"]) for i in a.get("indices", [a["index"]])}
            service.edit(lambda p: _each(p, moves, lambda plan, i, v: edit_shot(plan, i, camera=v)))
            what = f"{_shots_text(list(moves))} camera: {a['camera']}"
        elif intent.kind == "aspect":
            service.set_format(aspect_ratio=a["aspect_ratio"], method="regenerate")
            what = f"the video is now {a['aspect_ratio']}"
        else:  # pragma: no cover - parse_intent returns only the kinds above
            return self.reply(HELP)
        if intent.kind != "continue" and _continues(service.plan) < joins:
            what += ("; a shot that continued from the one before it no longer follows it, so that cut is a plain "
                     "cut now (say 'continue shot N from shot M' to join two shots again)")
        self.reply(f"Done: {what}. {service.estimate().text}. Say 'generate' to update the video.")

    def _new_take(self, index: int | None) -> None:
        """The shot made again as it is ("another take of shot 3"): a plan edit (an undo step; the take before
        stays cached), then generated at once like any change: priced, and asked about first when it costs."""
        if index is None:
            raise InvalidInputError("say which shot to make again", hint="e.g. 'another take of shot 3'")
        before = find_shot(self.service.plan, index).take
        plan = make_new_take(self.service, index)
        take = find_shot(plan, index).take + 1  # take 0 is the shot's first clip: "take 1" to the user
        self.reply(f"Shot {index}: take {take}, the same prompt generated again ('undo' brings take {before + 1} "
                   "back, free from the cache).")
        self._take_asked = index
        try:
            self._produce(preview=False)
        finally:
            if self._pending is None:  # answered (or failed) without a question: nothing to say on a no
                self._take_asked = None

    def _produce(self, *, preview: bool) -> None:
        """Storyboard stills (when the backend animates stills), then the shots, then the render.

        Each step that spends is estimated and, unless it is free, covered or --yes, asked about
        first; a yes continues here.
        """
        service = self.service
        spent = 0.0
        while True:
            try:
                estimate = service.estimate()
            except ShotsmithError as exc:
                if service.spending.auto_approve or not service.backend().capabilities().needs_approval:
                    raise
                # Deciding failed: ask (with the reason); a yes can still spend nothing without an estimate.
                self._pending = (preview, None)
                self._remember("assistant", f"Approval needed, but the cost could not be estimated: {exc.message}")
                return self.ask_approval("offline-generate", "generate_shots", None, exc.message)
            waiting = service.keyframes_to_review()
            if waiting and {c.kind for c in estimate.to_generate} != {"image"}:
                return self._hold_for_review(preview, waiting)  # the stills' approval comes before the money's
            if estimate.to_generate:
                service.backend().check_ready()  # the video backend, even while the stills come first
                get_backend(estimate.backend).check_ready()
                service.spending.check_budget(estimate)
            if service.spending.decide(estimate) == "ask" and not service.spending.auto_approve:
                self._pending = (preview, estimate)
                self._remember("assistant", f"Approval needed: {estimate.text}")
                return self.ask_approval("offline-generate", "generate_shots", estimate)
            before = {a.id for a in self.store.project.spending.approvals}
            try:
                result = service.generate()
            finally:
                self.approval_ids += [a.id for a in self.store.project.spending.approvals if a.id not in before]
            spent += result.usd
            if result.keyframes:
                self.emit(Notice(f"storyboard: keyframes for shot(s) {', '.join(map(str, result.keyframes))} "
                                 f"made with {service.image_backend().name}"))
            if result.review:
                return self._hold_for_review(preview, result.review)
            if result.awaiting is None:
                break
        self.check_cancel()
        output = service.render(preview=preview)
        self.reply(f"{shots_ready(result.generated, result.cached)} (spent {money(spent)}). Wrote {output.path} "
                   f"({output.duration_s:.1f} s, {output.width}x{output.height}).")

    def _respond(self, approved: bool) -> None:
        if self._pending_stills is not None:
            return self._respond_stills(approved)
        if self._pending is None:
            raise ShotsmithError("there is no pending approval to answer")
        preview, estimate = self._pending
        self._pending = None
        if estimate is not None:
            records = self.service.spending.record(estimate, approved=approved, by="user")
            self.approval_ids.extend(r.id for r in records)
        take, self._take_asked = self._take_asked, None
        if not approved:
            kept = (f" Shot {take}'s new take was not made: 'undo' brings its previous take back (free), or say "
                    "'generate' to make it." if take is not None else "")
            return self.reply("OK, nothing was generated and nothing was spent." + (
                kept or " Change the plan or say 'generate' again."))
        self._produce(preview=preview)

    # -- the storyboard review and the narration (chat only) -------------------------------------
    def _review_or_narration(self, intent: Intent) -> None:
        a = intent.args
        if intent.kind == "storyboard":
            return self._storyboard()
        if intent.kind == "approve_panels":
            return self._approve_panels(a["shots"])
        if intent.kind == "redo_panel":
            return self._redo_panel(a["index"], note=a["note"], camera=a["camera"])
        return self._narration(a["change"], shot=a.get("shot"), text=a.get("text"))

    def _storyboard_text(self) -> str:
        """The panels with their approval and paths, and a contact sheet of them in renders/storyboard.png."""
        from shotsmith.assistant.production.storyboard import contact_sheet

        root = self.store.root
        shown = self.service.storyboard_panels()
        sheet = ""
        if any(p.keyframe for p in shown):
            path = contact_sheet(self.service.plan, root, self.store.renders_dir / "storyboard.png")
            sheet = f"; contact sheet: {path}"
        done = sum(1 for p in shown if p.state in ("approved", "used"))  # a still its clip was made from needs no yes
        stills = sum(1 for p in shown if p.keyframe)
        how = "approved or used for a clip" if any(p.state == "used" for p in shown) else "approved"
        return "\n".join([f"Storyboard: {done} of {stills} still(s) {how}{sheet}",
                          *(p.line(root) for p in shown)])

    def _storyboard(self) -> None:
        """Show the storyboard, making the stills that are missing first (asking when they cost)."""
        service = self.service
        if not service.keyframes_on():
            return self.reply(f"{service.backend_name} does not animate stills (or keyframes are off), so this "
                              "video has no storyboard step.")
        estimate = service.estimate_keyframes()
        if estimate.to_generate or estimate.resuming:  # a still whose task runs is resumed, for nothing more
            if service.spending.decide(estimate) == "ask" and not service.spending.auto_approve:
                return self._ask_stills(None, estimate, f"The storyboard needs its stills first: {estimate.text}.")
            self._make_stills(None)
        self.reply(self._storyboard_text() + "\n" + REVIEW_HINT)

    def _ask_stills(self, shots: list[int] | None, estimate: Estimate, said: str) -> None:
        self._pending_stills = (shots, estimate)
        self._remember("assistant", f"{said} Approval needed.")
        self.emit(AssistantText(said))
        self.ask_approval("offline-storyboard", "generate_keyframes", estimate)

    def _make_stills(self, shots: list[int] | None) -> list[int]:
        before = {a.id for a in self.store.project.spending.approvals}
        try:
            result = self.service.generate_keyframes(shots)
        finally:
            self.approval_ids += [a.id for a in self.store.project.spending.approvals if a.id not in before]
        if result.keyframes:
            self.emit(Notice(f"storyboard: keyframes for shot(s) {', '.join(map(str, result.keyframes))} made "
                             f"with {result.backend}" + (f" ({money(result.usd)})" if result.usd else "")))
        return result.keyframes

    def _respond_stills(self, approved: bool) -> None:
        assert self._pending_stills is not None
        shots, estimate = self._pending_stills
        self._pending_stills = None
        records = self.service.spending.record(estimate, approved=approved, by="user")
        self.approval_ids.extend(r.id for r in records)
        if not approved:
            return self.reply("OK, no still was made and nothing was spent.")
        self._make_stills(shots)
        if shots is not None and len(shots) == 1:
            return self.reply(self._redone_text(shots[0]))
        self.reply(self._storyboard_text() + "\n" + REVIEW_HINT)

    def _hold_for_review(self, preview: bool, waiting: list[int]) -> None:
        self._held_for_review = preview
        self.reply(self._storyboard_text() + f"\nBefore any video is generated, approve the stills of shot(s) "
                   f"{', '.join(map(str, waiting))}: 'approve all' (or 'looks good') goes on; 'approve 2' approves "
                   "one; 'redo 3 with a lower angle' redraws one.")

    def _approve_panels(self, shots: list[int] | None) -> None:
        approved = self.service.approve_keyframes(shots)
        pending = [p.shot for p in self.service.storyboard_panels() if p.state == "pending"]
        if not approved and shots is None and not any(p.keyframe for p in self.service.storyboard_panels()):
            return self.reply("There is no storyboard still to approve yet; say 'show the storyboard' to make them.")
        said = (f"Approved the still(s) of shot(s) {', '.join(map(str, approved))}." if approved
                else "Those stills were already approved.")
        if pending:
            return self.reply(f"{said} Still waiting: shot(s) {', '.join(map(str, pending))}.")
        if self._held_for_review is not None:  # every still is approved: the generation it held goes on
            preview, self._held_for_review = self._held_for_review, None
            self.reply(f"{said} The storyboard is approved; generating the shots.")
            return self._produce(preview=preview)
        self.reply(f"{said} The storyboard is approved; say 'generate' to make the video.")

    def _redo_panel(self, index: int | None, *, note: str | None, camera: str | None) -> None:
        service = self.service
        if index is None:
            raise InvalidInputError("say which shot's still to redo, e.g. 'redo 3 with a lower angle'")
        if not service.keyframes_on():
            raise InvalidInputError(f"{service.backend_name} does not animate stills, so there is no storyboard "
                                    "still to redo", hint=f"change the shot instead: 'shot {index}: <new prompt>'")
        estimate = service.redo_keyframe(index, camera=CameraMove(camera) if camera else None,
                                         note=None if camera else note)
        cost = f"its new still: {estimate.text}" if estimate.to_generate else "its new still comes from the cache"
        if estimate.to_generate and service.spending.decide(estimate) == "ask" and not service.spending.auto_approve:
            return self._ask_stills([index], estimate, f"Shot {index} is changed; {cost}.")
        self._make_stills([index])
        self.reply(self._redone_text(index, cost))

    def _redone_text(self, index: int, cost: str = "") -> str:
        panel = next(p for p in self.service.storyboard_panels() if p.shot == index)
        still = self.store.root / panel.keyframe if panel.keyframe else "not made"
        return (f"Redrew shot {index}'s still" + (f" ({cost})" if cost else "") + f": {still}\n"
                f"Shot {index} now: {panel.prompt} ({panel.camera.replace('_', ' ')})\n"
                f"Only that still was made again. Say 'approve {index}' when it looks right.")

    def _narration(self, change: str, *, shot: int | None, text: str | None) -> None:
        service = self.service
        note = service.edit_narration(change, shot=shot, text=text)
        script = self.store.project.narration
        if script is None:
            said = "no voice-over now (say 'add a voice-over' to bring one back)"
        elif change == "line":
            line = script.line(shot).text
            said = f"shot {shot} now says \u201c{line}\u201d" if line else f"shot {shot} has no voice-over line now"
        else:
            lines = [f"{line.shot_index}. {line.text}" for line in script.lines if line.text]
            said = ("the voice-over is shorter:" if change == "shorter" else "a voice-over:") + "\n" + "\n".join(lines)
        self.reply(f"Done: {said}" + (f"\nIt does not fit yet: {note}." if note else "")
                   + ("\nOnly the changed lines are spoken again; " if script is not None else "\n")
                   + "say 'generate' to update the video.")


def _each(plan, values: dict, change):
    """One edit of several shots (one undo step): ``change(plan, index, value)`` for each."""
    for index, value in values.items():
        plan = change(plan, index, value)
    return plan


def _shots_text(indices: list[int]) -> str:
    return f"shot {indices[0]}" if len(indices) == 1 else "shots " + ", ".join(map(str, indices[:-1])) + \
        f" and {indices[-1]}"
