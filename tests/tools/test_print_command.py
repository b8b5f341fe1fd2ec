"""``shotsmith render --print-command`` prints the ffmpeg commands the render really runs.

With a loudness target the render measures the mix (one sound-only pass, two when the gain needs the
limiter) and then renders with one linear gain. The printed commands are compared, argument for argument,
with the ones the real render of the same plan hands to ffmpeg (recorded at ``run_ffmpeg``), the
temporary names (the scratch folder, the output's temporary file) aside.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from shotsmith.cli import main
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.tools import render as render_module
from shotsmith.tools.editplan import dump_plan

#: A click train: loud peaks, little loudness, so the gain to the target needs the limiter (a second measurement).
CLICKS = "aevalsrc=exprs='if(lt(mod(t\\,0.5)\\,0.004)\\,0.9\\,0)':s=48000:d=2"
TONE = "sine=f=330:sample_rate=48000:d=2"


def _normalised(args: list[str], output: Path) -> list[str]:
    text = [re.sub(r"/[^ ]*?shotsmith-render-[^/ ]+", "SCRATCH", a) for a in args]
    temp = re.compile(re.escape(str(output.parent)) + r"/\." + re.escape(output.stem) + r"\.[^/]*\.part\.mp4")
    return [temp.sub(str(output), a) for a in text]


@pytest.mark.parametrize(("music", "measures"), [(TONE, 1), (CLICKS, 2)])
def test_printed_commands_are_what_the_render_runs(make_clip, tmp_path, monkeypatch, capsys, music, measures):
    folder = tmp_path / "job"
    make_clip("a.mp4", duration=1.0, size="160x120", folder=folder / "media", audio=False)
    make_clip("b.mp4", duration=1.0, size="160x120", folder=folder / "media", audio=False, source="smptebars")
    run_ffmpeg(["-f", "lavfi", "-i", music, "-c:a", "pcm_s16le", str(folder / "media" / "bed.wav")])
    (folder / "edit.yaml").write_text(dump_plan({
        "version": 1, "output": {"width": 160, "height": 120, "fps": 12, "preset": "ultrafast", "loudness_lufs": -14},
        "clips": [{"source": "media/a.mp4", "out_s": 1.0}, {"source": "media/b.mp4", "out_s": 1.0}],
        "audio": [{"source": "media/bed.wav", "role": "music"}]}))
    output = tmp_path / "out" / "cut.mp4"
    output.parent.mkdir()

    assert main(["render", str(folder / "edit.yaml"), "-o", str(output), "--print-command"]) == 0
    printed_lines = capsys.readouterr().out.splitlines()
    printed = [shlex.split(line) for line in printed_lines if not line.startswith("#")]
    assert all(argv[0] == "ffmpeg" for argv in printed) and not output.exists()  # printed, nothing rendered

    ran: list[list[str]] = []
    real = render_module.run_ffmpeg

    def recording(args, **kwargs):
        ran.append([str(a) for a in args])
        return real(args, **kwargs)

    monkeypatch.setattr(render_module, "run_ffmpeg", recording)
    assert main(["render", str(folder / "edit.yaml"), "-o", str(output)]) == 0
    assert output.is_file()

    # a limited mix is measured until it is on target: at least one pass through the limiter
    assert len(ran) == measures + 1 if measures == 1 else len(ran) >= measures + 1
    assert [_normalised(argv[1:], output) for argv in printed] == [_normalised(argv, output) for argv in ran]
    for argv in printed[:-1]:  # the measurement passes: sound only, through ebur128, nothing written
        assert "ebur128" in " ".join(argv) and argv[-3:] == ["-f", "null", "-"]
    final = " ".join(printed[-1])
    assert "loudnorm" not in final and re.search(r"volume=[+-]?[0-9.]+dB", final)  # one linear gain, no one-pass
    assert ("alimiter" in final) == (measures == 2)
    comments = [line for line in printed_lines if line.startswith("#")]
    assert len(comments) == len(ran) and "measure" in comments[0]
    assert re.search(r"render with the measured gain: [+-][0-9.]+ dB to -14 LUFS", comments[-1])


def test_without_a_loudness_target_it_is_the_one_render_command(make_clip, tmp_path, capsys):
    folder = tmp_path / "job"
    make_clip("a.mp4", duration=1.0, size="160x120", folder=folder / "media")
    (folder / "edit.yaml").write_text(dump_plan({
        "version": 1, "output": {"width": 160, "height": 120, "fps": 12, "preset": "ultrafast"},
        "clips": [{"source": "media/a.mp4", "out_s": 1.0}]}))
    assert main(["render", str(folder / "edit.yaml"), "-o", str(tmp_path / "x.mp4"), "--print-command"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# render" and len(lines) == 2 and lines[1].startswith("ffmpeg ")
    assert "ebur128" not in lines[1] and "loudnorm" not in lines[1]
