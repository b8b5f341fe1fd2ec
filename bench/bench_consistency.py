"""Consistency bench: do storyboard-first shots belong to one film better than independent text-to-video?

Run: ``.venv/bin/python bench/bench_consistency.py [--shots 4] [--smoke] [--write-readme]``

One brief with two cast members, each given a reference image made here (a portrait on a flat, distinctive
backdrop: Mara on magenta, Theo on teal), goes through the one production path (``open_session`` +
``drive_brief``) four ways:

* **offline, storyboard-first**: ``--keyframes auto`` - ``sketch`` draws a panel per shot (carrying the cast's
  references), the ``animatic`` animates each panel (image-to-video);
* **offline, t2v**: ``--keyframes off`` - the animatic's text-to-video previz cards, one per shot;
* **mock cloud, storyboard-first / t2v**: the ``runway`` backend (and its own ``runway-image`` stills) against
  the local Runway mock of tests/backends/backend_mocks, speaking Runway's real protocol.

Measured, from what was really sent and really rendered:

1. **requests** (both paths): the share of shots whose video request carries a first frame, and the share of
   still requests carrying the reference images of every cast member the brief names - read from the
   project's generation records, and for the mock also from the bodies the provider received
   (``promptImage`` on ``/v1/image_to_video``, ``referenceImages`` with ``@tags`` on ``/v1/text_to_image``).
2. **pixels** (offline path only): the frame at the middle of each shot of the final render, downscaled to
   160x90, compared with the next shot's: **SSIM** (ffmpeg's ``ssim`` filter, luma and chroma) and a
   **palette distance** (a 5-colour k-means palette of each frame in CIELAB, OpenCV; the mean CIE76 dE from
   each colour to the nearest colour of the other palette, weighted by its share, both ways). Plus the
   **cast in the picture**: the share of shots showing each named member's backdrop colour (>= 0.2 % of the
   pixels within dE 12 of it) - the reference reaching the pixels, not just the request.

   The mock cloud path has no pixel figure on purpose: the mock serves one fixed test clip (and one fixed
   test image) whatever the request holds, so its frames say nothing about consistency; only its requests do.

3. **keyframes against the references, per image backend**: the storyboard stills the project keeps
   (``Shot.keyframe``) of ``sketch``, of ``diffusers-image`` with ``--image-model DIR`` (a local diffusers
   text-to-image folder) and of the mock's ``runway-image``, scored against each member's reference: CLIP image
   cosine similarity >= ``--clip-threshold`` with ``--clip-model DIR`` (a local CLIP folder; the whole keyframe is
   the subject region: no backend records where it put the subject), else the colour/structure test (one connected
   patch of the member's backdrop colour). The table says which measure it used: backend | measure | Mara | Theo |
   both.

The last line is ``consistency storyboard X vs t2v Y``: on the offline path, the share of shots whose picture
shows every member the brief names. SSIM and palette distance are printed before it but are not the headline:
the offline text-to-video shots are previz cards drawn on one template, so their frames resemble each other for
a reason that has nothing to do with the film (see bench/README.md). ``--smoke`` runs two shots (the test
suite's run).
``--write-readme`` puts the figures under ``## Consistency`` in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository root holds the tests package (the mocks)

from shotsmith.assistant import ServiceOptions, drive_brief, open_session  # noqa: E402
from shotsmith.assistant.production.casting import add_member  # noqa: E402
from shotsmith.media.ffmpeg import ffmpeg_exe, run_ffmpeg  # noqa: E402
from shotsmith.tools.render import place_clips  # noqa: E402

from bench_render import write_readme  # noqa: E402  (a sibling script: bench/ is sys.path[0] when run)

#: Each member's reference: (backdrop RGB, face RGB, description). The backdrop is what the pixel check looks for.
CAST = {"mara": ((200, 30, 160), (240, 200, 170), "a woman with short red hair"),
        "theo": ((20, 150, 140), (150, 100, 70), "a tall man with a grey beard")}
BRIEF = "a {seconds} second ad: @mara and @theo open their coffee shop at dawn, {shots} shots"
RUNWAY_KEY = "sk-bench-runway-SECRET-000"
#: A shot shows a member when this share of its pixels is within PRESENCE_DE of the member's backdrop colour.
PRESENCE_SHARE, PRESENCE_DE = 0.002, 12.0
FRAME = (160, 90)


@dataclass
class PathResult:
    name: str
    shots: int = 0
    video_with_first_frame: int = 0
    videos: int = 0
    stills_with_all_refs: int = 0
    stills: int = 0
    wire: dict[str, int] = field(default_factory=dict)
    ssim: list[float] = field(default_factory=list)
    palette_de: list[float] = field(default_factory=list)
    presence: dict[str, float] = field(default_factory=dict)
    #: The share of shots whose picture shows every member the brief names (the headline figure).
    whole_cast: float = float("nan")
    seconds: float = 0.0
    #: The image backend that drew the keyframes (None: no keyframes), and its keyframes' absolute paths.
    image_backend: str | None = None
    keyframes: list[Path] = field(default_factory=list)

    def share(self, part: int, whole: int) -> str:
        return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"


# -- the runs --------------------------------------------------------------------------------------------------

def make_references(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (backdrop, face, _) in CAST.items():
        image = Image.new("RGB", (256, 256), backdrop)
        ImageDraw.Draw(image).ellipse((80, 50, 176, 170), fill=face)
        paths[name] = folder / f"{name}.png"
        image.save(paths[name])
    return paths


def produce(project: Path, refs: dict[str, Path], brief: str, options: ServiceOptions) -> tuple[object, float]:
    session = open_session(project, options=options, offline=True)
    try:
        for name, path in refs.items():
            add_member(session.store, name, [path], description=CAST[name][2])
        started = time.perf_counter()
        _, error = drive_brief(session, brief, None)
        if error is not None:
            raise error
        return session, time.perf_counter() - started
    finally:
        session.close()


def request_figures(result: PathResult, store) -> None:
    """From the project's generation records: what each still and each video request carried."""
    named = set(CAST)
    for record in store.project.generations.values():
        request = record.request
        mode = str(request.get("mode", ""))
        if mode.endswith("-to-video"):  # by the request's mode: the animatic's cards are stored as stills
            result.videos += 1
            result.video_with_first_frame += bool(request.get("image"))
        elif mode.endswith("-to-image"):
            result.stills += 1
            tags = {str(r.get("tag", "")).lower() for r in request.get("references") or []}
            result.stills_with_all_refs += named <= tags


