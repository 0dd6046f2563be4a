"""Settings shared by every environment.  Every value a deployment may change comes
from an environment variable, each one documented in README.md."""

from __future__ import annotations

import shutil
from pathlib import Path

from config import env
from loadbalancers.adapters.lbaas import PROVIDER_KINDS

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env.read_dotenv(str(BASE_DIR / ".env"))
VAR_DIR = Path(env.text("PORTAL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.flag("DEBUG", False)
ALLOWED_HOSTS = env.names("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.names("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal",
    "accounts",
    "servers",
    "loadbalancers",
    "audit",
    "notifications",
]

MIDDLEWARE = [
    "portal.request_metrics.RequestMetricsMiddleware",  # first: its time covers the others
    "portal.requests.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A database server that accepts the connection and never answers holds a request
    # (and /readyz) at most this long; a connect_timeout in DATABASE_URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web and worker processes share the file. Transactions take the write lock when
    # they begin (IMMEDIATE), so a writer waits up to the timeout for its turn instead
    # of failing at once when a read lock cannot be upgraded.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# API rate limits and failed sign-ins are counted in this cache, so every web process must
# share it: by default a folder under VAR_DIR, shared by the processes of this machine
# (production requires CACHE_URL, Redis or a database cache: see prod.py).
CACHES = {"default": env.cache("CACHE_URL", f"filecache://{(VAR_DIR / 'cache').resolve()}")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "load-balancer-list-page"
LOGOUT_REDIRECT_URL = "login"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Bodies larger than this get 413 from the API.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api.authentication.TokenAllowsWrites",
    ],
    "DEFAULT_PARSER_CLASSES": ["portal.api.inputs.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "portal.api.renderers.RawJSONBrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api.throttling.AnonRateThrottle",
        "portal.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.rate("API_THROTTLE_ANON", "60/minute"),
        "user": env.rate("API_THROTTLE_USER", "1200/minute"),
        "auth-token": env.rate("API_THROTTLE_TOKEN", "10/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # How many reverse proxies in front of the portal append to X-Forwarded-For.  The
    # client address that rate limits and sign-in throttling count by is the one the
    # outermost trusted proxy saw; with 0 the header is ignored (a client could write
    # anything in it), and REMOTE_ADDR is used.
    "NUM_PROXIES": env.whole("NUM_PROXIES", 0, minimum=0, maximum=10),
}

# -- security headers and backend addresses ------------------------------------------------
# X-Forwarded-Proto says whether the client spoke HTTPS to the proxy.  Trusted only behind
# a proxy (NUM_PROXIES >= 1), which must set it, replacing whatever the client sent:
# without one, any client could write it.
if REST_FRAMEWORK["NUM_PROXIES"] >= 1:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
# The Content-Security-Policy of every response (config/security.py): the portal's pages
# and the admin run only scripts and styles the portal serves itself, as files.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# DRF's browsable API and its sign-in page write style="" attributes, and its "Log out"
# link submits a form with one inline onclick, allowed by its hash and nothing else.
CONTENT_SECURITY_POLICY_BROWSABLE_API = (
    f"{CONTENT_SECURITY_POLICY}; style-src 'self' 'unsafe-inline'; "
    "script-src-attr 'unsafe-hashes' 'sha256-tHTC1YgZ5UbAs8E2Ib4NjuSS8R05d1nfPHtbmXq05WA='"
)
# Swagger UI and ReDoc run an inline script, inject their styles, draw data: images, and
# ReDoc searches in a blob: worker; they show the schema only, no user's data.
CONTENT_SECURITY_POLICY_API_DOCS = (
    f"{CONTENT_SECURITY_POLICY}; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:"
)
CONTENT_SECURITY_POLICY_BY_PATH = {
    "/api/v1/docs/": CONTENT_SECURITY_POLICY_API_DOCS,
    "/api/v1/redoc/": CONTENT_SECURITY_POLICY_API_DOCS,
    "/api-auth/": CONTENT_SECURITY_POLICY_BROWSABLE_API,
}

# Server addresses (servers/bootstrap.py): unspecified, link-local (cloud metadata) and
# multicast addresses are always refused; loopback only where this allows it (dev.py);
# and any address in these networks (the portal's own, say).
ALLOW_LOOPBACK_BACKENDS = env.flag("ALLOW_LOOPBACK_BACKENDS", False)
REFUSED_BACKEND_NETWORKS = env.networks("REFUSED_BACKEND_NETWORKS", [])
# Server inventory imports (API and admin): the largest file, and the most servers in one.
SERVER_IMPORT_MAX_BYTES = env.whole("SERVER_IMPORT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024, maximum=1024**3)
SERVER_IMPORT_MAX_ROWS = env.whole("SERVER_IMPORT_MAX_ROWS", 50_000, minimum=1, maximum=1_000_000)

# A write request sent with an Idempotency-Key header is answered once; its answer is kept
# this many seconds, and a repeat within them gets it again instead of running twice
# (portal/idempotency.py).  The scheduler deletes expired answers every hour.
IDEMPOTENCY_TTL = env.number("IDEMPOTENCY_TTL", 86400.0, minimum=60, maximum=30 * 86400)

SPECTACULAR_SETTINGS = {
    "TITLE": "Load balancer portal API",
    "DESCRIPTION": "Self-service load balancers: create, change and delete them; the portal provisions "
    "them at an LBaaS provider in the background.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# -- background work (Celery) ------------------------------------------------------------
# The embedded default needs no broker server: kombu's filesystem transport passes
# messages between processes on one machine through a folder (the portal's own variant
# makes the folder again if it disappears, instead of stopping the worker).
CELERY_BROKER_URL = env.text("CELERY_BROKER_URL", "filesystem://")
# The longest a request waits on the broker to hand work over (and /readyz to check
# it): past it the request goes on, and the reconciler sends the work later.
BROKER_TIMEOUT = env.number("BROKER_TIMEOUT", 2.0, minimum=0.1, maximum=60)
# After a hand-over failed, a process leaves the broker alone this long (0: never).
BROKER_COOLDOWN = env.number("BROKER_COOLDOWN", 10.0, minimum=0.0, maximum=3600)
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("queue", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT = "portal.broker:SelfHealingFilesystemTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "polling_interval": 0.2,
    }
else:
    # Every socket operation is bounded (Redis and AMQP read the options they know), so a
    # broker that accepts connections and never answers cannot hold a process forever.
    # Reads get at least 10 s: a worker's blocking poll of Redis lasts 1 s.
    _socket_timeout = max(BROKER_TIMEOUT, 10.0)
    if CELERY_BROKER_URL.startswith("redis://"):
        # kombu's own Redis transport, with one client per connection pool for sending
        # (rediss:// keeps kombu's, which sets TLS up from the URL's scheme).
        CELERY_BROKER_TRANSPORT = "portal.broker:RedisTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": BROKER_TIMEOUT,
        "socket_timeout": _socket_timeout,
        "read_timeout": _socket_timeout,
        "write_timeout": _socket_timeout,
    }
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "portal.beat:HeartbeatScheduler"
RECONCILE_INTERVAL = env.number("RECONCILE_INTERVAL", 30.0, minimum=1.0, maximum=86400)
# How often the scheduler counts load balancers by provider and statuses for the ops
# dashboard and /metrics (one grouped count of the table; they read the snapshot).
STATUS_COUNT_INTERVAL = env.number("STATUS_COUNT_INTERVAL", 30.0, minimum=5.0, maximum=86400)
# The worker and the scheduler show they are alive every HEARTBEAT_INTERVAL seconds;
# /readyz reports one whose last heartbeat is older than HEARTBEAT_MAX_AGE.
HEARTBEAT_INTERVAL = env.number("HEARTBEAT_INTERVAL", 10.0, minimum=1.0, maximum=3600)
HEARTBEAT_MAX_AGE = env.number("HEARTBEAT_MAX_AGE", 60.0, minimum=2.0, maximum=86400)
if HEARTBEAT_MAX_AGE <= HEARTBEAT_INTERVAL:
    raise env.ImproperlyConfigured(
        f"HEARTBEAT_MAX_AGE ({HEARTBEAT_MAX_AGE:g}) must be longer than HEARTBEAT_INTERVAL ({HEARTBEAT_INTERVAL:g})"
    )
CELERY_BEAT_SCHEDULE = {
    "reconcile-load-balancers": {"task": "loadbalancers.reconcile", "schedule": RECONCILE_INTERVAL},
    "count-load-balancer-statuses": {"task": "loadbalancers.count_statuses", "schedule": STATUS_COUNT_INTERVAL},
    "prune-audit-trail": {"task": "audit.prune", "schedule": 3600.0},
    "resend-stale-deliveries": {"task": "notifications.resend", "schedule": 300.0},
    "prune-delivery-log": {"task": "notifications.prune_log", "schedule": 3600.0},
    "prune-idempotent-requests": {"task": "portal.prune_idempotency", "schedule": 3600.0},
    "worker-heartbeat": {
        "task": "portal.heartbeat",
        "schedule": HEARTBEAT_INTERVAL,
        "options": {"expires": HEARTBEAT_MAX_AGE},
    },
}

# -- metrics (/metrics, Prometheus) -----------------------------------------------------------
# /metrics answers only a scraper that sends "Authorization: Bearer <METRICS_TOKEN>"; without a
# token it answers 404, unless METRICS_ALLOW_UNAUTHENTICATED=true opens it to anyone (a laptop).
METRICS_TOKEN = env.bearer_token("METRICS_TOKEN")
METRICS_ALLOW_UNAUTHENTICATED = env.flag("METRICS_ALLOW_UNAUTHENTICATED", False)
if METRICS_TOKEN and METRICS_ALLOW_UNAUTHENTICATED:
    raise env.ImproperlyConfigured(
        "METRICS_TOKEN and METRICS_ALLOW_UNAUTHENTICATED=true contradict each other: unset one of them"
    )
# The folder where the web and worker processes of `manage.py runportal` write their metrics
# (prometheus_client's multiprocess mode), emptied each time the portal starts.  A process
# started otherwise counts on its own unless PROMETHEUS_MULTIPROC_DIR is in its environment.
METRICS_DIR = Path(env.text("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics")))
# What /metrics reads from the database when it is scraped (portal/metrics.py).
METRICS_COLLECTORS = ["loadbalancers.metrics:ScrapeTimeCollector"]

# -- this installation ------------------------------------------------------------------------
# Every resource the portal makes at a provider carries this identity, and the reconciler
# only ever touches resources that carry it.  Empty: generated once and kept in the database.
PORTAL_INSTANCE_ID = env.identifier("PORTAL_INSTANCE_ID", "")
# What the reconciler does when a provider runs a load balancer otherwise than its record
# (drift: members, weights, drain, algorithm, listener, monitor changed at the provider) or
# holds an orphan: "report" records and tells it (drift records, the audit trail, webhooks)
# and changes nothing; "repair" also applies the record again through a normal update, and
# deletes orphans once their grace period is over.
DRIFT_POLICY = env.choice("DRIFT_POLICY", "report", ("report", "repair"))
# Under DRIFT_POLICY=repair, an orphan (a resource of this installation that no record owns)
# is deleted only once it has been seen for RECONCILE_ORPHAN_GRACE seconds, and a pass
# deletes none when more than RECONCILE_ORPHAN_MAX_DELETES are due (a restored database
# backup looks like that): an operator then decides in the admin.
RECONCILE_ORPHAN_GRACE = env.number("RECONCILE_ORPHAN_GRACE", 3600.0, minimum=0.0, maximum=30 * 86400)
RECONCILE_ORPHAN_MAX_DELETES = env.whole("RECONCILE_ORPHAN_MAX_DELETES", 10, minimum=0, maximum=10000)
# Members whose servers ops set DOWN or MAINTENANCE in the inventory are put in drain (no
# new connections) through a normal update, and enabled again once their servers are OK.
DRAIN_ON_MAINTENANCE = env.flag("DRAIN_ON_MAINTENANCE", True)

# -- teams ------------------------------------------------------------------------------------
# The quotas of a team that has none of its own (operations set a team's own in the admin):
# live load balancers per team, and members (backend servers) per load balancer.
TEAM_QUOTA_LOAD_BALANCERS = env.whole("TEAM_QUOTA_LOAD_BALANCERS", 20, minimum=0, maximum=1_000_000)
TEAM_QUOTA_MEMBERS = env.whole("TEAM_QUOTA_MEMBERS", 50, minimum=1, maximum=1_000_000)

# -- audit trail ------------------------------------------------------------------------------
# The trail keeps its newest AUDIT_RETENTION_ROWS entries (seed 003's rule: 1000) and, when
# AUDIT_RETENTION_DAYS is set, none older than that; raise the first to keep more.
AUDIT_RETENTION_ROWS = env.whole("AUDIT_RETENTION_ROWS", 1000, minimum=1, maximum=1_000_000_000)
AUDIT_RETENTION_DAYS = env.whole("AUDIT_RETENTION_DAYS", 0, minimum=0, maximum=36_500) or None

# -- notifications --------------------------------------------------------------------------
# Webhook deliveries: each attempt is bounded by WEBHOOK_TIMEOUT seconds in all; a failed one
# is retried up to WEBHOOK_MAX_ATTEMPTS times with exponential backoff capped at
# WEBHOOK_BACKOFF_CAP seconds; a webhook is disabled after WEBHOOK_DISABLE_AFTER failed
# attempts in a row.  URLs that resolve to loopback, link-local or private addresses are
# refused unless WEBHOOK_ALLOW_PRIVATE (SSRF).
WEBHOOK_TIMEOUT = env.number("WEBHOOK_TIMEOUT", 5.0, minimum=0.1, maximum=60)
WEBHOOK_MAX_ATTEMPTS = env.whole("WEBHOOK_MAX_ATTEMPTS", 5, minimum=1, maximum=50)
WEBHOOK_BACKOFF_CAP = env.number("WEBHOOK_BACKOFF_CAP", 300.0, minimum=1.0, maximum=86400)
WEBHOOK_DISABLE_AFTER = env.whole("WEBHOOK_DISABLE_AFTER", 20, minimum=1, maximum=10_000)
WEBHOOK_ALLOW_PRIVATE = env.flag("WEBHOOK_ALLOW_PRIVATE", False)
# Finished deliveries stay in each webhook's log for WEBHOOK_LOG_DAYS days.
WEBHOOK_LOG_DAYS = env.whole("WEBHOOK_LOG_DAYS", 30, minimum=1, maximum=3650)
# E-mail (errors and degraded load balancers, servers taken down): Django's backend, SMTP by
# these settings; the embedded default (make run) prints e-mails on the console instead.
EMAIL_BACKEND = "django.core.mail.backends.{}.EmailBackend".format(
    env.choice("EMAIL_BACKEND", "smtp", ["smtp", "console", "locmem", "dummy"])
)
EMAIL_HOST = env.text("EMAIL_HOST", "localhost")
EMAIL_PORT = env.whole("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.text("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.text("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.flag("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.flag("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.number("EMAIL_TIMEOUT", 10.0, minimum=0.1, maximum=300)
DEFAULT_FROM_EMAIL = env.text("DEFAULT_FROM_EMAIL", "lb-portal@localhost")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise env.ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true: choose one")

# -- LBaaS providers ------------------------------------------------------------------------
KNOWN_LBAAS_PROVIDERS = tuple(PROVIDER_KINDS)
LBAAS_PROVIDERS = env.names("LBAAS_PROVIDERS", ["sandbox"])
for _provider in LBAAS_PROVIDERS:
    if _provider not in KNOWN_LBAAS_PROVIDERS:
        raise env.ImproperlyConfigured(
            f"LBAAS_PROVIDERS names an unknown provider {_provider!r}; known: {', '.join(KNOWN_LBAAS_PROVIDERS)}"
        )
LBAAS_PROVIDER = env.choice("LBAAS_PROVIDER", LBAAS_PROVIDERS[0] if LBAAS_PROVIDERS else "", LBAAS_PROVIDERS)
LBAAS_POLL_INTERVAL = env.number("LBAAS_POLL_INTERVAL", 1.0, minimum=0.01, maximum=3600)
LBAAS_PENDING_TIMEOUT = env.number("LBAAS_PENDING_TIMEOUT", 600.0, minimum=1.0, maximum=7 * 86400)
LBAAS_STUCK_AFTER = env.number("LBAAS_STUCK_AFTER", 60.0, minimum=1.0, maximum=86400)
LBAAS_RETRY_MAX = env.whole("LBAAS_RETRY_MAX", 8, minimum=0, maximum=100)
LBAAS_RETRY_BACKOFF_CAP = env.number("LBAAS_RETRY_BACKOFF_CAP", 30.0, minimum=0.0, maximum=3600)

SANDBOX_LBAAS = {
    "path": env.text("SANDBOX_LBAAS_PATH", str(VAR_DIR / "sandbox-lbaas.sqlite3")),
    "delay": env.number("SANDBOX_LBAAS_DELAY", 2.0, maximum=3600),
    "vip_range": env.network("SANDBOX_LBAAS_VIP_RANGE", "198.51.100.0/24"),
    "latency": env.number("SANDBOX_LBAAS_LATENCY", 0.0, maximum=60),
    "error_rate": env.number("SANDBOX_LBAAS_ERROR_RATE", 0.0, maximum=1.0),
    "fail_at": env.choice("SANDBOX_LBAAS_FAIL_AT", "", ("", "create", "activate", "update", "delete")),
}

HAPROXY_LBAAS = {
    "state_dir": env.text("HAPROXY_STATE_DIR", str(VAR_DIR / "haproxy")),
    "vip_network": env.network("HAPROXY_VIP_NETWORK", "127.77.0.0/16"),
    "haproxy_bin": env.text("HAPROXY_BIN", shutil.which("haproxy") or "/usr/sbin/haproxy"),
}

ELBV2_LBAAS = {
    "region": env.text("ELBV2_REGION", "eu-west-1"),
    "vpc_id": env.text("ELBV2_VPC_ID", ""),
    "subnet_ids": env.names("ELBV2_SUBNET_IDS", []),
    "endpoint_url": env.text("ELBV2_ENDPOINT_URL", "") or None,
    "access_key_id": env.text("ELBV2_ACCESS_KEY_ID", "") or None,
    "secret_access_key": env.text("ELBV2_SECRET_ACCESS_KEY", "") or None,
    "name_prefix": env.text("ELBV2_NAME_PREFIX", "lbp"),
    "scheme": env.choice("ELBV2_SCHEME", "internal", ("internal", "internet-facing")),
    "security_group_ids": env.names("ELBV2_SECURITY_GROUP_IDS", []) or None,
}
if "elbv2" in LBAAS_PROVIDERS and not (ELBV2_LBAAS["vpc_id"] and ELBV2_LBAAS["subnet_ids"]):
    raise env.ImproperlyConfigured("the elbv2 provider needs ELBV2_VPC_ID and ELBV2_SUBNET_IDS")

# OpenStack Octavia: through Keystone (OCTAVIA_CLOUD names a cloud of clouds.yaml, or
# OCTAVIA_AUTH_URL with openstacksdk's OS_* variables for the rest of the credentials), or
# straight to an Octavia API without Keystone (OCTAVIA_ENDPOINT and OCTAVIA_PROJECT_ID).
OCTAVIA_LBAAS = {
    "cloud": env.text("OCTAVIA_CLOUD", "") or None,
    "auth_url": env.url("OCTAVIA_AUTH_URL") or None,
    "endpoint": env.url("OCTAVIA_ENDPOINT") or None,
    "region": env.text("OCTAVIA_REGION", "") or None,
    "vip_subnet_id": env.text("OCTAVIA_VIP_SUBNET_ID", "") or None,
    "vip_network_id": env.text("OCTAVIA_VIP_NETWORK_ID", "") or None,
    "project_id": env.project_id("OCTAVIA_PROJECT_ID") or None,
    "timeout": env.number("OCTAVIA_TIMEOUT", 30.0, minimum=0.1, maximum=600),
    "step_timeout": env.number("OCTAVIA_STEP_TIMEOUT", 120.0, minimum=1.0, maximum=3600),
    "poll_interval": env.number("OCTAVIA_POLL_INTERVAL", 0.5, minimum=0.05, maximum=60),
}
if "octavia" in LBAAS_PROVIDERS:
    if bool(OCTAVIA_LBAAS["vip_subnet_id"]) == bool(OCTAVIA_LBAAS["vip_network_id"]):
        raise env.ImproperlyConfigured(
            "the octavia provider needs one of OCTAVIA_VIP_SUBNET_ID and OCTAVIA_VIP_NETWORK_ID (where VIPs are made)"
        )
    _keystone = (
        OCTAVIA_LBAAS["cloud"] or OCTAVIA_LBAAS["auth_url"] or env.text("OS_AUTH_URL", "") or env.text("OS_CLOUD", "")
    )
    if not _keystone and not OCTAVIA_LBAAS["endpoint"]:
        raise env.ImproperlyConfigured(
            "the octavia provider needs OCTAVIA_CLOUD (a cloud of clouds.yaml), OCTAVIA_AUTH_URL (Keystone, with the"
            " OS_* credentials) or OCTAVIA_ENDPOINT (an Octavia API without Keystone)"
        )
    if not _keystone and not OCTAVIA_LBAAS["project_id"]:
        raise env.ImproperlyConfigured(
            "OCTAVIA_ENDPOINT without Keystone needs OCTAVIA_PROJECT_ID (the project the portal acts as)"
        )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))},
}

# The admin action "mark stuck as ERROR" leaves alone what has been pending for less.
ADMIN_STUCK_AFTER = env.number("ADMIN_STUCK_AFTER", 300.0, minimum=0.0, maximum=7 * 86400)

# Sign-in throttling (accounts/signin.py).
AUTHENTICATION_BACKENDS = ["accounts.signin.ThrottledModelBackend"]
LOGIN_FAILURE_LIMIT = env.whole("LOGIN_FAILURE_LIMIT", 10, minimum=1, maximum=1000)
LOGIN_FAILURE_WINDOW = env.number("LOGIN_FAILURE_WINDOW", 900.0, minimum=1.0, maximum=86400)
