"""The demo's HTML draft in headless Chromium: it renders, keeps its timeline, and prints to PDF.

The draft comes from the real collectors against moto and the PagerDuty stand-in, through
`pmdraft draft --format html -o FILE`. Chromium (Debian's ``chromium``, which `make browser`
installs where the machine allows) takes a screenshot, dumps the DOM after rendering and prints
the page to PDF; without it every test here skips. The PDF's text is read with poppler's
``pdftotext``.
"""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.request import Request, urlopen

import numpy as np
import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.sandbox import SANDBOX_TOKEN_ENV, aws, scenario
from pmdraft.sandbox.aws import MotoSandbox
from pmdraft.sandbox.pagerduty import PagerDutyStandIn

from ..conftest import TOKEN
from .test_html import Page

CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (`make browser` installs it where apt-get works)",
    ),
    pytest.mark.slow,
]

SINCE, UNTIL = "2024-01-15T14:00:00Z", "2024-01-15T15:30:00Z"
WIDTH, HEIGHT = 1200, 3000
"""The screenshot's size in CSS pixels (scale 1): wide enough for the timeline on one line a row."""

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Headless as root on a closed network: without the networking flags Chromium dials out at start."""

# The worked example's milestone rows: (time, start of the event text, milestone marks).
MILESTONE_ROWS = [
    ("14:15:00", "Deploy: v2.3.4 deployed to production (api)", "[suspect_change]"),
    ("14:32:25", "CloudWatch alarm HighErrorRate: OK -> ALARM", "[impact_started, detected]"),
    ("14:33:05", "PagerDuty #1234: paged Jane Doe", "[paged]"),
    ("14:35:10", "PagerDuty #1234 acknowledged by Jane Doe", "[acknowledged]"),
    ("14:50:00", "CloudWatch alarm HighErrorRate: ALARM -> OK", "[mitigated]"),
    ("14:57:00", "PagerDuty #1234 resolved by Jane Doe", "[resolved]"),
]


@dataclass(frozen=True)
class Rendered:
    html: Path
    screenshot: Path
    dom: str
    pdf: Path


def chromium(workdir: Path, url: str, runs: dict[str, list[str]]) -> dict[str, str]:
    """Run headless Chromium once per entry, side by side, each with its own empty profile.

    Returns each run's stdout; fails with a run's stderr if it exits non-zero or takes over a minute.
    """
    procs = {
        name: subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={workdir / ('profile-' + name)}", *args, url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in runs.items()
    }
    out = {}
    try:
        for name, proc in procs.items():
            try:
                out[name], err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                pytest.fail(f"chromium {name} took over 60 s")
            assert proc.returncode == 0, f"chromium {name} exited {proc.returncode}: {err[-2000:]}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return out


@pytest.fixture(scope="module")
def rendered(
    moto_server: MotoSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rendered]:
    """The demo draft as HTML, and what Chromium made of it: a screenshot, the DOM and a PDF."""
    work = tmp_path_factory.mktemp("browser")
    urlopen(Request(f"{moto_server.endpoint_url}/moto-api/reset", method="POST")).close()
    aws.clear_history()
    # Module-scoped, so it sets up the hermetic environment of conftest's clean_environ itself.
    with pytest.MonkeyPatch.context() as mp, PagerDutyStandIn(TOKEN) as pd:
        for key in (
            "PAGERDUTY_API_TOKEN",
            "PMDRAFT_CONFIG",
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION",
        ):
            mp.delenv(key, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_CONFIG_FILE", str(work / "no-aws-config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(work / "no-aws-credentials"))
        mp.setenv(SANDBOX_TOKEN_ENV, TOKEN)
        mp.chdir(work)
        config = scenario.seed(moto_server, pd, work, token_env=SANDBOX_TOKEN_ENV)
        html = work / "demo.html"
        result = CliRunner().invoke(
            cli,
            [
                "draft",
                "--since",
                SINCE,
                "--until",
                UNTIL,
                "--config",
                str(config),
                "--format",
                "html",
                "-o",
                str(html),
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
    aws.clear_history()
    url = html.as_uri()
    screenshot, pdf = work / "demo.png", work / "demo.pdf"
    out = chromium(
        work,
        url,
        {
            "screenshot": [
                f"--screenshot={screenshot}",
                f"--window-size={WIDTH},{HEIGHT}",
                "--hide-scrollbars",
            ],
            "dom": ["--dump-dom"],
            "pdf": [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"],
        },
    )
    yield Rendered(html, screenshot, out["dom"], pdf)


def png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to a (height, width, channels) array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    assert header is not None, "PNG without IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    assert len(raw) == height * (stride + 1), "PNG data is cut short"
    image = np.zeros((height, stride), dtype=np.uint8)
    prior = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1),
        )
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum along the row, per channel, modulo 256
            row = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(stride)
        elif kind == 2:  # Up
            row = line + prior
        else:  # Average and Paeth depend on the byte to the left: byte by byte
            out, up = bytearray(line.tobytes()), prior.tobytes()
            for i in range(stride):
                a, b = (out[i - bpp] if i >= bpp else 0), up[i]
                if kind == 3:
                    out[i] = (out[i] + ((a + b) >> 1)) & 255
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            row = np.frombuffer(bytes(out), np.uint8)
        image[y] = prior = row
    return image.reshape(height, width, bpp)


def colour_counts(pixels: np.ndarray) -> np.ndarray:
    """How many pixels have each RGB colour, indexed by 0xRRGGBB (alpha ignored)."""
    rgb = pixels[..., :3].reshape(-1, 3).astype(np.uint32)
    return np.bincount((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2], minlength=1 << 24)


def pdf_image_sizes(pdf: bytes) -> Counter[tuple[int, int]]:
    """The (width, height) of each image XObject in a PDF, read from the objects' dictionaries."""
    sizes: Counter[tuple[int, int]] = Counter()
    for body in re.findall(rb"<<((?:(?!>>).)*?/Subtype\s*/Image\b(?:(?!>>).)*)>>", pdf, re.DOTALL):
        width, height = re.search(rb"/Width (\d+)", body), re.search(rb"/Height (\d+)", body)
        if width and height:
            sizes[int(width[1]), int(height[1])] += 1
    return sizes


