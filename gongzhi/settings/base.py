"""Base settings shared by every deployment; values come from the environment (see __init__)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .env import BASE_DIR, VAR_DIR, database_from_url, env_bool, env_list, env_str, secret_key

SECRET_KEY = secret_key()
DEBUG = env_bool("GONGZHI_DEBUG", False)
ALLOWED_HOSTS = env_list("GONGZHI_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("GONGZHI_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "gongzhi.core",
    "gongzhi.places",
    "gongzhi.people",
    "gongzhi.points",
    "gongzhi.shop",
    "gongzhi.cases",
    "gongzhi.volunteering",
    "gongzhi.deliberation",
    "gongzhi.cobuilding",
    "gongzhi.rollups",
    "gongzhi.cockpit",
    "gongzhi.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gongzhi.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gongzhi.core.middleware.PreferredLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gongzhi.people.sessions.SessionIdleTimeoutMiddleware",
    "gongzhi.people.two_factor.TwoFactorEnrolmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "gongzhi.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "gongzhi.urls"
WSGI_APPLICATION = "gongzhi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gongzhi" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "gongzhi.core.context_processors.interface",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env_str("GONGZHI_DATABASE_URL") or env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'gongzhi.sqlite3'}"
    )
}
# A read replica for the cockpit's reads (gongzhi/core/db_router.py): reads inside reading_from_replica() go there,
# every write to default. Unset: everything reads and writes default.
GONGZHI_REPLICA_DATABASE_URL = env_str("GONGZHI_REPLICA_DATABASE_URL")
GONGZHI_READ_REPLICA = ""
if GONGZHI_REPLICA_DATABASE_URL:
    DATABASES["replica"] = database_from_url(GONGZHI_REPLICA_DATABASE_URL)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    GONGZHI_READ_REPLICA = "replica"
DATABASE_ROUTERS = ["gongzhi.core.db_router.ReplicaRouter"]
# The .docx work report's template (letterhead, styles, placeholders); empty: the one shipped in gongzhi/cockpit.
GONGZHI_REPORT_TEMPLATE = env_str("GONGZHI_REPORT_TEMPLATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "people.Account"
AUTHENTICATION_BACKENDS = ["gongzhi.people.auth.LockoutAwareBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failed logins: this many failures inside the window lock the account for LOCK minutes.
GONGZHI_LOGIN_MAX_FAILURES = int(env_str("GONGZHI_LOGIN_MAX_FAILURES", "5"))
GONGZHI_LOGIN_FAILURE_WINDOW_MINUTES = int(env_str("GONGZHI_LOGIN_FAILURE_WINDOW_MINUTES", "15"))
GONGZHI_LOGIN_LOCK_MINUTES = int(env_str("GONGZHI_LOGIN_LOCK_MINUTES", "15"))
# The district's load balancers / reverse proxies (addresses or networks): only from them is X-Forwarded-For read.
GONGZHI_TRUSTED_PROXIES = env_list("GONGZHI_TRUSTED_PROXIES", [])
# Rate limits on logins, tokens, claims, requests, orders and votes (core/ratelimit.py; kept in the cache, which
# is Redis in production so every app server counts together).
GONGZHI_RATE_LIMITING = env_bool("GONGZHI_RATE_LIMITING", True)
# Two-factor login (people/two_factor.py): mandatory for superusers and these roles unless switched off.
GONGZHI_TWO_FACTOR_MANDATORY = env_bool("GONGZHI_TWO_FACTOR_MANDATORY", True)
GONGZHI_TWO_FACTOR_ROLES = env_list("GONGZHI_TWO_FACTOR_ROLES", ["district_admin", "street_admin"])
GONGZHI_API_TOKEN_DAYS = int(env_str("GONGZHI_API_TOKEN_DAYS", "30"))
# The Open311 jurisdiction_id this deployment answers to (gongzhi/cases/open311.py); other ids are refused.
GONGZHI_OPEN311_JURISDICTION_ID = env_str("GONGZHI_OPEN311_JURISDICTION_ID", "gongzhi")
GONGZHI_CASE_UNMERGE_HOURS = int(env_str("GONGZHI_CASE_UNMERGE_HOURS", "24"))

# Points postings run as prepared statements with bound parameters on PostgreSQL (gongzhi/points/ledger.py).
# Set GONGZHI_POINTS_PREPARED=0 behind a connection pooler in transaction mode, which cannot keep prepared statements.
GONGZHI_POINTS_PREPARED = env_bool("GONGZHI_POINTS_PREPARED", True)

# Key for encrypting ID card numbers at rest; derived from SECRET_KEY unless given.
GONGZHI_FIELD_KEY = env_str("GONGZHI_FIELD_KEY")
# Keys replaced by GONGZHI_FIELD_KEY that still decrypt until `gongzhi rotate_field_key` has re-encrypted everything.
GONGZHI_FIELD_KEYS_RETIRED = env_list("GONGZHI_FIELD_KEYS_RETIRED", [])
# The key of the ID-number digests (lookups without decrypting); empty: derived from GONGZHI_FIELD_KEY.
GONGZHI_INDEX_KEY = env_str("GONGZHI_INDEX_KEY")
# The key of the audit log's hash chains (core/audit_chain.py, HMAC-SHA256); empty: derived from SECRET_KEY. Set
# it in production and keep it apart from the database and its backups: `gongzhi audit_verify` (and so a restore)
# needs it, and whoever holds it could recompute a chain. Replaced keys stay in GONGZHI_AUDIT_KEYS_RETIRED.
GONGZHI_AUDIT_KEY = env_str("GONGZHI_AUDIT_KEY")
GONGZHI_AUDIT_KEYS_RETIRED = env_list("GONGZHI_AUDIT_KEYS_RETIRED", [])
# How long audit entries are kept, in days: at least six months (183); nothing deletes an entry before that.
GONGZHI_AUDIT_RETENTION_DAYS = int(env_str("GONGZHI_AUDIT_RETENTION_DAYS", "365"))
if GONGZHI_AUDIT_RETENTION_DAYS < 183:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("GONGZHI_AUDIT_RETENTION_DAYS must be at least 183 (six months of audit log).")

# Retention of personal data, in days (people/retention.py, a daily job; docs/security.md). A moved-out resident is
# anonymised this long after leaving; expired or revoked API tokens and Django sessions are deleted; inbox rows go
# when read this long ago (unread ones after twice as long). Audit entries and ledger rows are never touched here.
GONGZHI_RETENTION = {
    "moved_out_residents_days": int(env_str("GONGZHI_RETENTION_MOVED_OUT_RESIDENTS_DAYS", "730")),
    "api_tokens_days": int(env_str("GONGZHI_RETENTION_API_TOKENS_DAYS", "90")),
    "notifications_days": int(env_str("GONGZHI_RETENTION_NOTIFICATIONS_DAYS", "180")),
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "gongzhi" / "locale"]
LANGUAGE_COOKIE_NAME = "gongzhi_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "gongzhi" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600  # the longest a session lasts; it ends sooner when idle (people/sessions.py)
GONGZHI_SESSION_IDLE_MINUTES = int(env_str("GONGZHI_SESSION_IDLE_MINUTES", "60"))
# Behind HTTPS (production): secure cookies, HSTS and a redirect of plain HTTP (the health check stays reachable
# over HTTP for load balancers). `gongzhi check --deploy` is clean with these set (a test keeps it so).
SERVED_OVER_HTTPS = env_bool("GONGZHI_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SERVED_OVER_HTTPS
CSRF_COOKIE_SECURE = SERVED_OVER_HTTPS
SECURE_HSTS_SECONDS = int(env_str("GONGZHI_HSTS_SECONDS", "31536000" if SERVED_OVER_HTTPS else "0"))
SECURE_SSL_REDIRECT = env_bool("GONGZHI_SSL_REDIRECT", SERVED_OVER_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GONGZHI_HSTS_INCLUDE_SUBDOMAINS", False)
SILENCED_SYSTEM_CHECKS = [
    # A district's intranet domain usually hosts other systems that are not all on HTTPS; HSTS for every
    # subdomain would lock them out, so it is the deployer's choice (GONGZHI_HSTS_INCLUDE_SUBDOMAINS=1).
    "security.W005",
    # The HSTS preload list is built into public browsers for public domains; intranet hosts are never on it.
    "security.W021",
]
# Only when TLS ends at a reverse proxy that sets X-Forwarded-Proto itself (and strips the client's).
if env_bool("GONGZHI_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# No script but the app's own files (no inline script, no eval); pictures may be data: (QR codes) or blob: (photo
# previews); styles may be inline (htmx adds its indicator style).
GONGZHI_CONTENT_SECURITY_POLICY = env_str(
    "GONGZHI_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
SECURE_CONTENT_TYPE_NOSNIFF = True

REDIS_URL = env_str("GONGZHI_REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Periodic jobs: "embedded" runs them in a thread of the serving process (no extra service);
# "celery" sends them to Celery workers through Redis (see gongzhi/celery.py).
GONGZHI_JOBS_MODE = env_str("GONGZHI_JOBS_MODE", "embedded")
CELERY_BROKER_URL = env_str("GONGZHI_CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
# Delivery (docs/deployment.md "Jobs that survive a dead worker"): a message is acknowledged only after its task
# ran, a task whose worker process died is put back, and Redis hands an unacknowledged message to another worker
# once GONGZHI_CELERY_VISIBILITY_TIMEOUT seconds have passed since it was delivered (its worker may have died
# with the machine). Tasks are claimed in the database (core/jobs.py), so a redelivery never runs one twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(env_str("GONGZHI_CELERY_VISIBILITY_TIMEOUT", "900")),
    # How often a worker looks for messages past the visibility timeout (seconds; kombu's default sweep is 100 s).
    "unacked_restore_interval": int(env_str("GONGZHI_CELERY_RESTORE_INTERVAL", "10")),
    "unacked_restore_throttle": 1,
}
# Seconds between beat's dispatches of due jobs; 0 (default) dispatches at the start of every minute.
GONGZHI_BEAT_DISPATCH_SECONDS = float(env_str("GONGZHI_BEAT_DISPATCH_SECONDS", "0"))
CELERY_TIMEZONE = TIME_ZONE

NINJA_PAGINATION_PER_PAGE = 50

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("GONGZHI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
