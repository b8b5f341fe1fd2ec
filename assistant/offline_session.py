"""The offline ChatSession: the deterministic planner and a fixed edit vocabulary, no LLM.

It answers when no language model is configured, says so on its first turn,
and drives the same Studio as the agent, so spending approval, caching and
path safety behave identically. Its conversation is kept in
``PROJECT/.shotsmith/offline_history.json`` so ``chat`` continues after a restart.
"""

from __future__ import annotations

import json

from shotsmith.assistant.agent_tools import FootageArgs, PlanShotsArgs, Toolbox
from shotsmith.assistant.events import AssistantText, Notice
from shotsmith.assistant.intents import Intent, parse_intent
from shotsmith.assistant.plan_ops import edit_shot, set_aspect_ratio, swap
from shotsmith.assistant.planner import OFFLINE_PLANNER
from shotsmith.assistant.session import STATE_DIR, ChatSession, approval_event
from shotsmith.atomic import atomic_write_text
from shotsmith.errors import InvalidInputError, ShotsmithError
from shotsmith.formats import CameraMove

HISTORY_FILE = "offline_history.json"
HELP = ("I am the offline planner and understand: a new brief; 'make shot 2 slower/faster'; 'shot 3: <new prompt>'; "
        "'shot 2 push in'; 'swap the last two' / 'swap 1 and 3'; 'move shot 4 to 1'; 'vertical for Reels' / 'square'; "
        "'use my clip beach.mp4 as the opener'; 'show plan'; 'estimate'; 'preview'; 'generate' (renders the video). "
        "Configure a model with --llm for free-form requests.")


