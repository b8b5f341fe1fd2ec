"""Review of #12/#13, the small ones: money under a cent in every summary, 'shot 0', the chat's
cache wording, and the info table's word timings."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from tests.assistant._assistant_helpers import collect
from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.commands import batch
from shotsmith.assistant.events import AssistantText
from shotsmith.assistant.sessions.intents import parse_intent
from shotsmith.assistant.sessions.offline import shots_ready
from shotsmith.backends.cli import register_commands


def offline(folder):
    return open_session(folder, options=ServiceOptions(resolution="360p", fps=12, backend="animatic"), offline=True)


def replies(events) -> str:
    return " ".join(e.text for e in events if isinstance(e, AssistantText))


def test_there_is_no_shot_0_for_footage(tmp_path, make_clip):
    assert parse_intent("use my clip beach.mp4 as shot 0", shot_count=3).args["index"] == 0
    make_clip("beach.mp4", duration=2, size="320x180", folder=tmp_path / "p" / "assets")
    session = offline(tmp_path / "p")
    collect(session.send("A 4 second ad for a surf shop, 2 shots: a surfer, a wave"))
    collect(session.send("use my clip beach.mp4 as shot 0"))
    assert session.last_error is not None and "there is no shot 0" in session.last_error.message
    assert [s.source for s in session.service.plan.shots] == [None, None]  # shot 1 was replaced before


def test_the_chat_says_a_run_from_cache_generated_nothing(tmp_path):
    assert shots_ready([], [1, 2, 3, 4, 5]) == "5 shot(s) ready, all from cache (nothing generated)"
    assert shots_ready([1, 2], []) == "2 shot(s) ready, all generated"
    assert shots_ready([2], [1, 2, 3]) == "3 shot(s) ready: 1 generated, 2 from cache"
    first = offline(tmp_path / "p")
    collect(first.send("A 4 second ad for a surf shop, 2 shots: a surfer, a wave"))
    said = replies(collect(first.send("generate")))
    assert "2 shot(s) ready, all generated (spent 0.00 USD)" in said, said
    again = offline(tmp_path / "p")  # a new chat on the same project: the clips are in the cache
    collect(again.send("A 4 second ad for a surf shop, 2 shots: a surfer, a wave"))
    said = replies(collect(again.send("generate")))
    assert "2 shot(s) ready, all from cache (nothing generated)" in said, said
    assert "Generated" not in said


def test_sub_cent_spending_reads_as_money_everywhere():
    """A 0.0011 USD voice-over read 'spent 0.00 USD' in the summaries; they use the approval's formatter."""
    from tui.widgets.status_line import StatusLine

    with batch.console.capture() as captured:
        batch.print_table({"briefs": [{"id": "tea", "status": "done", "shots": 2, "spent_usd": 0.0011,
                                       "seconds": 1.0, "error": None, "output": "tea.mp4"}],
                           "counts": "1 done", "spent_usd": 0.0011, "max_cost_usd": 0.5, "seconds": 1.0})
    shown = captured.get()
    assert "0.0011 USD" in shown and "spent 0.0011 USD of 0.50 USD" in shown, shown
    line = StatusLine()
    line.spent_usd = 0.0011
    assert "spent 0.0011 USD" in line.render().plain


def test_kokoro_word_timings_read_estimated():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test root"""

    register_commands(app)
    out = CliRunner().invoke(app, ["backends", "info", "kokoro"], env={"COLUMNS": "240"}).output
    row = next(line for line in out.splitlines() if "word timings" in line)
    assert "estimated" in row and "│ no" not in row, row
