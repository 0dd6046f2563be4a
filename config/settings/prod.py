"""Production: every secret comes from the environment, and start-up fails without it,
or with anything that is fine on a laptop but not on the internet."""

from config import env
from config.settings.base import *  # noqa: F403
from config.settings.base import DEBUG
from portal.security import PUBLISHED_SECRET_KEYS

SECRET_KEY = env.secret_key("SECRET_KEY", published=PUBLISHED_SECRET_KEYS)
if DEBUG:
    raise env.ImproperlyConfigured(
        "DEBUG must be off in production: its error pages show settings and code to anyone; "
        "use DJANGO_SETTINGS_MODULE=config.settings.dev to develop"
    )

# Rate limits and sign-in lock-out hold only if every web process counts in one cache.
CACHES = {"default": env.shared_cache("CACHE_URL")}

SESSION_COOKIE_SECURE = env.flag("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# HTTPS only: plain HTTP is redirected (behind a TLS proxy, set NUM_PROXIES so the portal
# sees X-Forwarded-Proto), except the health probes, which load balancers and
# orchestrators call over plain HTTP.
SECURE_SSL_REDIRECT = env.flag("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.whole("SECURE_HSTS_SECONDS", 31_536_000, minimum=0, maximum=2 * 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.flag("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading commits the whole domain to HTTPS in every browser, for months: a decision
    # for the domain's owner, so off by default, and `check --deploy` is not told otherwise.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
