"""The embedded default: one machine, SQLite, the sandbox LBaaS, a broker in a folder."""

from config import env
from config.settings.base import *  # noqa: F403
from portal.security import DEV_SECRET_KEY

DEBUG = env.flag("DEBUG", False)  # an opt-in: its error pages show the code and the URL patterns
SECRET_KEY = env.text("SECRET_KEY", DEV_SECRET_KEY)

# Static files straight from the apps (whitenoise's finders): no collectstatic step,
# with DEBUG on or off.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise expects it to exist

# The HAProxy demo (README) balances between backends on 127.0.0.1.
ALLOW_LOOPBACK_BACKENDS = env.flag("ALLOW_LOOPBACK_BACKENDS", True)

# E-mails (notifications) are printed on the console unless EMAIL_BACKEND says otherwise.
EMAIL_BACKEND = "django.core.mail.backends.{}.EmailBackend".format(
    env.choice("EMAIL_BACKEND", "console", ["smtp", "console", "locmem", "dummy"])
)
