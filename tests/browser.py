"""A real headless browser for tests: Chromium dumps a page's DOM after parsing, or takes a screenshot.

Tests that need it call :func:`chromium` first, which skips the test with the
reason when no Chromium is installed (CI installs Debian's ``chromium``).
:func:`parse` turns a dumped DOM into a small element tree to query.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

TIMEOUT_SECONDS = 60
A4_AT_150_DPI = (1240, 1754)
# Headless, offline and quiet: no sandbox (CI runs as root), no GPU, and none of the background
# services that would try to reach the network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def chromium() -> str:
    """The Chromium (or Chrome) executable; skips the calling test when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless browser: install Debian's `chromium` package (apt-get install chromium) to run the HTML report tests")


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=True,
        )


def dump_dom(page: Path) -> str:
    """The DOM of ``page`` as the browser built it, serialised back to HTML."""
    return _run("--dump-dom", page.resolve().as_uri()).stdout


def screenshot(page: Path, target: Path, size: tuple[int, int] = A4_AT_150_DPI, scale: float = 1.0) -> Path:
    """A PNG of the top of ``page`` in a window of ``size`` CSS pixels (default: one A4 page at 150 dpi).

    :param scale: device pixels per CSS pixel (the PNG is ``size × scale``), for sharp text in documentation.
    """
    _run(
        f"--screenshot={target.resolve()}",
        f"--window-size={size[0]},{size[1]}",
        f"--force-device-scale-factor={scale:g}",
        page.resolve().as_uri(),
    )
    return target


@dataclass
class Element:
    """One element of a parsed DOM: its tag, attributes, children and text."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        """The text content, as the browser's ``textContent`` (no whitespace folding)."""
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def words(self) -> str:
        """The text content with runs of whitespace folded to one space."""
        return " ".join(self.text().split())

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, test: Callable[[Element], bool] = lambda e: True, **attrs: str) -> list[Element]:
        """Descendants (and self) with ``tag``, the attributes given (``data_x`` means ``data-x``) and passing ``test``."""
        wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag) and all(e.attrs.get(k) == v for k, v in wanted.items()) and test(e)
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        """The one descendant matching; fails the test when there is none or more than one."""
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag or '*'} {attrs}>, found {len(found)}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID_ELEMENTS:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(dom: str) -> Element:
    """A tree of :class:`Element` from serialised HTML (as :func:`dump_dom` returns)."""
    builder = _TreeBuilder()
    builder.feed(dom)
    builder.close()
    return builder.root


if __name__ == "__main__":
    # Regenerates documentation screenshots: python tests/browser.py PAGE.html OUT.png [WIDTH HEIGHT SCALE]
    import sys

    width, height, factor = (float(v) for v in sys.argv[3:6]) if len(sys.argv) > 3 else (*A4_AT_150_DPI, 1.0)
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]), (int(width), int(height)), factor)
