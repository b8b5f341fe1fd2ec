"""``shotsmith batch``: many videos from one command (variants, locales, A/B tests).

Each brief is one ``shotsmith run``: its own project (``OUTDIR/<id>.shotsmith``)
and output (``OUTDIR/<id>.mp4``), driven through the same
:func:`~shotsmith.assistant.session_factory.open_session` and
:func:`~shotsmith.assistant.run.drive_brief` as ``run``, so there is no second
workflow to keep in step. On top of that it adds only what a batch needs:

* **Where briefs come from**: a CSV (columns below) or a folder with one
  ``.txt``/``.md`` brief per file (the id is the file name).
* **Spread**: ``--jobs N`` briefs at once (threads; each brief's generation
  goes to the engine, and with ``--executor ray`` to the shared actor pool).
* **One failure does not stop the rest**; each brief's outcome, report and
  error land in ``OUTDIR/batch.json`` and a table.
* **Reruns finish only what is missing**: a brief whose video exists and whose
  brief and options did not change is skipped; a killed one resumes in its
  project (its finished shots are cached, a cluster's finished shots fetched).
* **``--max-cost`` caps the whole batch, failing closed**: see :class:`BatchBudget`.

CSV columns: ``id`` (file-name safe, unique) and ``brief`` are required;
optional ``backend``, ``aspect`` (e.g. ``9:16``), ``duration`` (seconds),
``resolution``, ``fps``, ``seed``. An ``aspect``/``duration`` column is written
into the brief ("A 15 second 9:16 video: ...") so the planner (or model) reads
it like any brief; a brief that already states a different one is refused.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from shotsmith.assistant.commands.console import console
from shotsmith.assistant.commands.options import EXECUTOR_OPTION
from shotsmith.assistant.commands.run import BRIEF_SUFFIXES
from shotsmith.assistant.planner import parse_aspect_ratio, parse_duration
from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.production.outputs import default_project_dir
from shotsmith.assistant.production.report import write_report
from shotsmith.assistant.production.spending import SpendingRefusedError, money
from shotsmith.assistant.run import drive_brief
from shotsmith.assistant.session_factory import open_session
from shotsmith.atomic import atomic_write_text
from shotsmith.backends.executors import check_executor
from shotsmith.config import load_settings
from shotsmith.errors import CancelledError, InvalidInputError, ShotsmithError
from shotsmith.formats import ASPECT_RATIOS
from shotsmith.project import SpendingLedger

COLUMNS = ("id", "brief", "backend", "aspect", "duration", "resolution", "fps", "seed", "voice", "captions", "music")
#: Columns added later: left out of a brief's signature when empty, so a batch run before them is not redone.
LATER_COLUMNS = ("voice", "captions", "music")
STATE_FILE = "batch.json"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: How long a Ctrl-C waits for running briefs to stop (they stop at their next step).
STOP_WAIT_S = 60.0


@dataclass
class BatchBrief:
    """One row of the batch: its brief and the options it overrides."""

    id: str
    brief: str
    backend: str | None = None
    aspect: str | None = None
    duration: float | None = None
    resolution: str | None = None
    fps: int | None = None
    seed: int | None = None
    voice: str | None = None  # backend:voice, as `run --voice` (a locale's variant speaks its language)
    captions: str | None = None  # burn, srt, track or off, as `run --captions`
    music: str | None = None  # a music file or folder, as `run --music` (relative to the CSV's folder)

    def text(self) -> str:
        """The brief as planned: the aspect/duration columns written in front of it."""
        said = []
        if self.duration is not None:
            said.append(f"{self.duration:g} second")
        if self.aspect:
            said.append(self.aspect)
        return f"A {' '.join(said)} video: {self.brief}" if said else self.brief

    def signature(self, options: dict) -> str:
        fields = {k: v for k, v in asdict(self).items() if v is not None or k not in LATER_COLUMNS}
        # A cell wins over the batch option of the same name (as when the brief runs): the batch's
        # empty --backend must not hide the row's backend, or a changed cell would read as unchanged.
        said = {k: v for k, v in options.items() if fields.get(k) is None}
        blob = json.dumps({"brief": self.text(), **fields, **said}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class BriefOutcome:
    id: str
    status: str  # done, skipped, failed, refused, cancelled
    output: str
    project: str
    signature: str
    backend: str | None = None  # the backend this run used: an emptied cell shows the default it fell back to
    backend_was: str | None = None  # the backend the brief's last run used, when this run changed it
    exit_code: int = 0
    error: str | None = None
    spent_usd: float = 0.0
    cap_usd: float | None = None
    seconds: float = 0.0
    shots: int = 0


# -- reading briefs ----------------------------------------------------------------------------
def load_briefs(source: Path) -> list[BatchBrief]:
    """The briefs of a CSV file or of a folder of .txt/.md files; every problem names its row or file."""
    source = Path(source).expanduser()
    if source.is_dir():
        briefs = []
        for path in sorted(p for p in source.iterdir() if p.suffix.lower() in BRIEF_SUFFIXES and p.is_file()):
            try:
                text = path.read_text(encoding="utf-8-sig").strip()
            except UnicodeDecodeError as exc:
                raise InvalidInputError(f"brief file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                                        hint="save it as UTF-8 plain text") from exc
            except OSError as exc:
                raise InvalidInputError(f"cannot read the brief file {path}: {exc.strerror or exc}") from exc
            if not text:
                raise InvalidInputError(f"brief file {path} is empty")
            briefs.append(BatchBrief(id=path.stem, brief=text))
    elif source.is_file() and source.suffix.lower() == ".csv":
        briefs = _read_csv(source)
    else:
        raise InvalidInputError(f"{source} is neither a .csv file nor a folder of .txt/.md briefs")
    if not briefs:
        raise InvalidInputError(f"{source} holds no briefs")
    seen: set[str] = set()
    for brief in briefs:
        if not _SAFE_ID.match(brief.id):
            raise InvalidInputError(f"brief id {brief.id!r} is not a safe file name",
                                    hint="use letters, digits, '.', '_' and '-' (it names the output file)")
        if brief.id.lower() in seen:
            raise InvalidInputError(f"brief id {brief.id!r} appears twice")
        seen.add(brief.id.lower())
        _check_format(brief)
    return briefs


def _read_csv(path: Path) -> list[BatchBrief]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            unknown = [h for h in header if h not in COLUMNS]
            if unknown or "id" not in header or "brief" not in header:
                raise InvalidInputError(f"{path}: columns {', '.join(header) or '(none)'} "
                                        f"{'include unknown ' + ', '.join(unknown) if unknown else 'lack id or brief'}",
                                        hint=f"columns: {', '.join(COLUMNS)} (id and brief required)")
            rows = [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    briefs = []
    for number, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        where = f"{path.name} line {number}"
        if not row.get("id") or not row.get("brief"):
            raise InvalidInputError(f"{where}: id and brief are required")
        try:
            briefs.append(BatchBrief(id=row["id"], brief=row["brief"], backend=row.get("backend") or None,
                                     aspect=row.get("aspect") or None,
                                     duration=float(row["duration"]) if row.get("duration") else None,
                                     resolution=row.get("resolution") or None,
                                     fps=int(row["fps"]) if row.get("fps") else None,
                                     seed=int(row["seed"]) if row.get("seed") else None,
                                     voice=row.get("voice") or None, captions=(row.get("captions") or "").lower() or None,
                                     music=str((path.parent / Path(row["music"]).expanduser()).resolve())
                                     if row.get("music") and row["music"].lower() != "off" else row.get("music") or None))
        except ValueError as exc:
            raise InvalidInputError(f"{where}: {exc}") from exc
    return briefs


def _check_format(brief: BatchBrief) -> None:
    if brief.aspect is not None and brief.aspect not in ASPECT_RATIOS:
        raise InvalidInputError(f"brief {brief.id}: unknown aspect {brief.aspect}",
                                hint=f"one of {', '.join(ASPECT_RATIOS)}")
    if brief.duration is not None and not 0 < brief.duration <= 3600:
        raise InvalidInputError(f"brief {brief.id}: duration {brief.duration:g} s is out of range")
    stated = parse_duration(brief.brief)
    if brief.duration is not None and stated is not None and abs(stated - brief.duration) > 1e-6:
        raise InvalidInputError(f"brief {brief.id}: the brief says {stated:g} s but the duration column "
                                f"says {brief.duration:g}", hint="keep one of them")
    if brief.captions is not None and brief.captions not in ("burn", "srt", "track", "off"):
        raise InvalidInputError(f"brief {brief.id}: captions {brief.captions!r} is not burn, srt, track or off")
    try:
        if brief.voice:
            from shotsmith.backends.voice import resolve_voice

            resolve_voice(brief.voice)
        if brief.music and brief.music.lower() != "off":
            from shotsmith.assistant.production.music import check_source

            check_source(brief.music)
    except InvalidInputError as exc:
        raise InvalidInputError(f"brief {brief.id}: {exc.message}", hint=exc.hint) from exc
    ratio = parse_aspect_ratio(brief.brief)
    if brief.aspect and ratio and ratio != brief.aspect:
        raise InvalidInputError(f"brief {brief.id}: the brief says {ratio} but the aspect column says {brief.aspect}",
                                hint="keep one of them")


# -- the budget --------------------------------------------------------------------------------
class BatchBudget:
    """``--max-cost`` over the whole batch, failing closed.

    The ledger is each brief's own project ledger (``project.json``), so what a
    batch spent holds across reruns. Before a brief starts it is given a share:
    what is left of the cap (the cap, less everything the batch's projects have
    spent, less what briefs running right now may still spend of their
    shares), split over the briefs that may run at once (``--jobs``, or fewer
    when fewer are left to start). One at a time, each brief may use all that
    is left. That share plus what its project has already spent becomes the
    project's own ``--max-cost``, which the engine enforces at every create.
    No share is ever more than what is unreserved, so the batch cannot pass
    the cap even with briefs running in parallel; a brief that needs more than
    its share is refused (exit 3, nothing sent), and a rerun gives it what the
    others left.
    """

    def __init__(self, max_cost_usd: float | None, projects: dict[str, Path], pending: int, jobs: int = 1) -> None:
        self.max_cost_usd = max_cost_usd
        self.projects = projects
        self.pending = pending
        self.jobs = max(1, jobs)
        self._lock = threading.Lock()
        self._running: dict[str, tuple[float, float]] = {}  # id -> (spent at start, share)

    @staticmethod
    def spent(project: Path) -> float:
        try:
            data = json.loads((project / "project.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0.0
        except (OSError, ValueError) as exc:  # cannot tell what it spent: refuse rather than guess
            raise SpendingRefusedError(f"cannot read the spending ledger of {project}: {exc}") from exc
        try:
            return SpendingLedger.model_validate(data.get("spending") or {}).spent_usd
        except ValueError as exc:
            raise SpendingRefusedError(f"the spending ledger of {project} is unreadable: {exc}") from exc

    def total_spent(self) -> float:
        return sum(self.spent(p) for p in self.projects.values())

    def allowance(self, brief_id: str) -> float | None:
        """This brief's project cap (USD), or None when the batch has no cap."""
        with self._lock:
            self.pending -= 1
            if self.max_cost_usd is None:
                return None
            spent_now = {i: self.spent(self.projects[i]) for i in self._running}
            outstanding = sum(max(0.0, share - (spent_now[i] - start)) for i, (start, share) in self._running.items())
            left = max(0.0, self.max_cost_usd - self.total_spent() - outstanding)
            share = left / min(self.jobs, self.pending + 1)
            mine = self.spent(self.projects[brief_id])
            self._running[brief_id] = (mine, share)
            return round(mine + share, 6)

    def release(self, brief_id: str) -> None:
        with self._lock:
            self._running.pop(brief_id, None)


