"""Bad environment settings stop start-up with a message naming the variable."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env


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


def _start(settings_module: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": settings_module, **variables}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    started = _start("config.settings.prod", PORTAL_VAR_DIR=str(tmp_path))
    assert started.returncode != 0
    assert "set the environment variable SECRET_KEY" in started.stderr


def test_production_starts_with_a_secret_key(tmp_path):
    started = _start("config.settings.prod", PORTAL_VAR_DIR=str(tmp_path), SECRET_KEY="x" * 50)
    assert started.returncode == 0, started.stderr


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
