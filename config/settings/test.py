"""The test suite: fast hashing, a quick sandbox, tasks on an in-memory broker."""

from config import env
from config.settings.dev import *  # noqa: F403
from config.settings.dev import DATABASES, REST_FRAMEWORK, SANDBOX_LBAAS, VAR_DIR
from portal.security import TEST_SECRET_KEY

SECRET_KEY = TEST_SECRET_KEY
# One cache per process: parallel test processes (pytest -n) must not clear or count into
# each other's rate limits (tests/conftest.py clears the cache before every test).
CACHES = {"default": env.cache("CACHE_URL", "locmemcache://")}
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT = None  # the URL's (dev sets the embedded broker's transport)
BROKER_COOLDOWN = 0  # a test whose broker fails leaves the next tests' hand-overs alone
CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.01}
LBAAS_POLL_INTERVAL = 0.05
SANDBOX_LBAAS = {**SANDBOX_LBAAS, "delay": 0.2, "path": str(VAR_DIR / "test-sandbox-lbaas.sqlite3")}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "user": "100000/minute", "auth-token": "10000/minute"},
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that a worker thread in end-to-end tests sees the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
