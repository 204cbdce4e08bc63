"""A strict look at report.html with the standard library's html.parser: nesting, tags, attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """Every element with its attributes, the document's text; fails on a tag closed out of order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []
        self.errors: list[str] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()
        if self._open:
            self.errors.append(f"never closed: {[e.tag for e in self._open]}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1].tag != tag:
            self.errors.append(f"</{tag}> closes {self._open[-1].tag if self._open else 'nothing'}")
            return
        self._open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for element in self._open:
            element.text.append(data)

    def find(self, tag: str, css: str | None = None) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and (css is None or css in e.attrs.get("class", "").split())]

    def inside(self, svg: Element, tag: str, css: str) -> int:
        """How many ``tag`` elements of class ``css`` the given <svg> holds (elements in document order)."""
        start = self.elements.index(svg)
        count = 0
        for element in self.elements[start + 1 :]:
            if element.tag == "svg":
                break
            if element.tag == tag and css in element.attrs.get("class", "").split():
                count += 1
        return count

    @property
    def all_text(self) -> str:
        return "".join(self.text)
