"""What the TUI lets you see and reach: thumbnails, the help screen, palette commands, undo/redo keys,
opening the latest render, the progress panel after a restart, the input hint at 80x24."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from tests.tui._tui_fake_session import ScriptedSession, coffee_plan, plan_turn
from tests.tui._tui_pilot import SIZE, make_app, scripted, settle, type_and_send  # noqa: F401 (fixtures)
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Input, Static
from textual_image.widget import HalfcellImage

from shotsmith.assistant.events import AssistantText, Notice, PlanUpdated
from shotsmith.brief import Shot
from shotsmith.errors import ShotsmithError
from shotsmith.project import RenderRecord
from shotsmith.tui import player, thumbs
from shotsmith.tui.app import ShotsmithApp
from shotsmith.tui.keys import documented
from shotsmith.tui.screens import ApprovalScreen, ChatScreen
from shotsmith.tui.screens.chat import PLACEHOLDER, placeholder_for
from shotsmith.tui.screens.help import HelpScreen
from shotsmith.tui.widgets import ChatLog, ProgressPanel, ThumbStrip

COLOURS = [(200, 40, 40), (40, 160, 60), (40, 60, 200)]


def write_clip(path: Path, colours: list[tuple[int, int, int]], *, fps: int = 10, seconds_each: float = 1.0) -> Path:
    """A small H.264 clip showing each colour for ``seconds_each``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 36, "yuv420p"
        for colour in colours:
            frame = np.zeros((36, 64, 3), dtype=np.uint8)
            frame[:] = colour
            for _ in range(int(fps * seconds_each)):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def centre(path: Path) -> tuple[int, int, int]:
    with Image.open(path) as image:
        return image.convert("RGB").getpixel((image.width // 2, image.height // 2))


def near(actual, expected, tolerance: int = 30) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def plan_with_media(root: Path, *, keyframe: bool = False):
    """Shot 1 bound to a generated clip (red then green), shot 2 on footage (a blue still), shot 3 with nothing
    yet (or, with ``keyframe``, only a storyboard keyframe: a red still)."""
    write_clip(root / "clips" / "shot1.mp4", [COLOURS[0], COLOURS[1]])
    (root / "assets").mkdir(exist_ok=True)
    Image.new("RGB", (80, 45), COLOURS[2]).save(root / "assets" / "blue.png")
    Image.new("RGB", (80, 45), COLOURS[0]).save(root / "assets" / "key3.png")
    plan = coffee_plan()
    shots = list(plan.shots)
    shots[0] = shots[0].model_copy(update={"clip": "clips/shot1.mp4", "in_s": 1.0, "duration_s": 1.0,
                                           "clip_signature": shots[0].generation_signature()})
    shots[1] = shots[1].model_copy(update={"source": "assets/blue.png"})
    if keyframe:
        shots[2] = shots[2].model_copy(update={"keyframe": "assets/key3.png",
                                               "keyframe_signature": shots[2].generation_signature()})
    return plan.model_copy(update={"shots": shots})


# -- thumbnails ------------------------------------------------------------------------------------------
def test_a_thumbnail_is_the_frame_the_shot_shows_and_is_cached_until_the_clip_changes(tmp_path):
    plan = plan_with_media(tmp_path, keyframe=True)
    first = thumbs.thumbnail(tmp_path, plan.shots[0])
    assert first is not None and first.parent == tmp_path / ".shotsmith" / "thumbs"
    assert near(centre(first), COLOURS[1])  # the shot starts 1 s in: green, not the clip's red opening
    assert near(centre(thumbs.thumbnail(tmp_path, plan.shots[1])), COLOURS[2])  # footage that is a still
    assert near(centre(thumbs.thumbnail(tmp_path, plan.shots[2])), COLOURS[0])  # only a storyboard still so far
    assert thumbs.thumbnail(tmp_path, coffee_plan().shots[2]) is None  # nothing at all yet
    reprompted = plan.shots[0].model_copy(update={"prompt": "a different picture"})
    assert thumbs.thumbnail(tmp_path, reprompted) is None  # the old clip shows something else

    made = first.stat().st_mtime_ns
    assert thumbs.thumbnail(tmp_path, plan.shots[0]) == first and first.stat().st_mtime_ns == made  # read back

    clip = tmp_path / "clips" / "shot1.mp4"
    write_clip(clip, [COLOURS[2], COLOURS[2]])  # regenerated
    os.utime(clip, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    again = thumbs.thumbnail(tmp_path, plan.shots[0])
    assert again != first and near(centre(again), COLOURS[2])


def test_a_thumbnail_keeps_its_shape_in_cells(tmp_path):
    Image.new("RGB", (160, 90)).save(tmp_path / "wide.png")
    Image.new("RGB", (90, 160)).save(tmp_path / "tall.png")
    assert thumbs.cells_wide(tmp_path / "wide.png", 5) == 18  # cells are about twice as tall as wide
    assert thumbs.cells_wide(tmp_path / "tall.png", 5) == 6


def test_a_broken_clip_gives_no_thumbnail_instead_of_an_error(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "half.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really")
    shot = Shot(index=1, prompt="a shot", duration_s=2, clip="clips/half.mp4")
    assert thumbs.thumbnail(tmp_path, shot) is None


async def test_the_strip_shows_a_picture_per_shot_that_has_one_and_follows_the_table(make_app, settle, tmp_path):
    plan = plan_with_media(tmp_path)
    shots = list(plan.shots)
    shots[0] = shots[0].model_copy(update={"prompt": "A new picture for the opener"})
    reprompted = plan.model_copy(update={"shots": shots})
    app = make_app(ScriptedSession(turns=[[PlanUpdated(reprompted)]], plan=plan, root=tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        strip = app.screen.query_one(ThumbStrip)
        assert strip.loaded and strip.display
        tiles = strip.tiles
        assert [tile.shot.index for tile in tiles] == [1, 2, 3]
        # Half-block cells under the test Pilot (and wherever the terminal has no graphics protocol).
        assert [len(tile.query(HalfcellImage)) for tile in tiles] == [1, 1, 0]
        assert tiles[0].query_one(HalfcellImage).size.width == 18  # the 64x36 clip, drawn 5 rows high
        assert "no clip yet" in str(tiles[2].query_one(".thumb-empty", Static).content)
        assert tiles[0].has_class("-current")

        app.screen.query_one("#plan-rows", DataTable).focus()
        await pilot.press("down")
        await pilot.pause()
        assert [tile.has_class("-current") for tile in strip.tiles] == [False, True, False]

        await pilot.press("ctrl+t")
        assert not strip.display
        await pilot.press("ctrl+t")
        assert strip.display

        # A new prompt for shot 1: its old clip shows something else, so its picture goes.
        app.screen.query_one("#prompt", Input).focus()
        await type_and_send(pilot, "shot 1: a new picture for the opener")
        await settle(pilot)
        assert [len(tile.query(HalfcellImage)) for tile in strip.tiles] == [0, 1, 0]
        assert "no clip yet" in str(strip.tiles[0].query_one(".thumb-empty", Static).content)


# -- help and palette -------------------------------------------------------------------------------------
async def test_f1_and_question_mark_open_the_help_which_lists_every_key(scripted, make_app, settle):
    app = make_app(scripted())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#help-keys", Static).content)
        shown = console.export_text()
        for words in ("Ctrl+Z", "Ctrl+Y", "Ctrl+O", "Ctrl+P", "Enter", "y / n"):
            assert words in shown
        await pilot.press("escape")
        assert isinstance(app.screen, ChatScreen)

        await pilot.press("question_mark")  # the input is empty: help
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        prompt = app.screen.query_one("#prompt", Input)
        prompt.value = "why"
        prompt.cursor_position = 3
        await pilot.press("question_mark")  # in a message it is a question mark
        assert isinstance(app.screen, ChatScreen) and prompt.value == "why?"


def test_every_bound_key_is_in_the_help():
    bound = [binding for screen in (ShotsmithApp, ChatScreen, ApprovalScreen) for binding in screen.BINDINGS]
    keys = {key for binding in bound for key in binding.key.split(",")}
    missing = sorted(key for key in keys if not documented(key) and key not in ("left", "right"))  # dialog buttons
    assert not missing, f"keys without a line in the help screen: {missing}"


async def run_from_palette(pilot, name: str) -> None:
    """Open the palette, type ``name``, wait until it is the highlighted hit (the search is async), choose it."""
    await pilot.press("ctrl+p")
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*name)
    hits = pilot.app.screen.query_one(CommandList)
    for _ in range(100):
        await pilot.pause(0.05)
        if hits.option_count and hits.highlighted is not None and \
                str(hits.get_option_at_index(hits.highlighted).prompt).startswith(name):
            break
    else:
        raise AssertionError(f"the palette never offered {name!r}")
    await pilot.press("enter")


async def test_palette_commands_do_what_the_chat_would(scripted, make_app, settle):
    session = scripted(plan_turn(), [AssistantText("Rendering a preview.")], [AssistantText("Undone.")])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "a coffee ad")
        await settle(pilot)
        await run_from_palette(pilot, "preview")
        await settle(pilot)
        assert session.sent[-1] == "preview"
        assert app.get_screen("chat").query_one(ChatLog).entries[-2].has_class("user")  # shown as if typed
        await run_from_palette(pilot, "undo")
        await settle(pilot)
        assert session.sent[-1] == "undo"

        await run_from_palette(pilot, "storyboard")
        await settle(pilot)
        from shotsmith.tui.screens.storyboard import StoryboardScreen

        assert isinstance(app.screen, StoryboardScreen)  # the panel (tests/tui/test_tui_storyboard.py)
        assert session.sent == ["a coffee ad", "preview", "undo"]  # opening it sends nothing


# -- undo / redo -------------------------------------------------------------------------------------------
async def test_ctrl_z_and_ctrl_y_go_through_the_session_and_name_the_change(scripted, make_app, settle):
    undone = [PlanUpdated(coffee_plan()), AssistantText("Undone: back at change 2 (plan made (3 shots)). Clips stay "
                                                        "cached, so nothing needs paying for again.")]
    redone = [PlanUpdated(coffee_plan(speed=0.5)), AssistantText("Redone: change 3 (shot 2: speed 0.5x); now at change 3 (shot 2: speed 0.5x).")]
    session = scripted(undone, redone, [Notice("nothing to redo", level="error")], plan=coffee_plan(speed=0.5))
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#plan-rows", DataTable)
        assert "speed" in [str(c.label) for c in table.columns.values()]
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert session.sent == ["undo"]
        assert "speed" not in [str(c.label) for c in table.columns.values()]
        notes = [(n.title, n.message) for n in app._notifications]
        assert ("Undo", undone[1].text) in notes
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert session.sent == ["undo", "redo"]
        assert "speed" in [str(c.label) for c in table.columns.values()]
        assert ("Redo", redone[1].text) in [(n.title, n.message) for n in app._notifications]
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert any(e.has_class("error") and "nothing to redo" in str(e.content)
                   for e in app.screen.query_one(ChatLog).entries)


# -- opening the latest render ----------------------------------------------------------------------------
def test_the_player_is_the_desktop_default_then_mpv_or_ffplay_and_none_without_a_display():
    found = {"xdg-open": None, "mpv": "/usr/bin/mpv", "ffplay": "/usr/bin/ffplay", "open": "/usr/bin/open"}
    which = found.get
    video = Path("/p/renders/v001.mp4")
    assert player.player_command(video, environ={"DISPLAY": ":0"}, platform="linux", which=which) == \
        ["/usr/bin/mpv", str(video)]
    assert player.player_command(video, environ={}, platform="darwin", which=which) == ["/usr/bin/open", str(video)]
    assert player.player_command(video, environ={}, platform="linux", which=which) is None  # SSH, a container
    assert player.player_command(video, environ={"WAYLAND_DISPLAY": "w"}, platform="linux",
                                 which={"ffplay": "/f/ffplay"}.get)[0] == "/f/ffplay"


def render_record(root: Path, *, version: int = 3, entry: int = 4) -> RenderRecord:
    (root / "renders").mkdir(parents=True, exist_ok=True)
    (root / "renders" / f"v{version:03d}.mp4").write_bytes(b"x" * 2048)
    return RenderRecord(version=version, path=f"renders/v{version:03d}.mp4", history_entry=entry, duration_s=9.0,
                        width=1080, height=1920)


async def test_ctrl_o_plays_the_latest_render_or_says_where_it_is(make_app, settle, tmp_path, monkeypatch):
    session = ScriptedSession(plan=coffee_plan(), root=tmp_path, renders=[render_record(tmp_path)], head=4)
    started: list[list[str]] = []
    monkeypatch.setattr(player, "player_command", lambda path: ["/usr/bin/mpv", str(path)])
    monkeypatch.setattr(player, "play", lambda path, command: started.append(command))
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        assert started == [["/usr/bin/mpv", str(tmp_path / "renders" / "v003.mp4")]]

        monkeypatch.setattr(player, "player_command", lambda path: None)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert any(str(tmp_path / "renders" / "v003.mp4") in str(e.content)
                   for e in app.screen.query_one(ChatLog).entries)
        assert any(n.title == "No player here" for n in app._notifications)

        def refuse(path, command):
            raise ShotsmithError("could not start mpv: Permission denied", hint=f"the video is {path}")

        monkeypatch.setattr(player, "player_command", lambda path: ["/usr/bin/mpv", str(path)])
        monkeypatch.setattr(player, "play", refuse)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert "could not start mpv" in str(app.screen.query_one(ChatLog).entries[-1].content)

        (tmp_path / "renders" / "v003.mp4").unlink()
        await pilot.press("ctrl+o")
        assert any(n.title == "Open" and "is gone" in n.message for n in app._notifications)


async def test_in_a_browser_ctrl_o_delivers_the_render_as_a_download(make_app, settle, tmp_path, monkeypatch):
    session = ScriptedSession(plan=coffee_plan(), root=tmp_path, renders=[render_record(tmp_path)], head=4)
    app = make_app(session)
    delivered: list[tuple] = []
    monkeypatch.setattr(type(app), "is_web", property(lambda self: True))
    monkeypatch.setattr(app, "deliver_binary", lambda path, **kw: delivered.append((path, kw)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "download" in str(app.screen.query_one("#open-line", Static).render())
        await pilot.press("ctrl+o")
        assert delivered and delivered[0][0] == tmp_path / "renders" / "v003.mp4"
        assert delivered[0][1]["mime_type"] == "video/mp4"


# -- the progress panel after a restart -------------------------------------------------------------------
@pytest.mark.parametrize("head, label", [(4, "render: done (v3)"), (5, "render: out of date (v3)")])
async def test_a_restart_shows_the_projects_last_render_and_whether_it_is_current(make_app, tmp_path, head, label):
    session = ScriptedSession(plan=coffee_plan(), root=tmp_path, renders=[render_record(tmp_path)], head=head)
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ProgressPanel)
        assert str(panel.query_one("#render-label", Static).content) == label
        assert str(panel.query_one("#output-line", Static).content) == "✓ renders/v003.mp4\n  9.0 s · 2.0 kB"


# -- 80x24 --------------------------------------------------------------------------------------------------
async def test_the_input_hint_is_whole_at_80x24(scripted, make_app):
    app = make_app(scripted())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        prompt = app.screen.query_one("#prompt", Input)
        assert prompt.placeholder and "F1" in prompt.placeholder
        assert len(prompt.placeholder) < prompt.content_region.width
    assert placeholder_for(200) == PLACEHOLDER and placeholder_for(3) == ""

