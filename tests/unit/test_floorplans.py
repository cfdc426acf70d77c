"""Floor plans in the site model: images measured and checked, positions validated with the file
and line named, the demo campus's generated plans, and the map's pure builders.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
import yaml
from flask import Flask
from plotly.utils import PlotlyJSONEncoder

from dashboard import floormap
from ingest.core.floorplan import PlanError, read_plan
from ingest.core.site import Site as SiteModel
from ingest.core.site import SiteError
from ingest.core.sitefile import DEMO_SITE, load_site, load_yaml_model
from sensors_sim import floorplans

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 200"><rect width="400" height="200"/></svg>'


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def test_plans_are_measured_in_their_own_coordinates():
    assert (read_plan(SVG, "f.svg").width, read_plan(SVG, "f.svg").height) == (400, 200)
    sized = b'<svg xmlns="http://www.w3.org/2000/svg" width="640px" height="480"></svg>'
    assert (read_plan(sized, "f.SVG").width, read_plan(sized, "f.SVG").height) == (640, 480)
    assert (read_plan(png(1200, 800), "f.png").width, read_plan(png(1200, 800), "f.png").height) == (1200, 800)
    plan = read_plan(jpeg(1024, 768), "f.jpeg")
    assert (plan.media_type, plan.width, plan.height) == ("image/jpeg", 1024, 768)
    assert plan.contains(1024, 0) and not plan.contains(1025, 10) and not plan.contains(5, -1)


@pytest.mark.parametrize(("data", "name", "reason"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><script>alert(1)</script></svg>', "a.svg", "<script>"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9" onload="x()"></svg>', "a.svg", "event handlers"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:l="http://www.w3.org/1999/xlink" viewBox="0 0 9 9">'
     b'<image l:href="http://elsewhere/x.png"/></svg>', "a.svg", "link to other files"),
    (b'<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>', "a.svg", "DOCTYPE"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="5 5 9 9"></svg>', "a.svg", "start at 0 0"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "a.svg", "neither a viewBox"),
    (b"<svg", "a.svg", "not a well-formed SVG"),
    (b"<html></html>", "a.svg", "not an SVG"),
    (b"GIF89a", "a.gif", "SVG, PNG or JPEG"),
    (b"not a png", "a.png", "not a PNG"),
    (b"", "a.png", "empty"),
])
def test_an_image_that_cannot_be_a_plan_is_refused_with_its_reason(data, name, reason):
    with pytest.raises(PlanError, match=reason):
        read_plan(data, name)


SITE = """\
name: t
departments: [{id: d, name: D}]
buildings:
- id: b1
  name: B1
  use: lab
  department: d
  floors: 2
  outline: [[0, 0], [40, 0], [40, 20], [0, 20]]
  rooms:
  - id: r1
    name: R1
    use: lab
    floor: 0
    sensors:
    - {kind: smoke, count: 2, at: [[10, 10], [30, 10]]}
    - {kind: door, id: door-1}
  - id: r2
    name: R2
    use: lab
    floor: 1
    sensors:
    - {kind: smoke, id: up-1}
