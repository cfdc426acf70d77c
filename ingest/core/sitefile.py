"""The site file read and written: a site's YAML (and its layout file and plans) into a checked
``Site``, any other YAML file into its model, and the lines that keep an adopted device in the file.
Every problem is a ``SiteError`` naming the file, the line, the place and the reason.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ingest.core.floorplan import PlanError, PlanImage, read_plan
from ingest.core.layout import Layout, line_of
from ingest.core.site import DEFAULT_INTERVAL_S, DEFAULT_POWER, KEYED_BY, OFFLINE_AFTER_S, Site, SiteError

_M = TypeVar("_M", bound=BaseModel)


def adoption(kind: str, source: dict[str, Any] | None, metrics: list[str]) -> tuple[int, dict[str, Any]]:
    """Reporting interval and thresholds of a device an admin adopts: the metrics it has sent,
    its ecosystem's offline limit.
    """
    interval = DEFAULT_INTERVAL_S.get(kind, 60)
    thresholds: dict[str, Any] = {"metrics": metrics} if kind == "lab" else {}
    adapter = (source or {}).get("adapter")
    if adapter in OFFLINE_AFTER_S:
        limit = OFFLINE_AFTER_S[adapter][DEFAULT_POWER[adapter]]
        if limit:
            thresholds["offline_after_s"] = limit
    return interval, thresholds


def site_file_lines(sensor_id: str, kind: str, source: dict[str, Any] | None, metrics: list[str]) -> str:
    """The site-file lines (under a room's ``sensors:``) that keep an adopted device at the next load."""
    entry: dict[str, Any] = {"id": sensor_id, "kind": kind}
    if kind == "lab":
        entry["metrics"] = metrics or ["temperature_c"]  # what it has sent; say which it measures
    if source and source.get("adapter") in KEYED_BY:
        named_by = KEYED_BY[source["adapter"]]  # the device's key, as its adapter names it
        entry["source"] = {"adapter": source["adapter"], named_by: source.get("key") or source.get(named_by)} | {
            k: v for k, v in sorted(source.items()) if k not in ("adapter", "key", "raw", "topic", "device")}
    return str(yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, default_flow_style=None))


def _read_yaml(path: Path) -> tuple[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        return text, yaml.safe_load(text)
    except OSError as exc:
        raise SiteError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SiteError(f"{path.name}: not valid YAML: {exc}") from exc


def _where(text: str, loc: tuple[Any, ...]) -> str:
    line = line_of(text, loc)
    place = ".".join(str(p) for p in loc) or "(top)"
    return f"line {line}, {place}" if line else place


def _validate(path: Path, text: str, data: Any, model: type[_M], what: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path.name}: invalid {what}"]
        for err in exc.errors():
            lines.append(f"  {_where(text, tuple(err['loc']))}: {err['msg'].removeprefix('Value error, ')}")
        raise SiteError("\n".join(lines)) from None


def load_yaml_model(path: Path, model: type[_M], what: str) -> _M:
    """Read a YAML file into ``model``; SiteError naming the file, the line, the place and the reason."""
    text, data = _read_yaml(path)
    return _validate(path, text, data, model, what)


DEMO_SITE = Path(str(resources.files("sensors_sim") / "sites" / "demo.yaml"))


def load_site(path: Path | str | None = None) -> Site:
    """Read and validate a site file, its layout file and its plans; the demo campus when no path is given."""
    path = Path(path or DEMO_SITE)
    text, data = _read_yaml(path)
    layout_path, layout_text, layout_data, plans_from_layout = None, "", None, False
    if isinstance(data, dict) and isinstance(data.get("layout"), str):
        layout_path = path.parent / data["layout"]
        layout_text, layout_data = _read_yaml(layout_path)
        layout = _validate(layout_path, layout_text, layout_data or {}, Layout, "layout file")
        twice = [k for k in layout.positions if k in (data.get("positions") or {})]
        if twice or (layout.plans and data.get("plans")):
            raise SiteError(f"{path.name}: plans and positions go in the site file or in {layout_path.name}, "
                            f"not both ({', '.join(twice) or 'plans'})")
        if layout.plans:
            data["plans"], plans_from_layout = layout_data["plans"], True
        data["positions"] = {**(data.get("positions") or {}), **(layout_data or {}).get("positions", {})}
    site = _validate(path, text, data, Site, "site file")
    layout_positions = set((layout_data or {}).get("positions") or {})
    problems: list[str] = []

    def told(loc: tuple[Any, ...], message: str) -> None:
        from_layout = ((loc[0] == "plans" and plans_from_layout)
                       or (loc[0] == "positions" and loc[1] in layout_positions))
        where, file_text = (layout_path, layout_text) if from_layout and layout_path else (path, text)
        problems.append(f"  {where.name}: {_where(file_text, loc)}: {message}")

    images: dict[tuple[str, int], PlanImage] = {}
    for i, plan in enumerate(site.plans):
        plan_path = (layout_path if plans_from_layout and layout_path else path).parent / plan.file
        try:
            images[(plan.building, plan.floor)] = read_plan(plan_path.read_bytes(), plan.file)
        except OSError as exc:
            told(("plans", i, "file"), f"cannot read plan {plan.file}: {exc.strerror}")
        except PlanError as exc:
            told(("plans", i, "file"), f"plan {plan.file}: {exc}")
    for loc, message in site.layout_problems(images):
        told(loc, message)
    if problems:
        raise SiteError("\n".join([f"{path.name}: invalid plans or positions", *problems]))
    site.keep_plans(images)
    return site


def check_zone(site: Site, configured: str) -> None:
    """Campus time has one source: the site file must name the zone the settings give."""
    if site.timezone != configured:
        raise SiteError(
            f"SAFECAMPUS_SITE_TIMEZONE is {configured} but the site file {site.name!r} says {site.timezone}: "
            "set one to the other (every displayed time follows the setting)"
        )
