"""Production settings with the ceiling's URLconf in front (``bench/api_ceiling.py``)."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.api_ceiling"
