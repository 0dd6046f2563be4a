"""What every benchmark does first: its own var folder (a throw-away one unless
PORTAL_VAR_DIR is set), the embedded default's settings with DEBUG off, Django set up
and the database migrated."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def var_dir(prefix: str) -> tuple[Path, bool]:
    """The folder the portal keeps its files in, and whether it is a throw-away one."""
    throw_away = "PORTAL_VAR_DIR" not in os.environ
    folder = Path(os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix=prefix)))
    (folder / "static").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ.setdefault("DEBUG", "false")
    return folder, throw_away


def django_ready() -> None:
    """Django set up, the test client allowed in, the database migrated."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
