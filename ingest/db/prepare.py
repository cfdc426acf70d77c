"""Bring a database up to date: migrations, policies and the application role's grants."""

from __future__ import annotations

from ingest.core.settings import Settings
from ingest.db.migrate import migrate
from ingest.db.policies import apply_policies
from ingest.db.pool import connect
from ingest.db.roles import app_role, grant_app_role


def prepare_database(settings: Settings, db_url: str, owner_url: str | None = None) -> tuple[str, list[int]]:
    """Migrate as the owner (``owner_url``, else ``db_url``); return the mode and versions applied."""
    owner_url = owner_url or settings.db_owner_url
    mode, applied = migrate(owner_url or db_url, settings.db_mode)
    with connect(owner_url or db_url, autocommit=True) as conn:
        apply_policies(conn, mode, settings)
        role = app_role(db_url, owner_url)
        if role:
            grant_app_role(conn, role, mode)
    return mode, applied