class Images(Page):
    """A page's timeline rows (as `Page` reads them) and its <img> elements' attributes."""

    def __init__(self, text: str) -> None:
        self.images: list[dict[str, str | None]] = []
        super().__init__(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        super().handle_starttag(tag, attrs)


def test_screenshot_shows_a_rendered_page(rendered: Rendered) -> None:
    """The screenshot is a full-size PNG of a white page with dark text on it, not a blank or one-colour image."""
    data = rendered.screenshot.read_bytes()
    assert len(data) > 50_000, (
        f"a {len(data)}-byte screenshot of a {WIDTH}x{HEIGHT} page is (nearly) blank"
    )
    pixels = png_pixels(data)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    rgb = pixels[..., :3].reshape(-1, 3)
    counts = colour_counts(pixels)
    assert np.count_nonzero(counts) > 50, (
        f"only {np.count_nonzero(counts)} colours: nothing was drawn"
    )
    assert counts.argmax() == 0xFFFFFF, f"the background is #{counts.argmax():06x}, not white"
    dark = (rgb < 100).all(axis=1).mean()
    assert 0.002 < dark < 0.2, f"{dark:.2%} of pixels are text-dark"
    top = (pixels[:120, :, :3] < 100).all(axis=2)
    assert top.any(), "no title at the top of the page"


def test_rendered_dom_has_the_demo_timeline_rows(rendered: Rendered) -> None:
    """After rendering, the DOM keeps every timeline row of the draft, sorted, with the worked example's milestones."""
    page = Images(rendered.dom)
    source = Page(rendered.html.read_text(encoding="utf-8"))
    assert page.title.startswith('Postmortem: ALARM: "HighErrorRate"')
    assert len(page.rows) >= len(MILESTONE_ROWS)
    assert page.rows == source.rows, "Chromium's DOM lost or changed timeline rows"
    times = [row[0] for row in page.rows]
    assert times == sorted(times)
    by_time = {row[0]: row[-1] for row in page.rows}
    for at, event, marks in MILESTONE_ROWS:
        assert at in by_time, f"no timeline row at {at}"
        assert by_time[at].startswith(event), by_time[at]
        assert by_time[at].endswith(marks), by_time[at]


def test_graphs_are_embedded_images_that_print(rendered: Rendered) -> None:
    """Each graph is a data-URI image with alt text (the page fetches nothing) and is on the printed PDF."""
    images = Images(rendered.dom).images
    if not images:
        pytest.skip("the demo's HTML draft has no <img> (no graphs rendered); nothing to check")
    drawn: Counter[tuple[int, int]] = Counter()
    for img in images:
        assert img.get("alt"), "an image without alt text"
        src = img.get("src") or ""
        match = re.fullmatch(r"data:image/(png|svg\+xml);base64,([A-Za-z0-9+/=\s]+)", src)
        assert match, f"not an embedded image: {src[:80]}"
        payload = base64.b64decode(match[2])
        if match[1] == "svg+xml":
            assert b"<svg" in payload[:500]
            continue
        pixels = png_pixels(payload)
        height, width = pixels.shape[:2]
        assert width >= 300 and height >= 150, f"a {width}x{height} graph"
        assert np.count_nonzero(colour_counts(pixels)) > 20, f"{img['alt']}: a blank graph"
        drawn[width, height] += 1
    printed = pdf_image_sizes(rendered.pdf.read_bytes())
    assert not drawn - printed, (
        f"graphs missing from the PDF: {dict(drawn - printed)}; printed {dict(printed)}"
    )


def test_printed_pdf_has_the_timeline_on_its_pages(rendered: Rendered) -> None:
    """The page printed to PDF has the timeline's rows in order, each page of it under the table's header."""
    data = rendered.pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip(
            "pdftotext (Debian's poppler-utils) is not installed: the PDF's text can't be read"
        )
    text = subprocess.run(
        [pdftotext, str(rendered.pdf), "-"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    pages = [" ".join(page.split()) for page in text.split("\f") if page.strip()]
    assert len(pages) >= 2
    assert any("Timeline (All times UTC)" in page for page in pages[:2])
    rows = Page(rendered.html.read_text(encoding="utf-8")).rows
    found: list[tuple[int, int]] = []
    for time, event in ((row[0], " ".join(row[-1].split())) for row in rows):
        hits = [(n, page.find(f"{time} {event[:40]}")) for n, page in enumerate(pages)]
        hits = [(n, at) for n, at in hits if at >= 0]
        assert hits, f"the timeline row at {time} is on no page"
        found.append(hits[0])
    assert found == sorted(found), "the timeline rows are out of order in the PDF"
    for n in sorted({n for n, _ in found}):
        first_row = min(at for m, at in found if m == n)
        assert "Time Event" in pages[n][:first_row], f"page {n + 1}'s timeline rows have no header"
    for at, event, _marks in MILESTONE_ROWS:
        assert any(f"{at} {event}" in page for page in pages), f"{at} {event}"