class OfflineSession(ChatSession):
    answering = OFFLINE_PLANNER

    def __init__(self, store, studio) -> None:
        super().__init__(store, studio)
        self.toolbox = Toolbox(studio, planner_label=OFFLINE_PLANNER)
        self._history_path = store.root / STATE_DIR / HISTORY_FILE
        self._history: list[tuple[str, str]] = self._load_history()
        self._pending: tuple[str, dict] | None = None

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
        self._history.append((role, text))
        self._history_path.parent.mkdir(exist_ok=True)
        atomic_write_text(self._history_path, json.dumps(self._history, ensure_ascii=False, indent=1) + "\n")

    def history(self) -> list[tuple[str, str]]:
        return list(self._history)

    @property
    def pending_approval(self) -> bool:
        return self._pending is not None

    def reply(self, text: str) -> None:
        self._remember("assistant", text)
        self.emit(AssistantText(text))

    # -- turns -------------------------------------------------------------------------
    def _send(self, text: str) -> None:
        self._who_notice()
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
        if plan is None or intent is None:
            if plan is not None and len(text.split()) < 6:
                return self.reply(HELP)
            return self._plan(text)
        self._act(intent)

    def _plan(self, text: str) -> None:
        result = json.loads(self.toolbox.plan_shots(PlanShotsArgs(brief=text)))
        plan = self.studio.plan
        for notice in (self.store.project.brief.notices if self.store.project.brief else []):
            self.emit(Notice(notice, level="warning" if "capped" in notice or "minimum" in notice else "info"))
        for note in result.get("backend_notes", []):
            self.emit(Notice(note, level="warning"))
        estimate = self.studio.estimate()
        self.reply(f"Planned {len(plan.shots)} shots, {plan.total_duration_s:g} s at {plan.aspect_ratio}. "
                   f"{estimate.text}. Say 'generate' to make the video, or ask for changes.")

    def _act(self, intent: Intent) -> None:
        studio = self.studio
        a = intent.args
        if intent.kind in ("approve", "decline"):
            return self.reply("There is nothing waiting for approval. " + HELP)
        if intent.kind == "show":
            return self.reply("\n".join(f"{s.index}. ({s.duration_s:g}s, {s.camera.value}) {s.prompt}"
                                        for s in studio.plan.shots))
        if intent.kind == "estimate":
            return self.reply(studio.estimate().text)
        if intent.kind == "produce":
            return self._produce(preview=False)
        if intent.kind == "preview":
            return self._produce(preview=True)
        if intent.kind == "footage":
            self.toolbox.use_footage(FootageArgs(path=a["path"], index=a["index"]))
            what = f"shot {a['index']} now uses {a['path']}"
        elif intent.kind == "swap":
            studio.set_plan(swap(studio.plan, a["a"], a["b"]))
            what = f"swapped shots {a['a']} and {a['b']}"
        elif intent.kind == "move":
            studio.set_plan(edit_shot(studio.plan, a["index"], move_to=a["to"]))
            what = f"moved shot {a['index']} to position {a['to']}"
        elif intent.kind == "prompt":
            studio.set_plan(edit_shot(studio.plan, a["index"], prompt=a["prompt"]))
            what = f"shot {a['index']} has a new prompt"
        elif intent.kind == "duration":
            shot = next((s for s in studio.plan.shots if s.index == a["index"]), None)
            if shot is None:
                raise InvalidInputError(f"there is no shot {a['index']}")
            seconds = a.get("seconds") or round(shot.duration_s * a["factor"], 2)
            studio.set_plan(edit_shot(studio.plan, a["index"], duration_s=max(0.5, seconds)))
            what = f"shot {a['index']} is now {max(0.5, seconds):g} s"
        elif intent.kind == "camera":
            studio.set_plan(edit_shot(studio.plan, a["index"], camera=CameraMove(a["camera"])))
            what = f"shot {a['index']} camera: {a['camera']}"
        elif intent.kind == "aspect":
            studio.set_plan(set_aspect_ratio(studio.plan, a["aspect_ratio"]))
            if self.store.project.brief is not None:
                studio.set_plan(studio.plan, self.store.project.brief.model_copy(update={"aspect_ratio": a["aspect_ratio"]}))
            what = f"the video is now {a['aspect_ratio']}"
        else:  # pragma: no cover - parse_intent returns only the kinds above
            return self.reply(HELP)
        self.reply(f"Done: {what}. {studio.estimate().text}. Say 'generate' to update the video.")

    def _produce(self, *, preview: bool) -> None:
        estimate = self.studio.estimate()
        if estimate.shots:
            self.studio.ensure_ready()
        self.studio.check_budget(estimate)
        if self.studio.needs_approval(estimate) and not self.studio.auto_approve:
            self._pending = ("preview" if preview else "final", {})
            self._remember("assistant", f"Approval needed: {estimate.text}")
            self.emit(approval_event(self, "offline-generate", "generate_shots", {}, f"Generate: {estimate.text}"))
            return
        if self.studio.needs_approval(estimate):
            self.studio.ledger.approvals.append({"action": "generate_shots", "amount": estimate.amount,
                                                 "unit": estimate.unit, "shots": estimate.shots, "approved": True,
                                                 "by": "--yes"})
        self._generate_and_render(preview)

    def _generate_and_render(self, preview: bool) -> None:
        result = self.studio.generate(approved=True)
        self.check_cancel()
        output = self.studio.render(None, preview=preview)
        self.reply(f"Generated {len(result['generated'])} shot(s), {len(result['cached'])} from cache"
                   f" (cost {result['cost']:.2f} {result['unit']}). Wrote {output['path']} "
                   f"({output['duration_s']:.1f} s, {output['width']}x{output['height']}).")

    def _respond(self, approved: bool) -> None:
        if self._pending is None:
            raise ShotsmithError("there is no pending approval to answer")
        kind, _ = self._pending
        self._pending = None
        estimate = self.studio.estimate()
        self.studio.ledger.approvals.append({"action": "generate_shots", "amount": estimate.amount,
                                             "unit": estimate.unit, "shots": estimate.shots, "approved": approved,
                                             "by": "user"})
        if not approved:
            return self.reply("OK, nothing was generated and nothing was spent. Change the plan or say 'generate' again.")
        self._generate_and_render(kind == "preview")
