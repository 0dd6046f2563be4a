"""The embedded default: one machine, SQLite, the sandbox LBaaS, a broker in a folder."""

from config import env
from config.settings.base import *  # noqa: F403

DEBUG = env.flag("DEBUG", True)
SECRET_KEY = env.text("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")

# Static files straight from the apps (whitenoise's finders): no collectstatic step,
# with DEBUG on or off.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise expects it to exist
