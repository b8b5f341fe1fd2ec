"""The offline session: the deterministic planner and a fixed edit vocabulary, no LLM.

It answers when no language model is configured, says so on its first turn,
and drives the same :class:`ProductionService` as the agent, so spending
approval, caching, the edit model and path safety behave identically. Its
conversation is kept in ``PROJECT/.shotsmith/offline_history.json`` so ``chat``
continues after a restart.
"""

from __future__ import annotations

import json

from shotsmith.assistant.events import AssistantText, Notice
from shotsmith.assistant.planner import OFFLINE_PLANNER
from shotsmith.assistant.production.casting import add_member
from shotsmith.assistant.production.spending import Estimate
from shotsmith.assistant.sessions.base import STATE_DIR, SessionBase
from shotsmith.assistant.sessions.intents import Intent, parse_intent
from shotsmith.atomic import atomic_write_text
from shotsmith.backends.registry import get_backend
from shotsmith.errors import InvalidInputError, ShotsmithError
from shotsmith.formats import CameraMove
from shotsmith.plan_edits import edit_shot, find_shot, swap
from shotsmith.scrub import scrub

HISTORY_FILE = "offline_history.json"
HELP = ("I am the offline planner and understand: a new brief; 'make shot 2 slower/faster' (speed); "
        "'make shot 2 longer/shorter' or 'shot 2 4 seconds' (duration); 'shot 3: <new prompt>'; 'shot 2 push in'; "
        "'swap the last two' / 'swap 1 and 3'; 'move shot 4 to 1'; 'vertical for Reels' / 'square'; "
        "'use my clip beach.mp4 as the opener'; 'show plan'; 'estimate'; 'preview'; 'generate' (renders the video); "
        "'undo' / 'redo'; 'this is Mara: mara.png, a woman with red hair' (cast). "
        "Configure a model with --llm for free-form requests.")
#: Notices from the planner that mean something was changed, not just assumed.
_WARNING_WORDS = ("capped", "minimum", "longest", "shortest")


class OfflineSession(SessionBase):
    answering = OFFLINE_PLANNER

    def __init__(self, service) -> None:
        super().__init__(service)
        self._history_path = self.store.root / STATE_DIR / HISTORY_FILE
        self._history: list[tuple[str, str]] = self._load_history()
        self._pending: tuple[bool, Estimate | None] | None = None

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

    @property
    def pending_approval(self) -> bool:
        return self._pending is not None

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
        if self._pending is not None:
            intent = parse_intent(text, shot_count=0)
            if intent and intent.kind in ("approve", "decline"):
                return self._respond(intent.kind == "approve")
            raise ShotsmithError("an approval is pending; answer it first (yes or no)")
        plan = self.store.project.plan
        intent = parse_intent(text, shot_count=len(plan.shots) if plan else 0)
        if intent is not None and intent.kind == "cast":  # the cast can be given before there is a plan
            return self._act(intent)
        if plan is None or intent is None:
            if plan is not None and len(text.split()) < 6:
                return self.reply(HELP)
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
            return self.reply("There is nothing waiting for approval. " + HELP)
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
            member = add_member(self.store, a["name"], paths, description=a["description"])
            plan = self.store.project.plan
            in_shots = [s.index for s in plan.shots if member.name in s.cast] if plan else []
            return self.reply(f"{member.name} is in the cast with {len(member.images)} reference image(s)"
                              + (f"; in shot(s) {', '.join(map(str, in_shots))}" if in_shots else
                                 f"; name @{member.name} in a shot to put them in it") + ".")
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
        elif intent.kind == "speed":
            shot = find_shot(service.plan, a["index"])
            speed = round(min(4.0, max(0.25, shot.speed * a["factor"])), 2)
            service.edit(lambda p: edit_shot(p, a["index"], speed=speed))
            shot = find_shot(service.plan, a["index"])
            what = f"shot {a['index']} plays at {speed:g}x ({shot.duration_s:.2f} s on screen)"
        elif intent.kind == "duration":
            shot = find_shot(service.plan, a["index"])
            seconds = max(0.5, a.get("seconds") or round(shot.duration_s * a["factor"], 2))
            service.edit(lambda p: edit_shot(p, a["index"], duration_s=seconds))
            what = f"shot {a['index']} is now {seconds:g} s"
        elif intent.kind == "camera":
            service.edit(lambda p: edit_shot(p, a["index"], camera=CameraMove(a["camera"])))
            what = f"shot {a['index']} camera: {a['camera']}"
        elif intent.kind == "aspect":
            service.set_format(aspect_ratio=a["aspect_ratio"], method="regenerate")
            what = f"the video is now {a['aspect_ratio']}"
        else:  # pragma: no cover - parse_intent returns only the kinds above
            return self.reply(HELP)
        self.reply(f"Done: {what}. {service.estimate().text}. Say 'generate' to update the video.")

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
            if result.awaiting is None:
                break
        self.check_cancel()
        output = service.render(preview=preview)
        self.reply(f"Generated {len(result.generated)} shot(s), {len(result.cached)} from cache"
                   f" (spent {spent:.2f} USD). Wrote {output.path} "
                   f"({output.duration_s:.1f} s, {output.width}x{output.height}).")

    def _respond(self, approved: bool) -> None:
        if self._pending is None:
            raise ShotsmithError("there is no pending approval to answer")
        preview, estimate = self._pending
        self._pending = None
        if estimate is not None:
            records = self.service.spending.record(estimate, approved=approved, by="user")
            self.approval_ids.extend(r.id for r in records)
        if not approved:
            return self.reply("OK, nothing was generated and nothing was spent. Change the plan or say 'generate' again.")
        self._produce(preview=preview)
