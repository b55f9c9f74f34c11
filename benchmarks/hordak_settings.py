"""Settings for benchmarks/points_bench.py only: the platform's settings plus django-hordak (and django-mptt).

django-hordak is not a dependency of the platform; install it into the virtualenv just for the benchmark:
    .venv/bin/pip install "django-hordak>=2.0,<2.1"
Point GONGZHI_DATABASE_URL at a scratch PostgreSQL database (points_bench.py creates and drops one).
"""

from gongzhi.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "mptt", "hordak"]  # noqa: F405
HORDAK_INTERNAL_CURRENCY = "CNY"
DEFAULT_CURRENCY = "CNY"
CURRENCIES = ["CNY"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
