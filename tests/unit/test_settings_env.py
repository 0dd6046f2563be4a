"""Bad environment settings stop start-up with a message naming the variable."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env
from portal.security import DEV_SECRET_KEY, TEST_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("off", False), ("No", False)])
def test_flags(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env.flag("SOME_FLAG", not expected) is expected


@pytest.mark.parametrize(
    ("name", "raw", "call", "fragment"),
    [
        ("SOME_FLAG", "ture", lambda: env.flag("SOME_FLAG", False), "SOME_FLAG must be one of"),
        ("SOME_NUMBER", "fast", lambda: env.number("SOME_NUMBER", 1.0), "SOME_NUMBER must be a number"),
        ("SOME_NUMBER", "-1", lambda: env.number("SOME_NUMBER", 1.0), "SOME_NUMBER must be at least 0"),
        ("SOME_NUMBER", "2", lambda: env.number("SOME_NUMBER", 1.0, maximum=1), "between 0.0 and 1"),
        ("SOME_NUMBER", "nan", lambda: env.number("SOME_NUMBER", 1.0), "SOME_NUMBER must be"),
        ("SOME_CHOICE", "x", lambda: env.choice("SOME_CHOICE", "a", ("a", "b")), "SOME_CHOICE must be one of a, b"),
        ("SOME_DB", "nosuchdb://x", lambda: env.database("SOME_DB", "sqlite://"), "SOME_DB"),
        ("SOME_COUNT", "2.5", lambda: env.whole("SOME_COUNT", 1), "SOME_COUNT must be a whole number"),
        ("SOME_COUNT", "-1", lambda: env.whole("SOME_COUNT", 1), "SOME_COUNT must be at least 0"),
        ("SOME_COUNT", "11", lambda: env.whole("SOME_COUNT", 1, maximum=10), "between 0 and 10"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(monkeypatch, name, raw, call, fragment):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ImproperlyConfigured, match=fragment):
        call()


def test_whole_numbers(monkeypatch):
    monkeypatch.setenv("SOME_COUNT", " 3 ")
    assert env.whole("SOME_COUNT", 1) == 3
    monkeypatch.setenv("SOME_COUNT", "")
    assert env.whole("SOME_COUNT", 1) == 1


def test_a_missing_required_value_names_it(monkeypatch):
    monkeypatch.delenv("SOME_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="set the environment variable SOME_SECRET"):
        env.text("SOME_SECRET")


def _run(argv: list[str], settings_module: str, **variables: str | None) -> subprocess.CompletedProcess:
    """Run a fresh Python with these settings and environment variables (None: unset)."""
    environment = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": settings_module}
    environment.update({name: value for name, value in variables.items() if value is not None})
    return subprocess.run(
        [sys.executable, *argv], env=environment, cwd=BASE_DIR, capture_output=True, text=True, timeout=60, check=False
    )


def _start(settings_module: str, **variables: str | None) -> subprocess.CompletedProcess:
    return _run(["-c", "import django; django.setup()"], settings_module, **variables)


def _settings(settings_module: str, names: list[str], **variables: str | None) -> dict:
    """The values these settings take in a fresh process."""
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name, None) for name in {names!r}}}))"
    )
    started = _run(["-c", script], settings_module, **variables)
    assert started.returncode == 0, started.stderr
    return json.loads(started.stdout)


# A key as `secrets.token_urlsafe` makes them, and a cache every web process shares.
GOOD_KEY = "q8Zt3mW-vN1rX6pLc0Hs_Ky4Jb9Df2Ge7Ua5Io3Ew8Rn1Tc6Vb"
PROD = {"SECRET_KEY": GOOD_KEY, "CACHE_URL": "redis://127.0.0.1:6379/1"}


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    started = _start("config.settings.prod", PORTAL_VAR_DIR=str(tmp_path))
    assert started.returncode != 0
    assert "set the environment variable SECRET_KEY" in started.stderr


def test_production_starts_with_a_good_key_and_a_shared_cache(tmp_path):
    values = _settings(
        "config.settings.prod",
        ["DEBUG", "ALLOW_LOOPBACK_BACKENDS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER"],
        PORTAL_VAR_DIR=str(tmp_path),
        **PROD,
    )

    assert values == {
        "DEBUG": False,
        "ALLOW_LOOPBACK_BACKENDS": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_PROXY_SSL_HEADER": None,
    }


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is empty or only whitespace"),
        ({"SECRET_KEY": " " * 32}, "SECRET_KEY is empty or only whitespace"),
        ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY is a development or test key published in the source code"),
        ({"SECRET_KEY": TEST_SECRET_KEY}, "SECRET_KEY is a development or test key published in the source code"),
        ({"SECRET_KEY": f"django-insecure-{GOOD_KEY}"}, "SECRET_KEY is a development or test key"),
        ({"SECRET_KEY": GOOD_KEY[:31]}, "SECRET_KEY must be at least 32 characters long (got 31)"),
        ({"SECRET_KEY": "x" * 50}, "SECRET_KEY has only 1 distinct characters (at least 10 needed)"),
        ({"SECRET_KEY": "abcd" * 10}, "SECRET_KEY has only 4 distinct characters"),
        ({"DEBUG": "true"}, "DEBUG must be off in production"),
        ({"CACHE_URL": None}, "set CACHE_URL to a cache every web process shares, redis://host:6379/1"),
        ({"CACHE_URL": "locmemcache://"}, "CACHE_URL=locmemcache:// keeps its counts in each process; set CACHE_URL"),
        ({"CACHE_URL": "dummycache://"}, "CACHE_URL=dummycache:// counts nothing; set CACHE_URL"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS must be a whole number"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS must be between 0 and"),
        ({"SECURE_SSL_REDIRECT": "sometimes"}, "SECURE_SSL_REDIRECT must be one of"),
        ({"SECURE_HSTS_PRELOAD": "sure"}, "SECURE_HSTS_PRELOAD must be one of"),
    ],
)
def test_production_refuses_to_start_with_what_is_unsafe_and_says_why(tmp_path, variables, fragment):
    started = _start("config.settings.prod", PORTAL_VAR_DIR=str(tmp_path), **{**PROD, **variables})

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert fragment in started.stderr


def test_production_takes_a_database_cache(tmp_path):
    variables = {**PROD, "CACHE_URL": "dbcache://portal_cache"}
    values = _settings("config.settings.prod", ["CACHES"], PORTAL_VAR_DIR=str(tmp_path), **variables)
    assert values["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


def test_a_redis_cache_url_selects_djangos_redis_cache_that_keeps_its_clients(tmp_path):
    variables = {**PROD, "CACHE_URL": "redis://127.0.0.1:6379/3"}
    values = _settings("config.settings.prod", ["CACHES"], PORTAL_VAR_DIR=str(tmp_path), **variables)
    assert values["CACHES"]["default"]["BACKEND"] == "portal.cache.RedisCache"
    assert values["CACHES"]["default"]["LOCATION"] == "redis://127.0.0.1:6379/3"
    # A Redis that never answers holds no request for ever.
    assert values["CACHES"]["default"]["OPTIONS"] == {"socket_connect_timeout": 2.0, "socket_timeout": 2.0}


def test_check_deploy_finds_nothing_to_warn_about_in_production(tmp_path):
    checked = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        "config.settings.prod",
        PORTAL_VAR_DIR=str(tmp_path),
        **PROD,
    )

    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout, checked.stdout


_REQUESTS = """
import django, json
django.setup()
from django.test import Client

