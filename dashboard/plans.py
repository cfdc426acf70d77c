"""Floor-plan files over HTTP: each plan image (anyone who may see the wall) and the layout export
(administrators): the plans and positions as a layout file for the site file, with the images.
"""

from __future__ import annotations

import io
import zipfile

import yaml
from flask import Flask, Response, abort, request

from dashboard import queries as q
from dashboard.auth import allowed
from dashboard.db import connection
from ingest.core.floorplan import MEDIA_TYPES

SUFFIX = {media: suffix for suffix, media in MEDIA_TYPES.items() if suffix != ".jpeg"}
LAYOUT_NAME = "layout.yaml"


def layout_zip(plans: list[dict], positions: list[dict]) -> bytes:
    """A zip of ``layout.yaml`` and ``plans/<building>-F<floor>.<suffix>``: unpack it beside the site
    file and name it there (``layout: layout.yaml``).
    """
    buf = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in plans:
            name = f"plans/{p['building_id']}-F{p['floor']}{SUFFIX[p['media_type']]}"
            z.writestr(name, bytes(p["content"]))
            entries.append({"building": p["building_id"], "floor": p["floor"], "file": name})
        body = {"plans": entries,
                "positions": {r["id"]: ([round(r["x"], 1), round(r["y"], 1)] if not r["zone"] else
                                        {"x": round(r["x"], 1), "y": round(r["y"], 1), "zone": r["zone"]})
                              for r in positions}}
        head = ("# Floor plans and device positions, exported by SafeCampus's placement tool.\n"
                "# Unpack beside the site file and name this file there: layout: layout.yaml\n")
        z.writestr(LAYOUT_NAME, head + yaml.safe_dump(body, sort_keys=False, default_flow_style=None,
                                                       allow_unicode=True, width=120))
    return buf.getvalue()


def _photo(statement: str, ident: int) -> Response:
    """A photo kept as evidence, for logged-in users; it runs and fetches nothing when opened alone."""
    if not allowed("viewer"):
        abort(401)
    with connection() as conn:
        row = conn.execute(statement, {"id": ident}).fetchone()
    if row is None:
        abort(404)
    resp = Response(bytes(row["photo"]), mimetype=row["photo_type"])
    resp.headers["Cache-Control"] = "private, max-age=3600"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


def install(server: Flask) -> None:
    """Add ``/plans/<building>/<floor>``, the evidence photos and ``/map/layout.zip`` to ``server``."""

    @server.route("/plans/<building>/<int:floor>")
    def plan_image(building: str, floor: int) -> Response:
        if not allowed("kiosk"):
            abort(401)
        with connection() as conn:
            row = conn.execute(q.MAP_PLAN_CONTENT, {"building": building, "floor": floor}).fetchone()
        if row is None:
            abort(404)
        etag = row["sha256"]
        if request.if_none_match.contains(etag):
            return Response(status=304)
        resp = Response(bytes(row["content"]), mimetype=row["media_type"])
        resp.set_etag(etag)
        # The URL names the version (?v=digest): a browser keeps it until the plan changes.
        resp.headers["Cache-Control"] = "private, max-age=86400" if request.args.get("v") else "private, no-cache"
        # Opened on its own, an uploaded SVG runs nothing and fetches nothing.
        resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        return resp

    @server.route("/dispatch-photo/<int:dispatch>")
    def dispatch_photo(dispatch: int) -> Response:
        """A guard's photo from a dispatch, for logged-in users."""
        return _photo(q.DISPATCH_PHOTO, dispatch)

    @server.route("/hazard-photo/<int:hazard>")
    def hazard_photo(hazard: int) -> Response:
        """The photo a department gave as evidence of a hazard's fix, for logged-in users."""
        return _photo(q.HAZARD_PHOTO, hazard)

    @server.route("/map/layout.zip")
    def layout_export() -> Response:
        if not allowed("admin"):
            abort(403)
        with connection() as conn:
            plans = conn.execute(q.LAYOUT_EXPORT_PLANS).fetchall()
            positions = conn.execute(q.LAYOUT_EXPORT_POSITIONS).fetchall()
        return Response(layout_zip(plans, positions), mimetype="application/zip",
                        headers={"Content-Disposition": "attachment; filename=safecampus-layout.zip"})
