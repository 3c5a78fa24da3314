"""Which export a run takes: the path given, or the newest export in a drop folder.

A nightly run is usually pointed at a folder where each night's export
lands (``/exports/slack/2024-03-01.zip``, ``2024-03-02.zip``, ...). Such a
folder is told apart from an export that is itself a folder by its top
level: a Slack export has ``users.json`` or ``channels.json`` (or
``groups.json``, ``dms.json``, ``mpims.json``) there; a GitHub export has
JSON files there (gh output, ``pulls.json``, migration files). A folder
that is not an export but holds exports (ZIPs, tar archives, folders) is a
drop folder, and the newest of them by modification time is taken.

Nothing is remembered here: whether the picked export was loaded before is
the database's business (its fingerprint in ``raw.loads``), so picking the
same newest export again is a no-op load.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.exports import Export, open_export
from pipelines.settings import get_settings

SLACK_MARKERS = ("users.json", "channels.json", "groups.json", "dms.json", "mpims.json")
ARCHIVES = {"slack": (".zip",), "github": (".zip", ".tar.gz", ".tgz", ".tar")}
# Names of exports still being written by the tool that drops them.
UNFINISHED = (".part", ".partial", ".tmp", ".crdownload", ".download")


def is_export_folder(source: str, folder: Path) -> bool:
    """Say whether `folder` is itself an export of `source` (judged by its top level)."""
    names = {e.name for e in os.scandir(folder)}
    if source == "slack":
        return any(m in names for m in SLACK_MARKERS)
    if source == "github":
        return any(n.endswith(".json") for n in names)
    raise ValueError(f"unknown source {source!r}: expected 'slack' or 'github'")


def iter_candidates(source: str, folder: Path) -> list[tuple[float, str, Path]]:
    """Return (mtime, name, path) of every export in the drop `folder`, oldest first."""
    found = []
    for e in os.scandir(folder):
        if e.name.startswith(".") or e.name.lower().endswith(UNFINISHED):
            continue
        is_archive = e.is_file() and e.name.lower().endswith(ARCHIVES[source])
        if is_archive or e.is_dir():
            found.append((e.stat().st_mtime, e.name, Path(e.path)))
    return sorted(found)


def pick_export(source: str, path: Path) -> Path:
    """Return the export to load for `path`: itself, or the newest export of a drop folder.

    A file, a folder that is itself an export, a missing path and a folder
    with no exports in it are returned unchanged (the loader then says
    what is wrong with them). Ties in modification time go to the later name.
    """
    path = Path(path)
    if not path.is_dir() or is_export_folder(source, path):
        return path
    candidates = iter_candidates(source, path)
    return candidates[-1][2] if candidates else path


def open_source_export(source: str, path: Path) -> Export:
    """Open `path` as the loader of `source` does (a single gh JSON file is an export for GitHub)."""
    if source == "slack":
        return open_export(Path(path))
    if source == "github":
        from pipelines.sources.github import open_github_export

        return open_github_export(Path(path))
    raise ValueError(f"unknown source {source!r}: expected 'slack' or 'github'")


def fingerprint_of(source: str, export: Export) -> str:
    """Return the fingerprint the loader of `source` records in `raw.loads` for `export`.

    Every member's name, size and signature; for Slack also the channel and
    date settings, which change what a load takes. The loaders, the Prefect
    task cache and the database's "unchanged" check all use this one digest.
    """
    if source == "slack":
        from pipelines.sources.slack import settings_key

        return export.fingerprint(settings_key(get_settings()))
    return export.fingerprint()


def export_fingerprint(source: str, path: Path) -> str:
    """Return the fingerprint the loader of `source` records in `raw.loads` for `path`."""
    return fingerprint_of(source, open_source_export(source, path))


def already_loaded(database: Path, source: str, fingerprint: str) -> bool:
    """Say whether the database at `database` records a load of this export (`raw.loads`)."""
    from pipelines import db
    from pipelines.loads import find_unchanged

    if not Path(database).exists():
        return False
    con = db.connect_writer(Path(database))
    try:
        return find_unchanged(con, source, fingerprint)
    finally:
        con.close()
