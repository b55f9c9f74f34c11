"""Settings, read from the environment in one place.

Environment variables (all optional on a laptop):
- GONGZHI_DATABASE_URL or DATABASE_URL: ``sqlite:///path`` (default ``var/gongzhi.sqlite3``) or
  ``postgres://user:pass@host:port/name``.
- SECRET_KEY: Django's secret; a development key is generated into ``var/`` when absent.
- GONGZHI_FIELD_KEY: key for encrypting ID card numbers (defaults to one derived from SECRET_KEY).
- GONGZHI_DEBUG: "1" to turn on Django's debug pages.
- GONGZHI_ALLOWED_HOSTS: comma-separated host names (default: localhost names).
- GONGZHI_REDIS_URL: Redis for the cache and the job queue; without it jobs run in-process.
- GONGZHI_JOBS_MODE: "embedded" (default) runs periodic jobs in the app process, "celery" sends them to workers.
- GONGZHI_OPEN311_JURISDICTION_ID: the jurisdiction_id Open311 clients may send (default "gongzhi"); any other
  value is refused, leaving it out is accepted.
- GONGZHI_CASE_UNMERGE_HOURS: how long a merge of duplicate requests can be undone (default 24).
"""

from .base import *  # noqa: F403