def wire_figures(mock) -> dict[str, int]:
    """What the Runway mock received: creates per endpoint, and what they carried."""
    posts = [r for r in mock.log if r.method == "POST" and r.path.startswith("/v1/") and r.path != "/v1/uploads"]
    i2v = [r for r in posts if r.path == "/v1/image_to_video"]
    t2i = [r for r in posts if r.path == "/v1/text_to_image"]
    return {"text_to_video": sum(r.path == "/v1/text_to_video" for r in posts), "image_to_video": len(i2v),
            "with promptImage": sum(bool((r.body or {}).get("promptImage")) for r in i2v),
            "text_to_image": len(t2i),
            "with both @tags": sum({f"@{n}" for n in CAST} <= _tags_in(r.body or {}) for r in t2i)}


def _tags_in(body: dict) -> set[str]:
    return {f"@{str(ref.get('tag', '')).lower()}" for ref in body.get("referenceImages") or []}


# -- the pixels -------------------------------------------------------------------------------------------------

def shot_frames(store, folder: Path) -> list[Path]:
    """The frame at the middle of each shot of the final render, at 160x90."""
    timeline = store.project.timeline
    video = store.root / "renders" / "final.mp4"
    frames = []
    for placed in place_clips(timeline):
        middle = (placed.start_frame + placed.end_frame) / 2 / timeline.output.fps
        out = folder / f"shot{placed.index + 1}.png"
        run_ffmpeg(["-ss", f"{middle:.3f}", "-i", str(video), "-frames:v", "1", "-vf",
                    f"scale={FRAME[0]}:{FRAME[1]}:flags=area", str(out)])
        frames.append(out)
    return frames