client = Client(raise_request_exception=False)
answers = {}
for name, path, headers in [
    ("healthz", "/healthz", {}),
    ("readyz", "/readyz", {}),
    ("page", "/load-balancers/", {}),
    ("page behind https", "/load-balancers/", {"HTTP_X_FORWARDED_PROTO": "https"}),
]:
    response = client.get(path, **headers)
    answers[name] = [response.status_code, response.get("Location"), response.get("Strict-Transport-Security")]
print(json.dumps(answers))
"""


def _answers(tmp_path: Path, **variables: str) -> dict:
    started = _run(
        ["-c", _REQUESTS],
        "config.settings.prod",
        PORTAL_VAR_DIR=str(tmp_path),
        ALLOWED_HOSTS="testserver",
        **PROD,
        **variables,
    )
    assert started.returncode == 0, started.stderr
    return json.loads(started.stdout.strip().splitlines()[-1])


def test_production_redirects_plain_http_but_not_the_health_probes_and_trusts_no_client_about_https(tmp_path):
    answers = _answers(tmp_path)

    assert answers["page"][:2] == [301, "https://testserver/load-balancers/"]
    assert answers["page behind https"][:2] == [301, "https://testserver/load-balancers/"]  # any client can say so
    assert answers["healthz"] == [200, None, None]
    assert answers["readyz"][1] is None  # answered, ready or not: not redirected


def test_behind_a_proxy_production_believes_its_x_forwarded_proto_and_sends_hsts(tmp_path):
    answers = _answers(tmp_path, NUM_PROXIES="1")

    assert answers["page"][:2] == [301, "https://testserver/load-balancers/"]
    status, location, hsts = answers["page behind https"]
    assert (status, location) == (302, "/accounts/login/?next=/load-balancers/")
    assert hsts == "max-age=31536000; includeSubDomains"


def test_the_embedded_default_counts_rate_limits_in_a_cache_every_process_shares(tmp_path):
    setup = "import django; django.setup(); from django.core.cache import cache; "
    written = _run(["-c", setup + "cache.set('failures', 7)"], "config.settings.dev", PORTAL_VAR_DIR=str(tmp_path))
    assert written.returncode == 0, written.stderr

    read = _run(["-c", setup + "print(cache.get('failures'))"], "config.settings.dev", PORTAL_VAR_DIR=str(tmp_path))

    assert read.stdout.strip() == "7", read.stderr  # another process saw the count
    assert (tmp_path / "cache").is_dir()


def test_the_embedded_default_allows_loopback_backends_and_production_does_not(tmp_path):
    names = ["ALLOW_LOOPBACK_BACKENDS", "REFUSED_BACKEND_NETWORKS"]
    assert _settings("config.settings.dev", names, PORTAL_VAR_DIR=str(tmp_path)) == {
        "ALLOW_LOOPBACK_BACKENDS": True,
        "REFUSED_BACKEND_NETWORKS": [],
    }
    assert _settings(
        "config.settings.prod",
        names,
        PORTAL_VAR_DIR=str(tmp_path),
        **PROD,
        REFUSED_BACKEND_NETWORKS="10.0.5.0/24, fd00:5::/64",
    ) == {"ALLOW_LOOPBACK_BACKENDS": False, "REFUSED_BACKEND_NETWORKS": ["10.0.5.0/24", "fd00:5::/64"]}


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("LBAAS_PROVIDERS", "sandbox,mars", "unknown provider 'mars'"),
        ("LBAAS_PROVIDER", "mars", "LBAAS_PROVIDER must be one of sandbox"),
        ("SANDBOX_LBAAS_ERROR_RATE", "2", "SANDBOX_LBAAS_ERROR_RATE must be between"),
        ("SANDBOX_LBAAS_FAIL_AT", "sometimes", "SANDBOX_LBAAS_FAIL_AT must be one of"),
        ("DEBUG", "maybe", "DEBUG must be one of"),
        ("DATABASE_URL", "oracle-ish://db", "DATABASE_URL"),
        ("SANDBOX_LBAAS_VIP_RANGE", "198.51.100.0/33", "SANDBOX_LBAAS_VIP_RANGE must be an IP network"),
        ("API_THROTTLE_USER", "lots", "API_THROTTLE_USER must look like 100/minute"),
        ("LBAAS_POLL_INTERVAL", "0", "LBAAS_POLL_INTERVAL must be between 0.01 and 3600"),
        ("LBAAS_PENDING_TIMEOUT", "inf", "LBAAS_PENDING_TIMEOUT must be between"),
        ("CACHE_URL", "memcachd://x", "CACHE_URL must be a cache URL"),
        ("LBAAS_PROVIDERS", "sandbox,elbv2", "the elbv2 provider needs ELBV2_VPC_ID and ELBV2_SUBNET_IDS"),
        ("HAPROXY_VIP_NETWORK", "127.0.0.1/8", "HAPROXY_VIP_NETWORK must be an IP network"),
        ("LBAAS_PENDING_TIMEOUT", "1e14", "LBAAS_PENDING_TIMEOUT must be between"),
        ("NUM_PROXIES", "one", "NUM_PROXIES must be a whole number"),
        ("LBAAS_RETRY_MAX", "2.5", "LBAAS_RETRY_MAX must be a whole number"),
        ("ALLOW_LOOPBACK_BACKENDS", "perhaps", "ALLOW_LOOPBACK_BACKENDS must be one of"),
        ("REFUSED_BACKEND_NETWORKS", "10.0.5.0/24,10.0.6.1/24", "REFUSED_BACKEND_NETWORKS must list IP networks"),
        ("REFUSED_BACKEND_NETWORKS", "office", "REFUSED_BACKEND_NETWORKS must list IP networks"),
    ],
)
def test_the_embedded_default_refuses_bad_settings(tmp_path, variable, value, fragment):
    started = _start("config.settings.dev", PORTAL_VAR_DIR=str(tmp_path), **{variable: value})
    assert started.returncode != 0
    assert fragment in started.stderr


def test_a_provider_that_cannot_be_built_stops_start_up(tmp_path):
    started = _start(
        "config.settings.dev",
        PORTAL_VAR_DIR=str(tmp_path),
        LBAAS_PROVIDERS="sandbox,elbv2",
        ELBV2_VPC_ID="vpc-1",
        ELBV2_SUBNET_IDS="subnet-1,subnet-2",
        ELBV2_NAME_PREFIX="Not A Prefix!",
    )
    assert started.returncode != 0
    assert "LBaaS provider settings:" in started.stderr


# The octavia provider, without Keystone, as `make run` would take it.
OCTAVIA = {
    "LBAAS_PROVIDERS": "sandbox,octavia",
    "OCTAVIA_ENDPOINT": "http://127.0.0.1:9",
    "OCTAVIA_PROJECT_ID": "p1",
    "OCTAVIA_VIP_SUBNET_ID": "8f2b4d3a-7b73-4b5e-9b55-3a4c2b1f0d11",
    # `_run` passes on nothing of this environment; named here so that it stays so.
    "OS_AUTH_URL": None,
    "OS_CLOUD": None,
}


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        (
            {"OCTAVIA_VIP_SUBNET_ID": None},
            "the octavia provider needs one of OCTAVIA_VIP_SUBNET_ID and OCTAVIA_VIP_NETWORK_ID",
        ),
        (
            {"OCTAVIA_VIP_NETWORK_ID": "5e1b7c1e-5a4e-4b7e-8c55-0d6c1f2e3a44"},
            "the octavia provider needs one of OCTAVIA_VIP_SUBNET_ID and OCTAVIA_VIP_NETWORK_ID",
        ),
        (
            {"OCTAVIA_ENDPOINT": None, "OCTAVIA_PROJECT_ID": None},
            "the octavia provider needs OCTAVIA_CLOUD (a cloud of clouds.yaml), OCTAVIA_AUTH_URL",
        ),
        ({"OCTAVIA_ENDPOINT": None}, "the octavia provider needs OCTAVIA_CLOUD"),
        ({"OCTAVIA_PROJECT_ID": None}, "OCTAVIA_ENDPOINT without Keystone needs OCTAVIA_PROJECT_ID"),
        ({"OCTAVIA_ENDPOINT": "not-a-url"}, "OCTAVIA_ENDPOINT must be an http:// or https:// URL"),
        ({"OCTAVIA_AUTH_URL": "ftp://x"}, "OCTAVIA_AUTH_URL must be an http:// or https:// URL"),
        ({"OCTAVIA_PROJECT_ID": "a b"}, "OCTAVIA_PROJECT_ID must be 1-64 letters, digits, - and _"),
        ({"OCTAVIA_TIMEOUT": "0"}, "OCTAVIA_TIMEOUT must be between 0.1 and 600"),
        ({"OCTAVIA_STEP_TIMEOUT": "lots"}, "OCTAVIA_STEP_TIMEOUT must be a number"),
    ],
)
def test_the_embedded_default_refuses_bad_octavia_settings(tmp_path, variables, fragment):
    started = _start("config.settings.dev", PORTAL_VAR_DIR=str(tmp_path), **{**OCTAVIA, **variables})
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert fragment in started.stderr


def test_octavia_without_keystone_starts_without_asking_octavia(tmp_path):
    # Nothing listens on port 9: a call to Octavia at start-up would fail it.
    values = _settings(
        "config.settings.dev", ["LBAAS_PROVIDERS", "OCTAVIA_LBAAS"], PORTAL_VAR_DIR=str(tmp_path), **OCTAVIA
    )

    assert values["LBAAS_PROVIDERS"] == ["sandbox", "octavia"]
    assert values["OCTAVIA_LBAAS"] == {
        "cloud": None,
        "auth_url": None,
        "endpoint": "http://127.0.0.1:9",
        "region": None,
        "vip_subnet_id": OCTAVIA["OCTAVIA_VIP_SUBNET_ID"],
        "vip_network_id": None,
        "project_id": "p1",
        "timeout": 30.0,
        "step_timeout": 120.0,
        "poll_interval": 0.5,
    }


def test_an_octavia_cloud_that_no_clouds_yaml_has_stops_start_up(tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")  # read first: nothing of this machine's is
    started = _start(
        "config.settings.dev",
        PORTAL_VAR_DIR=str(tmp_path),
        **{**OCTAVIA, "OCTAVIA_ENDPOINT": None, "OCTAVIA_PROJECT_ID": None},
        OCTAVIA_CLOUD="nowhere",
        OS_CLIENT_CONFIG_FILE=str(clouds),
    )
    assert started.returncode != 0
    assert "LBaaS provider settings:" in started.stderr
    assert "nowhere" in started.stderr


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("redis://127.0.0.1:6379/4", "portal.broker:RedisTransport"),
        # TLS: kombu's own transport, which sets TLS up from the rediss scheme.
        ("rediss://127.0.0.1:6380/4", None),
        ("amqp://guest:guest@127.0.0.1:5672//", None),
    ],
)
def test_the_broker_transport_follows_the_url(tmp_path, url, transport):
    variables = {**PROD, "CELERY_BROKER_URL": url}
    values = _settings("config.settings.prod", ["CELERY_BROKER_TRANSPORT"], PORTAL_VAR_DIR=str(tmp_path), **variables)
    assert values.get("CELERY_BROKER_TRANSPORT") == transport
