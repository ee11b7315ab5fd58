"""Settings, read from the environment.

Development needs nothing: SQLite and a filesystem message broker under ``var/``.
Set ``DATABASE_URL`` / ``REDIS_URL`` for PostgreSQL and Redis, and ``DJANGO_ENV=production``
for a deployment (which then refuses to start without a real ``SECRET_KEY``).
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CRM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("DJANGO_ENV", "development").lower() == "production"
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else DEV_SECRET_KEY)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == DEV_SECRET_KEY or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "DJANGO_ENV=production needs SECRET_KEY set to a long random value (at least 50 characters)."
    )
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "crm",
    "customers",
    "sales",
    "coupons",
    "catalog",
    "cdp",
    "marketing",
    "field",
    "partners",
    "resources",
    "members",
    "contracts",
    "agenda",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "django_celery_beat",
    "auditlog",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "crm.operations.RequestIdMiddleware",
    "crm.addresses.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.db_router.ReadYourWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "field.middleware.WeComLoginMiddleware",
    "crm.permissions.PartnerConfinementMiddleware",
]

# Content-Security-Policy (django-csp): pages load scripts, styles, fonts and images from this host
# only, and run no inline script (no nonces or hashes are needed: every script is a static file).
# Inline style attributes stay allowed (progress bars, chart heights). The API browser and the Django
# admin bring their own inline scripts, so they are left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs", "/django-admin"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    },
}

# Login brute-force protection (django-axes): 5 failed logins for one username from one address
# lock that pair for 15 minutes; a success resets the count. Admins can unlock with
# `python manage.py axes_reset_username <name>`.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address (crm.addresses): X-Forwarded-For is read only from these proxies (addresses or
# networks); by default the loopback addresses of a reverse proxy on the same machine.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "127.0.0.1,::1")
AXES_CLIENT_IP_CALLABLE = "crm.addresses.client_ip"
# An address with this many failed logins (any usernames) within the lockout time is refused
# altogether until the time has passed: guessing across many accounts from one place is slowed down,
# while the pair lock above keeps one attacker from locking a user out everywhere.
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", 30))

# Personal information: contact details masked on every page until revealed (each reveal logged).
MASK_PERSONAL_DATA = env_bool("MASK_PERSONAL_DATA", True)
AXES_VERBOSE = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "crm.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.shell",
            ],
            "builtins": ["crm.templatetags.crm_tags"],  # |money, |money_short, |person on every page
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'crm.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60" if PRODUCTION else "0")),
    )
}
# Behind PgBouncer in transaction pooling a connection's server changes between transactions, so
# server-side cursors (.iterator() outside a transaction) cannot work: DISABLE_SERVER_SIDE_CURSORS=1.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DISABLE_SERVER_SIDE_CURSORS", False)
# A read replica (streaming standby): dashboards and exports read from it (crm.db_router), except for
# a user who wrote in the last READ_YOUR_WRITES_SECONDS, who reads the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=DATABASES["default"].get("CONN_MAX_AGE", 0)
    )
    DATABASES["replica"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
        "REPLICA_DISABLE_SERVER_SIDE_CURSORS", DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["crm.db_router.ReplicaRouter"]
READ_YOUR_WRITES_SECONDS = int(os.environ.get("READ_YOUR_WRITES_SECONDS", 30))
#: replica lag above this many seconds makes /healthz answer 503 (and the router fall back to the primary)
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", 30))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # crm.cache: a Redis outage reads as "not cached" instead of an error (the truth is in the database)
    CACHES = {"default": {"BACKEND": "crm.cache.ResilientRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["crm.formats"]  # amounts with thousands separators in zh-hans too
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
# WhiteNoise serves the collected files (``collectstatic``, run by ``make run``) as in production;
# ``make dev`` sets WHITENOISE_AUTOREFRESH=1 to serve static/ as edited.
WHITENOISE_AUTOREFRESH = env_bool("WHITENOISE_AUTOREFRESH", False)
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH

# Field work (打卡, 外勤签到): the map provider of the "navigate" links and of the team's visit map
# ("amap", "baidu" or "none": no link, no map). The links open the provider's site or app; the map
# on the team's visits page is drawn only with a key (nothing loads from outside without one).
MAP_PROVIDER = os.environ.get("MAP_PROVIDER", "amap")
MAP_PROVIDER_KEY = os.environ.get("MAP_PROVIDER_KEY", "")
#: a visit photo is refused above this size (bytes, checked before reading) and unless JPEG/PNG/WebP
FIELD_PHOTO_MAX_BYTES = int(os.environ.get("FIELD_PHOTO_MAX_BYTES", 8 * 1024 * 1024))
#: the storage (a key of STORAGES) visit photos are kept in; "default" is MEDIA_ROOT
FIELD_PHOTO_STORAGE = os.environ.get("FIELD_PHOTO_STORAGE", "default")
#: the key clock-in and visit evidence bundles are signed with (HMAC-SHA256); empty: derived from SECRET_KEY
FIELD_EVIDENCE_KEY = os.environ.get("FIELD_EVIDENCE_KEY", "")
#: a visit farther than this from the customer is flagged until a verified visit teaches the customer's radius
FIELD_VISIT_RADIUS_M = int(os.environ.get("FIELD_VISIT_RADIUS_M", 500))

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 60 * 60 * 12))
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "crm.views.shell.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # asked by the proxy and the scraper over http
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Email: console in development, SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "crm@localhost")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)


def site_url_for(host, port):
    """The address of the server ``make run`` starts on HOST:PORT, for links in emails and WeChat Work
    messages (a server listening on every address, 0.0.0.0, is reached as 127.0.0.1 here)."""
    host = (host or "").strip() or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]", "*"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{(port or '').strip() or '8000'}"


# Links in messages point at SITE_URL; without it, at the server `make run` started (HOST and the web
# server's port: CRM_WEB_PORT, which `make run` sets, since honcho gives each process its own PORT).
# Never the address of the request that caused a message: messages are also made by background jobs,
# and a request's Host header is the client's to choose.
SITE_URL = (
    os.environ.get("SITE_URL")
    or site_url_for(os.environ.get("HOST"), os.environ.get("CRM_WEB_PORT") or os.environ.get("PORT"))
).rstrip("/")
# Outbound HTTP (crm.outbound): the only hosts the product calls (WeChat Work webhooks, providers),
# https only, public addresses only. OUTBOUND_INSECURE_HOSTS: hosts allowed over http at any address,
# for a local test server or development stub only.
OUTBOUND_ALLOWED_HOSTS = env_list("OUTBOUND_ALLOWED_HOSTS", "qyapi.weixin.qq.com")
OUTBOUND_INSECURE_HOSTS = env_list("OUTBOUND_INSECURE_HOSTS")
# WeChat Work (企业微信) app: sign-in inside WeCom, the chat sidebar and the contact callback
# (README → "Mobile and WeCom"). Nothing WeCom runs while WECOM_CORP_ID is empty.
WECOM_CORP_ID = os.environ.get("WECOM_CORP_ID", "")
WECOM_AGENT_ID = os.environ.get("WECOM_AGENT_ID", "")
WECOM_SECRET = os.environ.get("WECOM_SECRET", "")
WECOM_API_BASE = os.environ.get("WECOM_API_BASE", "https://qyapi.weixin.qq.com/cgi-bin/")
WECOM_OAUTH_URL = os.environ.get("WECOM_OAUTH_URL", "https://open.weixin.qq.com/connect/oauth2/authorize")
WECOM_CALLBACK_TOKEN = os.environ.get("WECOM_CALLBACK_TOKEN", "")
WECOM_CALLBACK_AES_KEY = os.environ.get("WECOM_CALLBACK_AES_KEY", "")
WECOM_JSSDK_URL = os.environ.get("WECOM_JSSDK_URL", "")
#: WeCom API calls per minute for the corp from all processes together (WeCom's own limit is higher)
WECOM_RATE_PER_MINUTE = int(os.environ.get("WECOM_RATE_PER_MINUTE", 600))
OUTBOUND_TIMEOUT = float(os.environ.get("OUTBOUND_TIMEOUT", 5))
OUTBOUND_MAX_RESPONSE_BYTES = 64 * 1024
# Marketing channel providers (dotted paths); SMS and the official account log by default.
MARKETING_CHANNEL_BACKENDS = {
    channel: path
    for channel, path in {
        "sms": os.environ.get("MARKETING_SMS_BACKEND"),
        "wechat_oa": os.environ.get("MARKETING_WECHAT_OA_BACKEND"),
        "email": os.environ.get("MARKETING_EMAIL_BACKEND"),
    }.items()
    if path
}

# Celery: Redis when REDIS_URL is set, otherwise Kombu's filesystem transport under var/.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that queues work must not hang while the broker is down: one quick retry, then the
# outbox row (or the job row) waits for the minute-by-minute sweep.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
#: how often beat queues the heartbeat task that /healthz and /metrics read (crm.operations)
HEARTBEAT_SECONDS = float(os.environ.get("CRM_HEARTBEAT_SECONDS", 30))
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    "field-wecom-reconcile": {"task": "field.tasks.reconcile_wecom_contacts", "schedule": crontab(hour=1, minute=20)},
    "cdp-maintain-event-partitions": {
        "task": "cdp.tasks.maintain_event_partitions",
        "schedule": crontab(hour=1, minute=20),
    },
    "customers-recompute-segments": {
        "task": "customers.tasks.recompute_segments",
        "schedule": crontab(hour=2, minute=0),
    },
    "sales-dispatch-reminders": {"task": "sales.tasks.dispatch_reminders", "schedule": 60.0},
    "sales-recycle-pool": {"task": "sales.tasks.recycle_pool", "schedule": crontab(minute=15)},
    "sales-lead-retention": {"task": "sales.tasks.anonymize_stale_leads", "schedule": crontab(hour=3, minute=40)},
    "sales-daily-reports": {"task": "sales.tasks.generate_daily_reports", "schedule": crontab(hour=20, minute=0)},
    "sales-weekly-reports": {
        "task": "sales.tasks.generate_weekly_reports",
        "schedule": crontab(hour=20, minute=10, day_of_week=5),
    },
    "coupons-check-alerts": {"task": "coupons.tasks.check_coupon_alerts", "schedule": 900.0},
    "coupons-warm-dashboard": {"task": "coupons.tasks.warm_dashboard_figures", "schedule": 300.0},
    "customers-refresh-dashboard": {"task": "customers.tasks.refresh_customer_dashboard", "schedule": 600.0},
    "customers-apply-tag-rules": {"task": "customers.tasks.apply_tag_rules", "schedule": crontab(hour=2, minute=30)},
    "marketing-send-due-touches": {"task": "marketing.tasks.send_due_touches", "schedule": 60.0},
    "sales-monthly-reports": {
        "task": "sales.tasks.generate_monthly_reports",
        "schedule": crontab(hour=0, minute=30, day_of_month=1),
    },
    "contracts-dispatch-dunning": {"task": "contracts.tasks.dispatch_dunning", "schedule": crontab(hour=9, minute=0)},
    "catalog-close-withdrawn": {
        "task": "catalog.tasks.close_withdrawn_products",
        "schedule": crontab(hour=0, minute=5),
    },
    "partners-monthly-statements": {
        "task": "partners.tasks.generate_last_months_statements",
        "schedule": crontab(day_of_month=1, hour=2, minute=0),
    },
    # before the statements: the grade of the new month (the month before keeps its own)
    "partners-monthly-grades": {
        "task": "partners.tasks.recompute_grades",
        "schedule": crontab(day_of_month=1, hour=1, minute=30),
    },
    "partners-registration-expiry": {
        "task": "partners.tasks.registration_expiry",
        "schedule": crontab(hour=8, minute=0),
    },
    "partners-distribute-lead-backlog": {
        "task": "partners.tasks.distribute_lead_backlog",
        "schedule": crontab(minute=10),
    },
    "marketing-run-nurture-plans": {"task": "marketing.tasks.run_nurture_plans", "schedule": 300.0},
    "marketing-refresh-campaign-stats": {"task": "marketing.tasks.refresh_campaign_stats", "schedule": 600.0},
    "marketing-record-segment-sizes": {
        "task": "marketing.tasks.record_segment_sizes",
        "schedule": crontab(hour=3, minute=0),
    },
    "members-expire-points": {"task": "members.tasks.expire_points", "schedule": crontab(hour=0, minute=20)},
    "members-notice-expiring-points": {
        "task": "members.tasks.notice_expiring_points",
        "schedule": crontab(hour=9, minute=0),
    },
    "members-recompute-tiers": {"task": "members.tasks.recompute_tiers", "schedule": crontab(hour=2, minute=40)},
    "notifications-sweep-outbox": {
        "task": "crm.tasks.sweep_outbox",
        "schedule": 60.0,
    },
    # /healthz and /metrics read beat's last heartbeat: beat down is visible within a few minutes
    "operations-beat-heartbeat": {"task": "crm.tasks.beat_heartbeat", "schedule": HEARTBEAT_SECONDS},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["crm.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.auth.HasTokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.auth.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": os.environ.get("API_RATE_LIMIT", "600/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["crm.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "crm.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "crm.api.schema.ApiAutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
# The API's request bodies (crm.api.parsers): larger is 413, deeper nesting is 400.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", 1024 * 1024))
API_MAX_JSON_DEPTH = int(os.environ.get("API_MAX_JSON_DEPTH", 20))
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM integration API",
    # how to get a token, the scopes, a first order, 200 against 201 (docs/api-guide.md, shown on /api/docs/)
    "DESCRIPTION": (BASE_DIR / "docs" / "api-guide.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_AUTHENTICATION": ["rest_framework.authentication.SessionAuthentication"],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # the bearer scheme comes from crm.api.auth.BearerTokenScheme, on each operation once
}

AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

DJANGO_TABLES2_TEMPLATE = "crm/table.html"  # bootstrap5-responsive, headers capitalised
DJANGO_TABLES2_PAGE_RANGE = 7
FILTERS_EMPTY_CHOICE_LABEL = _("All")  # a filter left empty reads "全部" / "All", never "---------"

# LOG_FORMAT=json: one JSON object a line with the request id (crm.operations.JsonFormatter), for a
# log collector; "text" (the default) for people. Every request gets an id (X-Request-ID from the
# proxy when it sends a sane one, else a new one), answered in the X-Request-ID header.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "crm.operations.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "crm.operations.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO" if PRODUCTION else "WARNING")},
}

# Operations (crm.operations): GET /metrics (Prometheus) answers only these client addresses or
# networks (crm.addresses' client address); 404 to every other. /healthz answers everyone, with no detail
# beyond ok/failing per check. Beat's heartbeat (HEARTBEAT_SECONDS above) older than
# BEAT_MAX_AGE_SECONDS is "beat down".
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", "127.0.0.1,::1")
BEAT_MAX_AGE_SECONDS = float(os.environ.get("BEAT_MAX_AGE_SECONDS", 180))
# One beat at a time (crm.beat_lock): a second `celery beat` exits with status 3. The lock lives
# BEAT_LOCK_SECONDS after a beat dies without letting go.
BEAT_LOCK = env_bool("BEAT_LOCK", True)
BEAT_LOCK_SECONDS = int(os.environ.get("BEAT_LOCK_SECONDS", 60))
#: whether /healthz checks beat's heartbeat (off in a set-up without beat, such as the test client's)
HEALTH_CHECK_BEAT = env_bool("HEALTH_CHECK_BEAT", True)

# Demo data and services
CRM_REQUIRE_SERVICES = env_bool("CRM_REQUIRE_SERVICES", False)

# contracts (合同、回款): above this amount a contract waits for approval; overdue instalments remind
# their owner this many days after due, and escalate to the manager from CONTRACT_ESCALATE_AFTER_DAYS
CONTRACT_APPROVAL_OVER = os.environ.get("CRM_CONTRACT_APPROVAL_OVER", "500000")
CONTRACT_DUNNING_DAYS = (1, 7, 15, 30, 60, 90)
CONTRACT_ESCALATE_AFTER_DAYS = 15
CONTRACT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

# membership (会员积分): an award is valid until the end of the month this many months after it;
# its holder's owner hears of it this many days before; points for a lesson attended and a check-in
MEMBERS_POINTS_VALID_MONTHS = int(os.environ.get("CRM_POINTS_VALID_MONTHS", 12))
MEMBERS_EXPIRY_NOTICE_DAYS = 30
MEMBERS_POINTS_FOR = {"attendance": 10, "check_in": 5}
