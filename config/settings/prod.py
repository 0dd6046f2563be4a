"""Production: every secret comes from the environment, and start-up fails without it."""

from config import env
from config.settings.base import *  # noqa: F403

SECRET_KEY = env.text("SECRET_KEY")
if len(SECRET_KEY) < 32:
    raise env.ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")

SESSION_COOKIE_SECURE = env.flag("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
