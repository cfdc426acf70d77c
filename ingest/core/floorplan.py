"""Floor-plan images: what kind, how large (in the plan's own coordinates), and safe to show.

Pure: bytes in, facts out. A plan is SVG (preferred: it scales), PNG or JPEG. Positions of
devices are in the plan's coordinates: an SVG's ``viewBox`` units (else its width and height),
an image's pixels, with x to the right and y down, (0, 0) the top-left corner.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree

from ingest.core.i18n import N_

MAX_PLAN_BYTES = 5 * 1024 * 1024
MEDIA_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
# What an SVG shown to every screen may not hold: scripts, event handlers, anything fetched from
# elsewhere (a plan is a drawing, nothing more).
_UNSAFE_TAGS = {"script", "foreignObject", "iframe", "embed", "object", "audio", "video"}
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$")


class PlanError(ValueError):
    """An image that cannot be a floor plan: why, as a marked template and its values (shown
    translated on the placement page, in English in a site file's error).
    """

    def __init__(self, template: str, **params: object) -> None:
        self.template, self.params = template, params
        super().__init__(template.format(**params))

    def render(self, _: Callable[[str], str]) -> str:
        """The reason in the language of ``_``."""
        return _(self.template).format(**self.params)


@dataclass(frozen=True)
class PlanImage:
    """A checked floor plan."""

    media_type: str
    data: bytes
    width: float
    height: float

    @property
    def sha256(self) -> str:
        """Its digest (names its version in URLs, so browsers cache it until it changes)."""
        return hashlib.sha256(self.data).hexdigest()

    def contains(self, x: float, y: float) -> bool:
        """True when (x, y) is on the plan."""
        return 0 <= x <= self.width and 0 <= y <= self.height


def media_type_of(name: str) -> str:
    """The media type a plan's file name says (PlanError for anything else)."""
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    if suffix not in MEDIA_TYPES:
        raise PlanError(N_("a floor plan is SVG, PNG or JPEG, not {suffix}"), suffix=suffix or "-")
    return MEDIA_TYPES[suffix]


def read_plan(data: bytes, name: str) -> PlanImage:
    """Check ``data`` (a file called ``name``) and measure it."""
    media_type = media_type_of(name)
    if not data:
        raise PlanError(N_("the file is empty"))
    if len(data) > MAX_PLAN_BYTES:
        raise PlanError(N_("the file is {size} KiB; a plan may have {most} KiB"), size=len(data) // 1024,
                        most=MAX_PLAN_BYTES // 1024)
    if media_type == "image/svg+xml":
        width, height = _svg_size(data)
    elif media_type == "image/png":
        width, height = _png_size(data)
    else:
        width, height = _jpeg_size(data)
    if width <= 0 or height <= 0:
        raise PlanError(N_("the image has no size"))
    return PlanImage(media_type, data, float(width), float(height))


def _svg_size(data: bytes) -> tuple[float, float]:
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
        raise PlanError(N_("SVG with a DOCTYPE or entities is refused"))
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise PlanError(N_("not a well-formed SVG: {error}"), error=str(exc)) from None
    if root.tag.rpartition("}")[2] != "svg":
        raise PlanError(N_("not an SVG: the document's root is not <svg>"))
    for el in root.iter():
        tag = el.tag.rpartition("}")[2]
        if tag in _UNSAFE_TAGS:
            raise PlanError(N_("an SVG plan may not contain <{tag}>"), tag=tag)
        for attr, value in el.attrib.items():
            name = attr.rpartition("}")[2].lower()
            if name.startswith("on"):
                raise PlanError(N_("an SVG plan may not contain event handlers ({name})"), name=name)
            if name == "href" and not value.startswith("#"):
                raise PlanError(N_("an SVG plan may not link to other files or pages"))
    box = root.get("viewBox")
    if box:
        parts = box.replace(",", " ").split()
        if len(parts) != 4:
            raise PlanError(N_("the SVG's viewBox {box} is not four numbers"), box=box)
        try:
            x0, y0, w, h = (float(p) for p in parts)
        except ValueError:
            raise PlanError(N_("the SVG's viewBox {box} is not four numbers"), box=box) from None
        if x0 or y0:
            raise PlanError(N_("the SVG's viewBox must start at 0 0 (positions are measured from the top-left corner)"))
        return w, h
    sizes = [_NUMBER.match(root.get(k) or "") for k in ("width", "height")]
    if sizes[0] is None or sizes[1] is None:
        raise PlanError(N_("the SVG has neither a viewBox nor a width and height in pixels"))
    return float(sizes[0].group(1)), float(sizes[1].group(1))


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise PlanError(N_("not a PNG image"))
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    if data[:2] != b"\xff\xd8":
        raise PlanError(N_("not a JPEG image"))
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 2 if marker != 0xFF else 1
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise PlanError(N_("a JPEG image without a frame header (no size)"))
