"""``shotsmith batch``: many briefs, one command, each through the same path as ``run``.

The end-to-end tests use the test backends (``priced-test`` bills 0.10 USD per
second, ``keyed-test`` never has its key) at 360p and 2 s per brief, so a brief
costs 0.20 USD and renders in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shotsmith.assistant.commands.batch import BatchBudget, load_briefs, run_batch
from shotsmith.cli import main
from shotsmith.errors import InvalidInputError
from shotsmith.media.probe import probe, require_video

pytestmark = pytest.mark.timeout(400)


def write_csv(path: Path, rows: list[str], header: str = "id,brief,backend,aspect,duration") -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def charge(project: Path, *usd: float) -> None:
    """A project folder whose ledger holds these committed charges."""
    project.mkdir(parents=True, exist_ok=True)
    charges = [{"cache_key": f"k{i}", "backend": "priced-test", "amount": u, "usd": u} for i, u in enumerate(usd)]
    (project / "project.json").write_text(json.dumps({"spending": {"charges": charges}}), encoding="utf-8")


# -- briefs -----------------------------------------------------------------------------------
def test_csv_columns_and_a_folder_of_briefs(tmp_path):
    csv_path = write_csv(tmp_path / "b.csv", ['en,"an ad for tea",,9:16,4', 'fr,"une pub pour du thé",animatic,,'])
    en, fr = load_briefs(csv_path)
    assert (en.id, en.aspect, en.duration, en.backend) == ("en", "9:16", 4.0, None)
    assert en.text() == "A 4 second 9:16 video: an ad for tea" and fr.text() == "une pub pour du thé"
    assert fr.backend == "animatic"
    folder = tmp_path / "briefs"
    folder.mkdir()
    (folder / "a.txt").write_text("a 3 second ad for bread\n", encoding="utf-8")
    (folder / "b.md").write_text("a 3 second ad for jam", encoding="utf-8")
    (folder / "notes.csv").write_text("ignored", encoding="utf-8")
    assert [(b.id, b.brief) for b in load_briefs(folder)] == [("a", "a 3 second ad for bread"),
                                                              ("b", "a 3 second ad for jam")]


@pytest.mark.parametrize(("rows", "header", "message"), [
    (['x,"tea",,,'], "id,brief,backend,aspect,lenght", "unknown lenght"),
    (['x,"tea",,,', 'X,"jam",,,'], None, "appears twice"),
    (['../x,"tea",,,'], None, "not a safe file name"),
    (['x,"a 20 second ad",,,5'], None, "says 20 s but the duration column says 5"),
    (['x,"a vertical ad",,16:9,'], None, "says 9:16 but the aspect column says 16:9"),
    (['x,,,,'], None, "id and brief are required"),
    (['x,"tea",,,soon'], None, "line 2"),
])
def test_bad_briefs_are_refused_before_anything_runs(tmp_path, rows, header, message):
    path = write_csv(tmp_path / "b.csv", rows, header or "id,brief,backend,aspect,duration")
    with pytest.raises(InvalidInputError, match=message):
        load_briefs(path)


# -- the budget --------------------------------------------------------------------------------
def test_the_batch_cap_is_split_so_parallel_briefs_cannot_pass_it(tmp_path):
    projects = {i: tmp_path / f"{i}.shotsmith" for i in "abcd"}
    charge(projects["d"], 0.25)  # spent by an earlier run of the batch: it counts
    budget = BatchBudget(1.0, projects, pending=3, jobs=2)
    a = budget.allowance("a")  # 0.75 left, two at a time
    b = budget.allowance("b")  # a may still spend its share
    assert a == pytest.approx(0.375) and b == pytest.approx(0.1875)
    charge(projects["a"], 0.30)
    budget.release("a")
    c = budget.allowance("c")  # the last to start: what a left, less b's outstanding share
    assert c == pytest.approx(1.0 - 0.25 - 0.30 - 0.1875)
    assert 0.25 + 0.30 + b + c <= 1.0 + 1e-9  # whatever each spends within its cap, the batch stays under
    one_at_a_time = BatchBudget(1.0, projects, pending=2, jobs=1)
    assert one_at_a_time.allowance("b") == pytest.approx(1.0 - 0.25 - 0.30)  # all that is left
    assert BatchBudget(None, projects, pending=1).allowance("a") is None


def test_an_unreadable_ledger_refuses(tmp_path):
    from shotsmith.assistant.production.spending import SpendingRefusedError

    project = tmp_path / "a.shotsmith"
    project.mkdir()
    (project / "project.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SpendingRefusedError):
        BatchBudget(1.0, {"a": project}, pending=1).allowance("a")


# -- end to end ---------------------------------------------------------------------------------
def test_a_batch_runs_every_brief_caps_the_total_and_a_rerun_finishes_only_what_is_missing(tmp_path, test_backends):
    briefs = load_briefs(write_csv(tmp_path / "b.csv", [
        'nokey,"a 2 second ad for tea",keyed-test,,',  # fails: its backend has no key
        'tea,"a 2 second ad for green tea",,,',
        'jam,"a 2 second ad for jam",,1:1,',
        'bread,"a 2 second ad for bread",,,',
    ]))
    out = tmp_path / "out"
    options = dict(backend="priced-test", resolution="360p", fps=12, yes=True)
    summary = run_batch(briefs, out, max_cost=0.5, **options)
    status = {b["id"]: b["status"] for b in summary["briefs"]}
    assert status == {"nokey": "failed", "tea": "done", "jam": "done", "bread": "refused"}  # one failure, others go on
    assert summary["spent_usd"] == pytest.approx(0.4) and summary["spent_usd"] <= 0.5
    jam = require_video(probe(out / "jam.mp4"))
    assert jam.width == jam.height  # the aspect column
    state = json.loads((out / "batch.json").read_text())
    assert {b["id"] for b in state["briefs"]} == {"nokey", "tea", "jam", "bread"}
    assert (out / "tea.json").is_file() and (out / "tea.shotsmith" / "project.json").is_file()
    jam_mtime = (out / "jam.mp4").stat().st_mtime_ns

    again = run_batch(briefs, out, max_cost=0.6, **options)  # the cap still counts what the first run spent
    status = {b["id"]: b["status"] for b in again["briefs"]}
    assert status == {"nokey": "failed", "tea": "skipped", "jam": "skipped", "bread": "done"}
    assert again["spent_usd"] == pytest.approx(0.6)
    assert (out / "jam.mp4").stat().st_mtime_ns == jam_mtime

    (out / "tea.mp4").unlink()  # as if killed after generating, before its video was written
    third = run_batch(briefs, out, max_cost=0.6, **options)
    tea = next(b for b in third["briefs"] if b["id"] == "tea")
    assert tea["status"] == "done" and tea["spent_usd"] == pytest.approx(0.2)  # its shots came from its project
    assert (out / "tea.mp4").is_file() and third["spent_usd"] == pytest.approx(0.6)


def test_the_command_reports_and_exits_with_the_failures_code(tmp_path, test_backends, capsys):
    folder = tmp_path / "briefs"
    folder.mkdir()
    (folder / "tea.txt").write_text("a 2 second ad for tea", encoding="utf-8")
    code = main(["batch", str(folder), "-o", str(tmp_path / "out"), "--backend", "priced-test", "--resolution",
                 "360p", "--fps", "12", "--executor", "local"])
    assert code == 3  # priced, no --yes: refused, nothing spent
    printed = capsys.readouterr()
    assert "tea" in printed.out and "refused" in printed.out
    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), "--executor", "slurm"]) == 2


def test_a_batch_with_the_ray_executor_starts_ray_only_for_a_shot_that_needs_the_pool(tmp_path, test_backends,
                                                                                       monkeypatch):
    """Animatic briefs need no pool: --executor ray must not join or start Ray (~18 s) for them."""
    ray = pytest.importorskip("ray")
    from shotsmith.backends.executors import ray_pool

    pools: list = []
    monkeypatch.setattr(ray_pool, "get_pool", lambda settings: pools.append(settings))
    monkeypatch.setattr(ray_pool, "connect", lambda settings: pools.append(settings))
    inits: list = []  # the shared local Ray instance may be up from another test: count joins instead
    monkeypatch.setattr(ray, "init", lambda *args, **kwargs: inits.append(kwargs))
    briefs = load_briefs(write_csv(tmp_path / "b.csv", ['tea,"a 2 second ad for tea",animatic,,',
                                                        'jam,"a 2 second ad for jam",animatic,1:1,']))
    summary = run_batch(briefs, tmp_path / "out", resolution="360p", fps=12, yes=True, executor="ray", jobs=2)
    assert {b["id"]: b["status"] for b in summary["briefs"]} == {"tea": "done", "jam": "done"}
    assert pools == [] and inits == []


def test_an_emptied_backend_cell_means_the_default_again_and_the_summary_says_which(tmp_path, test_backends):
    """A row that once said priced-test and now leaves the cell empty runs on the default (the
    config's animatic here), not on the backend its project stored from the earlier run."""
    out = tmp_path / "out"
    options = dict(resolution="360p", fps=12, yes=True)
    first = run_batch(load_briefs(write_csv(tmp_path / "a.csv", ['tea,"a 2 second ad for tea",priced-test,,'])),
                      out, **options)
    assert first["briefs"][0]["status"] == "done" and first["briefs"][0]["backend"] == "priced-test"
    second = run_batch(load_briefs(write_csv(tmp_path / "b.csv", ['tea,"a 2 second ad for tea",,,'])), out, **options)
    row = second["briefs"][0]
    assert row["status"] == "done" and row["backend"] == "animatic" and row["backend_was"] == "priced-test"
    stored = json.loads((out / "tea.shotsmith" / "project.json").read_text())
    assert stored["production"]["backend"] == "animatic"
    assert row["spent_usd"] == pytest.approx(first["briefs"][0]["spent_usd"])  # nothing more was paid
