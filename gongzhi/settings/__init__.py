"""Settings, read from the environment in one place.

Environment variables (all optional on a laptop):
- GONGZHI_DATABASE_URL or DATABASE_URL: ``sqlite:///path`` (default ``var/gongzhi.sqlite3``) or
  ``postgres://user:pass@host:port/name``.
- SECRET_KEY: Django's secret; a development key is generated into ``var/`` when absent.
- GONGZHI_FIELD_KEY: key for encrypting ID card numbers (defaults to one derived from SECRET_KEY).
- GONGZHI_AUDIT_KEY: key of the audit log's hash chains (defaults to one derived from SECRET_KEY);
  GONGZHI_AUDIT_KEYS_RETIRED the replaced ones; GONGZHI_AUDIT_RETENTION_DAYS (default 365, at least 183).
- GONGZHI_DEBUG: "1" to turn on Django's debug pages.
- GONGZHI_ALLOWED_HOSTS: comma-separated host names (default: localhost names).
- GONGZHI_REDIS_URL: Redis for the cache and the job queue; without it jobs run in-process.
- GONGZHI_JOBS_MODE: "embedded" (default) runs periodic jobs in the app process, "celery" sends them to workers.
- GONGZHI_CELERY_VISIBILITY_TIMEOUT (900) / GONGZHI_CELERY_RESTORE_INTERVAL (10): seconds before Redis hands a dead
  worker's unacknowledged task to another worker, and how often workers look (docs/deployment.md).
- GONGZHI_BEAT_DISPATCH_SECONDS: beat dispatches due jobs every so many seconds instead of every minute (tests).
- GONGZHI_OPEN311_JURISDICTION_ID: the jurisdiction_id Open311 clients may send (default "gongzhi"); any other
  value is refused, leaving it out is accepted.
- GONGZHI_CASE_UNMERGE_HOURS: how long a merge of duplicate requests can be undone (default 24).
"""

from .base import *  # noqa: F403
