"""The portal's production settings (the same middleware, database options, cache and
security settings as the portal's server in ``bench/api.py``), with the floor's URLs."""

from config.settings.prod import *  # noqa: F403

ROOT_URLCONF = "bench.floor.urls"
WSGI_APPLICATION = "bench.floor.wsgi.application"