def ssim(a: Path, b: Path) -> float:
    """ffmpeg's ``ssim`` filter, "All" (luma and chroma weighted) between two frames."""
    import subprocess

    with tempfile.TemporaryDirectory() as scratch:
        stats = Path(scratch) / "ssim.txt"
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(a), "-i", str(b),
                        "-lavfi", f"[0:v][1:v]ssim=stats_file={stats.name}", "-f", "null", "-"],
                       check=True, cwd=scratch)
        return float(re.search(r"All:([0-9.]+)", stats.read_text()).group(1))


def lab_pixels(path: Path) -> np.ndarray:
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def palette(path: Path, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(k CIELAB colours, their shares of the frame): OpenCV's k-means, seeded for a reproducible figure."""
    pixels = lab_pixels(path)
    cv2.setRNGSeed(7)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 0.1)
    _, labels, centres = cv2.kmeans(pixels, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    shares = np.bincount(labels.ravel(), minlength=k) / len(labels)
    return centres, shares


def palette_distance(a: Path, b: Path) -> float:
    """Mean CIE76 dE from each palette colour to the other palette's nearest, weighted by share, both ways."""
    (ca, sa), (cb, sb) = palette(a), palette(b)
    d = np.linalg.norm(ca[:, None, :] - cb[None, :, :], axis=2)
    return float((d.min(axis=1) @ sa + d.min(axis=0) @ sb) / 2)


def shows(path: Path, rgb: tuple[int, int, int]) -> bool:
    target = cv2.cvtColor(np.array([[rgb]], dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(3)
    close = np.linalg.norm(lab_pixels(path) - target, axis=1) < PRESENCE_DE
    return close.mean() >= PRESENCE_SHARE


def pixel_figures(result: PathResult, store, folder: Path) -> None:
    frames = shot_frames(store, folder)
    result.ssim = [ssim(a, b) for a, b in zip(frames, frames[1:])]
    result.palette_de = [palette_distance(a, b) for a, b in zip(frames, frames[1:])]
    seen = [{name for name in CAST if shows(f, CAST[name][0])} for f in frames]
    result.presence = {name: sum(name in s for s in seen) / len(frames) for name in CAST}
    result.whole_cast = sum(s == set(CAST) for s in seen) / len(frames)


# -- the four paths ---------------------------------------------------------------------------------------------

def keyframe_paths(session) -> list[Path]:
    """The storyboard stills the project keeps (``Shot.keyframe``, project-relative), not the video's frames."""
    return [session.store.root / shot.keyframe for shot in session.service.plan.shots if shot.keyframe]


def run_offline(name: str, keyframes: str, work: Path, refs, brief: str, resolution: str, fps: int,
                image_backend: str | None = None, pixels: bool = True) -> PathResult:
    result = PathResult(name)
    # A local model asks before its (free, but long) GPU time; the bench's running it is the yes.
    options = ServiceOptions(backend="animatic", keyframes=keyframes, resolution=resolution, fps=fps,
                             image_backend=image_backend, auto_approve=image_backend is not None)
    session, result.seconds = produce(work / name, refs, brief, options)
    result.shots = len(session.service.plan.shots)
    result.keyframes = keyframe_paths(session)
    result.image_backend = (image_backend or "sketch") if keyframes != "off" else None
    request_figures(result, session.store)
    if not pixels:
        return result
    folder = work / f"{name}-frames"
    folder.mkdir()
    pixel_figures(result, session.store, folder)
    return result


def run_mock(name: str, keyframes: str, work: Path, refs, brief: str, fps: int) -> PathResult:
    from tests.backends.backend_mocks.runway import RunwayMock

    result = PathResult(name)
    mock = RunwayMock(None, key=RUNWAY_KEY, latency=0.0).start()
    config = work / f"{name}.toml"
    fast = "poll_interval_s = 0.02\n"
    config.write_text(f'[backends.runway]\nbase_url = "{mock.url}"\n{fast}'
                      f'[backends.runway-image]\nbase_url = "{mock.url}"\n{fast}', encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("SHOTSMITH_CONFIG", "RUNWAYML_API_SECRET")}
    os.environ.update(SHOTSMITH_CONFIG=str(config), RUNWAYML_API_SECRET=RUNWAY_KEY)
    try:
        options = ServiceOptions(backend="runway", keyframes=keyframes, resolution="720p", fps=fps,
                                 auto_approve=True, max_cost_usd=50)
        session, result.seconds = produce(work / name, refs, brief, options)
        result.shots = len(session.service.plan.shots)
        result.keyframes = keyframe_paths(session)
        result.image_backend = "runway-image" if keyframes != "off" else None
        request_figures(result, session.store)
        result.wire = wire_figures(mock)
    finally:
        mock.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return result


def run_diffusers_image(work: Path, refs, brief: str, resolution: str, fps: int, model: Path) -> PathResult:
    """Storyboard-first with ``diffusers-image`` drawing the keyframes from ``model`` (a local T2I folder), two
    steps on the CPU: its keyframes are scored against the references; the animatic's render is not measured."""
    import contextlib

    config = work / "diffusers-image.toml"
    config.write_text(f'[backends.diffusers-image]\nmodel = "{model}"\nshort_side = 64\nsteps = 2\n'
                      'device = "cpu"\n', encoding="utf-8")
    saved = os.environ.get("SHOTSMITH_CONFIG")
    os.environ["SHOTSMITH_CONFIG"] = str(config)
    try:
        return run_offline("offline diffusers-image storyboard-first", "auto", work, refs, brief, resolution, fps,
                           image_backend="diffusers-image", pixels=False)
    finally:
        with contextlib.suppress(KeyError):
            del os.environ["SHOTSMITH_CONFIG"]
        if saved is not None:
            os.environ["SHOTSMITH_CONFIG"] = saved


# -- the keyframes against the references ----------------------------------------------------------------------

#: The default CLIP match threshold: a keyframe matches a member when the cosine similarity of their CLIP image
#: embeddings is at least this. Same-subject image pairs score well above it with the public CLIP ViT-B/32,
#: unrelated pairs commonly below; it is a starting point (``--clip-threshold``), not a calibrated figure.
CLIP_THRESHOLD = 0.80
COLOUR_MEASURE = "colour/structure (one connected patch of the backdrop colour, dE < 12, >= 0.2 % of the keyframe)"


@dataclass
class KeyframeScore:
    """One image backend's keyframes against the cast's references: per member, the share that match."""

    backend: str
    measure: str
    keyframes: int
    shares: dict[str, float]
    both: float


class ClipScorer:
    """CLIP image-embedding cosine similarity from a local folder (``CLIPModel`` + ``CLIPImageProcessor``).

    The subject region is the whole keyframe: the sketch draws the cast as thumbnails inside the panel and a
    generative backend places the subject where it likes, and neither records where, so there is no crop to take.
    """

    def __init__(self, folder: Path, threshold: float) -> None:
        import torch
        from transformers import CLIPImageProcessor, CLIPModel

        self.torch, self.threshold = torch, threshold
        self.model = CLIPModel.from_pretrained(str(folder)).eval()
        self.processor = CLIPImageProcessor.from_pretrained(str(folder))
        self.measure = f"CLIP image cosine >= {threshold:.2f} ({folder.name}, whole keyframe)"
        self.short = f"CLIP >= {threshold:.2f}"

    def embed(self, paths: list[Path]):
        images = [Image.open(p).convert("RGB") for p in paths]
        with self.torch.no_grad():
            pixels = self.processor(images=images, return_tensors="pt")["pixel_values"]
            features = self.model.get_image_features(pixel_values=pixels)
            if not isinstance(features, self.torch.Tensor):  # transformers 5: the projected embeddings are pooled
                features = features.pooler_output
        return self.torch.nn.functional.normalize(features, dim=-1)

    def matches(self, keyframes: list[Path], refs: dict[str, list[Path]]) -> list[set[str]]:
        frames = self.embed(keyframes)
        found: list[set[str]] = [set() for _ in keyframes]
        for name, paths in refs.items():
            best = (frames @ self.embed(paths).T).max(dim=1).values  # the closest of the member's references
            for i, similarity in enumerate(best.tolist()):
                if similarity >= self.threshold:
                    found[i].add(name)
        return found


def shows_patch(path: Path, rgb: tuple[int, int, int]) -> bool:
    """The colour test plus structure: the pixels near the backdrop colour must include one 4-connected patch of
    at least PRESENCE_SHARE of the image, as a placed reference is - scattered pixels of a noisy image are not."""
    with Image.open(path) as image:
        width, height = image.size
    target = cv2.cvtColor(np.array([[rgb]], dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(3)
    close = (np.linalg.norm(lab_pixels(path) - target, axis=1) < PRESENCE_DE).reshape(height, width)
    count, _, stats, _ = cv2.connectedComponentsWithStats(close.astype(np.uint8), connectivity=4)
    largest = stats[1:, cv2.CC_STAT_AREA].max() if count > 1 else 0
    return largest >= PRESENCE_SHARE * width * height


def colour_matches(keyframes: list[Path]) -> list[set[str]]:
    """The documented fallback: a keyframe matches a member when it holds a patch of the member's backdrop."""
    return [{name for name in CAST if shows_patch(path, CAST[name][0])} for path in keyframes]


def score_keyframes(results: list[PathResult], refs: dict[str, Path], clip: ClipScorer | None) -> list[KeyframeScore]:
    scores = []
    for r in results:
        if not r.image_backend:
            continue
        if not r.keyframes:
            raise SystemExit(f"{r.name}: the storyboard run kept no keyframes to score")
        found = clip.matches(r.keyframes, {n: [p] for n, p in refs.items()}) if clip else colour_matches(r.keyframes)
        n = len(found)
        scores.append(KeyframeScore(r.image_backend, clip.short if clip else "colour/structure", n,
                                    {name: sum(name in f for f in found) / n for name in CAST},
                                    sum(f >= set(CAST) for f in found) / n))
    return scores


def keyframe_table(scores: list[KeyframeScore]) -> str:
    rows = ["| backend | measure | Mara | Theo | both |", "|---|---|---:|---:|---:|"]
    rows += [f"| {s.backend} | {s.measure} | {s.shares['mara']:.2f} | {s.shares['theo']:.2f} | {s.both:.2f} |"
             for s in scores]
    return "\n".join(rows)


# -- report -----------------------------------------------------------------------------------------------------

def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def table(results: list[PathResult]) -> str:
    rows = ["| path | shots | video requests with a first frame | stills with both members' references | "
            "shots showing Mara / Theo / both | mean SSIM, consecutive shots | mean palette dE, consecutive shots | "
            "run s |", "|---|---:|---|---|---|---:|---:|---:|"]
    for r in results:
        pixels = r.ssim or r.palette_de
        rows.append(f"| {r.name} | {r.shots} | {r.share(r.video_with_first_frame, r.videos)} | "
                     f"{r.share(r.stills_with_all_refs, r.stills)} | "
                     + (f"{100 * r.presence['mara']:.0f} % / {100 * r.presence['theo']:.0f} % / "
                        f"{100 * r.whole_cast:.0f} %" if r.presence else "-")
                     + f" | {f'{mean(r.ssim):.3f}' if pixels else '-'} | "
                       f"{f'{mean(r.palette_de):.1f}' if pixels else '-'} | {r.seconds:.1f} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=4, help="shots in the brief (2 s each)")
    parser.add_argument("--resolution", default="360p", help="offline path's resolution")
    parser.add_argument("--fps", type=int, default=12)
    parser.add_argument("--smoke", action="store_true", help="two shots at 360p (the test suite's run)")
    parser.add_argument("--no-mock", action="store_true", help="the offline path only")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the projects and the measured frames in this folder")
    parser.add_argument("--clip-model", type=Path, metavar="DIR",
                        help="a local CLIP folder (CLIPModel + CLIPImageProcessor): score keyframes by CLIP image "
                             "similarity instead of the colour test")
    parser.add_argument("--clip-threshold", type=float, default=CLIP_THRESHOLD,
                        help=f"CLIP cosine similarity at which a keyframe matches a member (default {CLIP_THRESHOLD})")
    parser.add_argument("--image-model", type=Path, metavar="DIR",
                        help="a local diffusers text-to-image folder: also score diffusers-image's keyframes")
    args = parser.parse_args()
    if not -1.0 <= args.clip_threshold <= 1.0:
        parser.error(f"--clip-threshold {args.clip_threshold}: a cosine similarity is between -1 and 1")
    for option, folder in (("--clip-model", args.clip_model), ("--image-model", args.image_model)):
        if folder is not None and not folder.is_dir():
            parser.error(f"{option} {folder}: no such folder")
    clip = None
    if args.clip_model is not None:
        try:
            clip = ClipScorer(args.clip_model.resolve(), args.clip_threshold)
        except (OSError, ValueError) as exc:
            parser.error(f"--clip-model {args.clip_model}: not a CLIP model folder ({str(exc).splitlines()[0]})")
    if args.smoke:
        args.shots, args.resolution = 2, "360p"
    brief = BRIEF.format(seconds=2 * args.shots, shots=args.shots)
    with tempfile.TemporaryDirectory(prefix="bench-consistency-") as scratch:
        work = Path(scratch)
        if args.keep:
            work = args.keep.resolve()
            work.mkdir(parents=True, exist_ok=False)
        refs = make_references(work / "refs")
        results = [run_offline("offline storyboard-first", "auto", work, refs, brief, args.resolution, args.fps),
                   run_offline("offline t2v (--keyframes off)", "off", work, refs, brief, args.resolution, args.fps)]
        if args.image_model is not None:
            results.append(run_diffusers_image(work, refs, brief, args.resolution, args.fps, args.image_model.resolve()))
        if not args.no_mock:
            results += [run_mock("mock runway storyboard-first", "auto", work, refs, brief, args.fps),
                        run_mock("mock runway t2v (--keyframes off)", "off", work, refs, brief, args.fps)]
        scores = score_keyframes(results, refs, clip)
    text = table([r for r in results if r.image_backend != "diffusers-image"])
    print(f"brief: {brief!r}; offline at {args.resolution} {args.fps} fps; python {platform.python_version()}")
    print(text)
    for r in results:
        if r.wire:
            print(f"{r.name}: runway mock received " + ", ".join(f"{k} {v}" for k, v in r.wire.items()))
    keyframes_text = keyframe_table(scores)
    print(f"keyframes against the cast's references, measure: {clip.measure if clip else COLOUR_MEASURE}")
    print(keyframes_text)
    if args.write_readme:
        write_readme(readme_text(brief, args, results, text, keyframes_text,
                                 clip.measure if clip else COLOUR_MEASURE), heading="Consistency")
    storyboard, t2v = results[0], results[1]
    print(f"palette dE storyboard {mean(storyboard.palette_de):.1f} vs t2v {mean(t2v.palette_de):.1f}")
    print(f"ssim storyboard {mean(storyboard.ssim):.3f} vs t2v {mean(t2v.ssim):.3f}")
    print(f"consistency storyboard {storyboard.whole_cast:.2f} vs t2v {t2v.whole_cast:.2f}")
    return 0


#: How to read the keyframe table (bench/README.md).
KEYFRAME_READING = (
    "This scores the storyboard stills the project keeps (each shot's `keyframe`), not the video's frames: a row per "
    "image backend that drew them (`sketch` always; `diffusers-image` with `--image-model DIR`, a local diffusers "
    "text-to-image folder; `runway-image` from the Runway mock). Mara, Theo: the share of keyframes that match that "
    "member's reference; both: the share matching both. With `--clip-model DIR` (a local folder that "
    "`CLIPModel.from_pretrained` and `CLIPImageProcessor.from_pretrained` load) a keyframe matches a member when the "
    "cosine similarity of their CLIP image embeddings is at least `--clip-threshold` (default "
    f"{CLIP_THRESHOLD:.2f}, a starting point for the public ViT-B/32, not a calibrated figure; the best of a "
    "member's references counts). The subject region is the whole keyframe: neither the sketch nor a generative "
    "backend records where it put the subject, so there is no crop to take. Without `--clip-model` the measure is "
    "the colour/structure test: the keyframe holds one 4-connected patch of the member's reference backdrop colour "
    "(CIE76 dE < 12) covering at least 0.2 % of it, as a placed reference does; scattered pixels of that colour "
    "(the noise of a random-weight model) do not count. It can only see these bench references (flat, distinctive "
    "backdrops) and is fooled by any picture with a patch of that colour: the mock's fixed test image is a colour "
    "gradient that sweeps through teal, so it 'shows' Theo. The mock rows measure the mock, not Runway; a "
    "`diffusers-image` row from a random-weight test pipeline measures noise; a real model folder's row, "
    "scored with a real CLIP folder, is the figure to compare backends by. The bench prints which measure it used.")


def readme_text(brief: str, args, results: list[PathResult], text: str, keyframes_text: str,
                measure: str) -> str:
    wires = "\n".join(f"- {r.name}: the Runway mock received " + ", ".join(f"{k} {v}" for k, v in r.wire.items())
                      for r in results if r.wire)
    storyboard, t2v = results[0], results[1]
    missing = {name: round((1 - share) * storyboard.shots) for name, share in storyboard.presence.items()}
    cropped = ", ".join(f"{name.title()} is cut out of {n} of {storyboard.shots} shots" for name, n in missing.items()
                        if n)
    return (f"`bench/bench_consistency.py`: the brief {brief!r} with two cast members (reference images made by the "
            f"bench: a face on a magenta or teal backdrop), through the offline path (`animatic` + `sketch`) at "
            f"{args.resolution} {args.fps} fps and through the `runway` backend (and `runway-image`) against the "
            f"local Runway mock. Last run ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}):\n\n{text}\n\n"
            f"{wires}\n\n"
            f"Reading it: storyboard-first animates every shot from its own still and every still carries both "
            f"members' references, in the project's records and on the wire; text-to-video sends neither. In the "
            f"pictures the offline storyboard shows the whole cast in {100 * storyboard.whole_cast:.0f} % of the "
            f"shots and the previz cards in {100 * t2v.whole_cast:.0f} % (the bench's last line). The sketch draws "
            f"the references as thumbnails inside the part of the panel that every camera move keeps on screen for "
            f"its whole duration (`formats.steady_region`, from the render's own move geometry), in the corner of it "
            f"the figures leave clearest"
            f"{': yet here ' + cropped if cropped else ''}; before that they sat at the panel's top-right edge and "
            f"the move cut Mara out of 3 of 6 shots (01:15 run: 50 % / 100 % / 50 %). The bench measures the middle "
            f"frame of each shot; frames taken at the start and the end of every shot of the same brief (`shotsmith "
            f"run`, 360p) show both members too.\n\n"
            f"**Keyframes against the references, per image backend** (measure: {measure}"
            f"{f'; diffusers-image from the model folder {args.image_model.name!r}' if args.image_model else ''}):\n\n{keyframes_text}\n\n"
            f"{KEYFRAME_READING}\n\n"
            f"SSIM and palette distance do not answer the question and are shown for what they are: the previz cards "
            f"are one template (a gradient, a grid and text), so consecutive cards come out more alike (SSIM "
            f"{mean(t2v.ssim):.2f}) than consecutive storyboard panels, whose framing changes from wide to close-up "
            f"to insert ({mean(storyboard.ssim):.2f}); the palette distance between consecutive shots is dE "
            f"{mean(storyboard.palette_de):.1f} for the storyboard and {mean(t2v.palette_de):.1f} for the cards. They measure how alike two frames "
            f"are, not whether they show the same people. The mock serves one fixed test clip and image whatever it "
            f"is sent, so it has no pixel figure. A pixel figure for a generative model needs that model's frames (a "
            f"GPU or a provider key) and a subject-region similarity (the keyframe table with `--clip-model`, a local CLIP "
            f"folder); the table above is what this machine can run.\n\n"
            f"Reproduce: `.venv/bin/python bench/bench_consistency.py --shots {args.shots}"
            f"{' --image-model DIR' if args.image_model else ''}{' --clip-model DIR' if args.clip_model else ''} "
            f"--write-readme` "
            f"(`--keep DIR` keeps the projects and the measured frames); the suite runs `--smoke` "
            f"(`tests/assistant/test_bench_consistency.py`).\n")


if __name__ == "__main__":
    sys.exit(main())