# -- running -----------------------------------------------------------------------------------
def _previous_state(outdir: Path) -> dict[str, dict]:
    try:
        data = json.loads((outdir / STATE_FILE).read_text(encoding="utf-8"))
        return {b["id"]: b for b in data.get("briefs", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _run_one(brief: BatchBrief, outdir: Path, common: dict, budget: BatchBudget, llm: str | None,
             llm_base_url: str | None, sessions: dict, stop: threading.Event) -> BriefOutcome:
    output = (outdir / f"{brief.id}.mp4").resolve()
    project = default_project_dir(output)
    outcome = BriefOutcome(id=brief.id, status="failed", output=str(output), project=str(project),
                           signature=brief.signature({**common, "llm": llm}))
    started = time.perf_counter()
    if stop.is_set():
        outcome.status, outcome.error, outcome.exit_code = "cancelled", "the batch was cancelled", 130
        budget.pending -= 1
        return outcome
    try:
        cap = budget.allowance(brief.id)
        outcome.cap_usd = cap
        # An empty cell means the batch's --backend or the config's default, never the backend the
        # brief's project stored from an earlier run (a row that once said runway would stay runway).
        outcome.backend = brief.backend or common["backend"] or load_settings().backend
        options = ServiceOptions(backend=outcome.backend,
                                 resolution=brief.resolution or common["resolution"], fps=brief.fps or common["fps"],
                                 seed=brief.seed if brief.seed is not None else common["seed"], max_cost_usd=cap,
                                 auto_approve=common["yes"], outputs=(output,), executor=common["executor"],
                                 voice=brief.voice, captions=brief.captions, music=brief.music)
        session = open_session(project, options=options, llm=llm, llm_base_url=llm_base_url)
        sessions[brief.id] = session
        try:
            report, error = drive_brief(session, brief.text(), output, confirm=None)
        finally:
            sessions.pop(brief.id, None)
            session.close()
        write_report(report, outdir / f"{brief.id}.json")
        outcome.shots = len(report.shots)
        if error is None:
            outcome.status = "done"
        else:
            outcome.exit_code, outcome.error = error.exit_code, report.error
            outcome.status = ("refused" if isinstance(error, SpendingRefusedError)
                              else "cancelled" if isinstance(error, CancelledError) else "failed")
    except ShotsmithError as exc:
        outcome.exit_code = exc.exit_code
        outcome.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
        outcome.status = "refused" if isinstance(exc, SpendingRefusedError) else "failed"
    except Exception as exc:  # one brief's bug must not stop the others; it is reported as that brief's
        outcome.exit_code, outcome.error = 1, f"{type(exc).__name__}: {exc}"
    finally:
        budget.release(brief.id)
    outcome.spent_usd = round(BatchBudget.spent(project), 6)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def run_batch(briefs: list[BatchBrief], outdir: Path, *, backend: str | None = None, resolution: str | None = None,
              fps: int | None = None, seed: int | None = None, yes: bool = False, max_cost: float | None = None,
              executor: str | None = None, jobs: int = 1, llm: str | None = None, llm_base_url: str | None = None,
              on_outcome=None) -> dict:
    """Run every brief not already finished; returns the summary written to ``OUTDIR/batch.json``."""
    outdir = Path(outdir).expanduser().resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    common = {"backend": backend, "resolution": resolution, "fps": fps, "seed": seed, "yes": yes,
              "executor": executor}
    if executor is not None:  # an unknown executor, or ray not installed: a usage error before any brief
        check_executor(executor)
    # Ray itself is joined (or started, ~18 s) lazily by the first shot that needs the pool
    # (ray_pool.get_pool, under its lock): a batch of cloud or animatic briefs never starts it.
    previous = _previous_state(outdir)
    projects = {b.id: default_project_dir(outdir / f"{b.id}.mp4") for b in briefs}
    outcomes: dict[str, BriefOutcome] = {}
    todo = []
    for brief in briefs:
        signature = brief.signature({**common, "llm": llm})
        before = previous.get(brief.id, {})
        output = outdir / f"{brief.id}.mp4"
        if before.get("status") in ("done", "skipped") and before.get("signature") == signature and output.is_file():
            outcomes[brief.id] = BriefOutcome(id=brief.id, status="skipped", output=str(output),
                                              project=str(projects[brief.id]), signature=signature,
                                              backend=before.get("backend"),
                                              spent_usd=BatchBudget.spent(projects[brief.id]),
                                              shots=int(before.get("shots") or 0))
        else:
            todo.append(brief)
    budget = BatchBudget(max_cost, projects, pending=len(todo), jobs=jobs)
    sessions: dict = {}
    stop = threading.Event()
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="shotsmith-batch")
    futures = {pool.submit(_run_one, b, outdir, common, budget, llm, llm_base_url, sessions, stop): b for b in todo}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5)
            for future in done:
                outcome = future.result()
                was = previous.get(outcome.id, {}).get("backend")
                if was and outcome.backend and was != outcome.backend:
                    outcome.backend_was = was
                outcomes[outcome.id] = outcome
                _write_state(outdir, briefs, outcomes, max_cost, started)
                if on_outcome:
                    on_outcome(outcome)
    except BaseException:  # Ctrl-C: stop every running brief at its next step, start no new one
        stop.set()
        for session in list(sessions.values()):
            session.cancel()
        wait(futures, timeout=STOP_WAIT_S)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for future, brief in futures.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                outcomes.setdefault(brief.id, future.result())
        _write_state(outdir, briefs, outcomes, max_cost, started)
    return _summary(briefs, outcomes, max_cost, started)


