"""Photos people attach as evidence (a guard on scene, a hazard's fix): JPEG or PNG, at most 3 MB."""

from __future__ import annotations

from typing import Any

from ingest.core.i18n import N_

PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
MAX_PHOTO_BYTES = 3 * 1024 * 1024


class PhotoError(ValueError):
    """Not a photo we keep; ``template`` and ``params`` say why, for each reader's language."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template.format(**params))
        self.template, self.params = template, params


def photo_type(data: bytes) -> str:
    """The media type of a photo (JPEG or PNG), or PhotoError."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(N_("a photo may be at most {mb} MB"), mb=MAX_PHOTO_BYTES // 1048576)
    for magic, media in PHOTO_TYPES.items():
        if data.startswith(magic):
            return media
    raise PhotoError(N_("a photo must be a JPEG or PNG image"))