"""


def write_site(tmp_path: Path, extra: str = "", site: str = SITE, layout: str | None = None) -> Path:
    (tmp_path / "plans").mkdir(exist_ok=True)
    (tmp_path / "plans" / "b1-0.svg").write_bytes(SVG)
    path = tmp_path / "site.yaml"
    path.write_text(site + extra, encoding="utf-8")
    if layout is not None:
        (tmp_path / "layout.yaml").write_text(layout, encoding="utf-8")
    return path


def problems(path: Path) -> str:
    with pytest.raises(SiteError) as err:
        load_site(path)
    return str(err.value)


def test_a_site_with_plans_and_positions_loads(tmp_path):
    site = load_site(write_site(tmp_path, "plans:\n- {building: b1, floor: 0, file: plans/b1-0.svg}\n"
                                          "positions:\n  door-1: {x: 20, y: 19, zone: east}\n"))
    placed = {s.id: s.position for s in site.sensors}
    assert (placed["r1-smoke-2"].x, placed["r1-smoke-2"].y) == (30, 10)
    assert placed["door-1"].zone == "east" and placed["up-1"] is None
    assert site.plan_images[("b1", 0)].width == 400


def test_a_position_outside_its_plan_names_the_file_and_the_line(tmp_path):
    text = problems(write_site(tmp_path, "plans:\n- {building: b1, floor: 0, file: plans/b1-0.svg}\n"
                                         "positions:\n  door-1: [20, 250]\n"))
    assert "site.yaml: line 27, positions.door-1: door-1 at (20, 250) is outside its plan (0-400 × 0-200)" in text


def test_two_sensors_on_one_spot_are_refused(tmp_path):
    site = SITE.replace("at: [[10, 10], [30, 10]]", "at: [[10, 10], [10.5, 10]]")
    text = problems(write_site(tmp_path, "plans:\n- {building: b1, floor: 0, file: plans/b1-0.svg}\n", site))
    assert "line 16, buildings.0.rooms.0.sensors.0.at.1: r1-smoke-2 and r1-smoke-1 are on one spot" in text


def test_a_missing_plan_file_names_the_file_and_the_line(tmp_path):
    text = problems(write_site(tmp_path, "plans:\n- {building: b1, floor: 0, file: plans/nowhere.svg}\n"))
    assert "site.yaml: line 25, plans.0.file: cannot read plan plans/nowhere.svg" in text


def test_plan_and_position_mistakes_are_each_named(tmp_path):
    text = problems(write_site(tmp_path, "plans:\n- {building: b1, floor: 0, file: plans/b1-0.svg}\n"
                                         "- {building: b1, floor: 5, file: plans/b1-0.svg}\n"
                                         "- {building: bx, floor: 0, file: plans/b1-0.svg}\n"
                                         "positions:\n  up-1: [1, 1]\n  ghost: [2, 2]\n  r1-smoke-1: [3, 3]\n"))
    assert "line 26, plans.1.floor: floor 5 but b1 has 2 floors" in text
    assert "line 27, plans.2.building: unknown building 'bx'" in text
    assert "line 29, positions.up-1: up-1 is placed but floor 1 of b1 has no plan" in text
    assert "positions.ghost: unknown sensor 'ghost'" in text
    assert "positions.r1-smoke-1: r1-smoke-1 is placed twice" in text


def test_a_count_needs_one_position_per_sensor(tmp_path):
    site = SITE.replace("at: [[10, 10], [30, 10]]", "at: [10, 10]")
    text = problems(write_site(tmp_path, site=site))
    assert "line 16, buildings.0.rooms.0.sensors.0: 'at' gives 1 positions for 2 sensors" in text


def test_a_layout_file_holds_plans_and_positions_and_its_mistakes_name_it(tmp_path):
    layout = "plans:\n- {building: b1, floor: 0, file: plans/b1-0.svg}\npositions:\n  door-1: [20, 19]\n"
    site = load_site(write_site(tmp_path, "layout: layout.yaml\n", layout=layout))
    assert next(s for s in site.sensors if s.id == "door-1").position.y == 19
    text = problems(write_site(tmp_path, "layout: layout.yaml\n", layout=layout.replace("[20, 19]", "[20, 900]")))
    assert "layout.yaml: line 4, positions.door-1: door-1 at (20, 900) is outside its plan" in text
    text = problems(write_site(tmp_path, "layout: layout.yaml\n", layout=layout + "  door-1x: {x: 1}\n"))
    assert "layout.yaml: invalid layout file" in text and "line 5, positions.door-1x.y: Field required" in text


def test_the_demo_campus_ships_its_generated_plans_with_every_sensor_placed(tmp_path):
    site = load_site()  # every check above passes on it
    assert all(s.position for s in site.sensors)
    floors = {(s.building, s.floor) for s in site.sensors}
    assert floors <= set(site.plan_images)
    # The committed plans are what the script draws today (regenerate: safecampus sim plans).
    raw = load_yaml_model(DEMO_SITE, SiteModel, "site file")
    layout = floorplans.write(raw, DEMO_SITE, tmp_path)
    assert yaml.safe_load(layout.read_text()) == yaml.safe_load((DEMO_SITE.parent / "demo-layout.yaml").read_text())
    for plan in site.plans:
        assert (tmp_path / plan.file).read_bytes() == (DEMO_SITE.parent / plan.file).read_bytes(), plan.file


def test_building_labels_are_sized_to_fit_their_building():
    with Flask(__name__).test_request_context():
        pane = floormap.campus([
            {"id": "wide", "name": "Chemistry and Biology Lab Building",
             "outline": [[0, 0], [60, 0], [60, 30], [0, 30]]},
            {"id": "tall", "name": "学生宿舍 1 号楼", "outline": [[70, 0], [100, 0], [100, 60], [70, 60]]},
            {"id": "one", "name": "Library", "outline": [[0, 40], [30, 40], [30, 60], [0, 60]]},
        ], str, links=False)
    labels = {b.id: [s.children for s in b.children.children] for b in pane.children.children}
    assert labels == {"bldg-wide": ["Chemistry and", "Biology Lab Building"], "bldg-tall": ["学生宿舍", "1 号楼"],
                      "bldg-one": ["Library"]}  # a single word is never cut


def test_a_push_sends_only_the_devices_that_are_not_normal():
    devices = [{"id": f"s{i}", "kind": "smoke", "name": f"S{i}", "x": 10.0 * i, "y": 5.0, "state": None,
                "disabled": False, "alarm_id": None, "unacked": False} for i in range(1, 301)]
    devices[1] |= {"state": "alarm", "alarm_id": 7, "unacked": True}
    devices[2] |= {"disabled": True}
    plan = {"building_id": "b", "floor": 0, "sha256": "ab" * 32, "width": 4000.0, "height": 50.0}
    with Flask(__name__).test_request_context():
        full = floormap.floor(plan, devices, str, links=True)
        states = floormap.marker_states(devices, str)
    assert states == {"s2": ["sc-dev sc-dev-alarm sc-kind-smoke sc-dev-unacked", "S2 · smoke detector · fire / alarm",
                             "/console?alarm=7"],
                      "s3": ["sc-dev sc-dev-disabled sc-kind-smoke", "S3 · smoke detector · out of service",
                             "/sensors?q=s3"]}
    markers = full.children.children[1].children
    assert [m.href for m in markers[:3]] == ["/sensors?q=s1", "/console?alarm=7", "/sensors?q=s3"]
    # Each marker keeps its normal look for the browser to go back to (assets/floor.js).
    normal = markers[1].to_plotly_json()["props"]
    assert normal["data-base-class"] == "sc-dev sc-dev-normal sc-kind-smoke"
    assert normal["data-base-href"] == "/sensors?q=s2"
    assert len(json.dumps(states)) * 20 < len(json.dumps(full.to_plotly_json(), cls=PlotlyJSONEncoder))
    sig = floormap.signature(plan, devices)
    assert sig == floormap.signature(plan, [dict(d) for d in devices])
    assert sig != floormap.signature(plan, devices[:2])