def _summary(briefs: list[BatchBrief], outcomes: dict[str, BriefOutcome], max_cost: float | None,
             started: float) -> dict:
    rows = [asdict(outcomes[b.id]) for b in briefs if b.id in outcomes]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {"briefs": rows, "counts": counts, "spent_usd": round(sum(r["spent_usd"] for r in rows), 6),
            "max_cost_usd": max_cost, "seconds": round(time.perf_counter() - started, 3)}


def _write_state(outdir: Path, briefs: list[BatchBrief], outcomes: dict[str, BriefOutcome], max_cost: float | None,
                 started: float) -> None:
    atomic_write_text(outdir / STATE_FILE, json.dumps(_summary(briefs, outcomes, max_cost, started), indent=2) + "\n")


# -- the command -------------------------------------------------------------------------------
def batch_command(
    source: Path = typer.Argument(..., help="A CSV of briefs (columns: id, brief; optional backend, aspect, duration, "
                                            "resolution, fps, seed) or a folder of .txt/.md briefs."),
    outdir: Path = typer.Option(..., "--output", "-o", help="Folder for the videos (<id>.mp4), their projects "
                                                            "(<id>.shotsmith), reports and batch.json."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Generation backend (a CSV column wins)."),
    resolution: str | None = typer.Option(None, "--resolution", "-r", help="360p, 480p, 540p, 720p, 1080p."),
    fps: int | None = typer.Option(None, "--fps", help="Frames per second."),
    seed: int | None = typer.Option(None, "--seed", help="Base seed for backends that take one."),
    executor: str | None = EXECUTOR_OPTION,
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Briefs at once (default 1; 4 with --executor ray)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve generation that costs money or long GPU time."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Never let the whole batch's spending pass this "
                                                                   "many USD (counted across reruns)."),
    llm: str | None = typer.Option(None, "--llm", help="Plan with a model (provider:model)."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL."),
) -> None:
    """Make one video per brief; a rerun finishes only what is missing."""
    if max_cost is not None and max_cost < 0:
        raise InvalidInputError(f"--max-cost {max_cost:g} is negative")
    if jobs is not None and not 1 <= jobs <= 256:
        raise InvalidInputError(f"--jobs {jobs} is out of range (1 to 256)")
    briefs = load_briefs(source)
    if outdir.exists() and not outdir.is_dir():
        raise InvalidInputError(f"--output {outdir} is a file; give a folder")
    console.print(f"• {len(briefs)} brief(s) → {outdir}", markup=False)

    def announce(outcome: BriefOutcome) -> None:
        mark = {"done": "✓", "skipped": "="}.get(outcome.status, "✗")
        console.print(f"{mark} {outcome.id}: {outcome.status}"
                      + (f" · {outcome.error}" if outcome.error else f" · {outcome.output}"), markup=False,
                      soft_wrap=True)

    summary = run_batch(briefs, outdir, backend=backend, resolution=resolution, fps=fps, seed=seed, yes=yes,
                        max_cost=max_cost, executor=executor, jobs=jobs or (4 if executor == "ray" else 1),
                        llm=llm, llm_base_url=llm_base_url, on_outcome=announce)
    print_table(summary)
    console.print(f"report: {Path(outdir) / STATE_FILE}", markup=False)
    failed = [b for b in summary["briefs"] if b["status"] not in ("done", "skipped")]
    if failed:
        codes = {b["exit_code"] for b in failed}
        error_class = SpendingRefusedError if codes == {3} else CancelledError if codes == {130} else ShotsmithError
        raise error_class(f"{len(failed)} of {len(briefs)} briefs did not finish: "
                          + ", ".join(b["id"] for b in failed),
                          hint="see batch.json; run the same command again to finish only those")


def print_table(summary: dict) -> None:
    table = Table(title="batch", show_lines=False)
    for column in ("id", "status", "backend", "shots", "spent", "seconds", "output / error"):
        table.add_column(column, overflow="fold")
    for row in summary["briefs"]:
        backend = (row.get("backend") or "—") + (f" (was {row['backend_was']})" if row.get("backend_was") else "")
        table.add_row(Text(row["id"]), row["status"], Text(backend), str(row["shots"]), money(row["spent_usd"]),  # plain
                      f"{row['seconds']:.1f}", Text(row["error"] or row["output"]))  # text: an error may name '[secrets]'
    console.print(table)
    cap = summary["max_cost_usd"]
    console.print(f"{summary['counts']} · spent {money(summary['spent_usd'])}"
                  + (f" of {money(cap)}" if cap is not None else "") + f" · {summary['seconds']:.1f} s", markup=False)
