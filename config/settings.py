"""Settings for the "Made in Central Asia" registry.

With no environment set this is the embedded default: SQLite under var/, Celery tasks run
eagerly, mail goes to the console, files and signing keys live under var/. Production sets
DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY and friends (README, "Configuration").
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DATABASE_URL = env_str("DATABASE_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")

DEBUG = env_bool("DEBUG", DATABASE_URL is None)

_EMBEDDED_SECRET = "embedded-default-only-not-for-production-" + "x" * 24
SECRET_KEY = env_str("SECRET_KEY", _EMBEDDED_SECRET if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL])

INSTALLED_APPS = [
    # django.contrib.admin, with django-otp's admin site (config/admin.py).
    "config.apps.RegistryAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_otp",
    "django_filters",
    "portal",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "registry",
    "certification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Takes Vary: Accept-Language off the key sets, status lists and checkpoints again.
    "config.middleware.LanguageIndependentMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session's second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Reviewers' and the secretariat's sessions end after SESSION_IDLE_MINUTES unused.
    "portal.sessions.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: SQLite under var/ unless DATABASE_URL names PostgreSQL.
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600, minimum=0),
            conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # psycopg prepares a statement on the server once it ran this many times on a
        # connection, so PostgreSQL stops planning it anew. Only the server-side-binding
        # cursor of certification/verification/lookup.py is affected: Django's own cursor binds
        # client-side and never prepares. "off" behind a pooler that cannot keep prepared
        # statements (PgBouncer in transaction mode before 1.21).
        _prepare = env_str("DATABASE_PREPARE_THRESHOLD", "5")
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
            None
            if _prepare.lower() == "off"
            else env_int("DATABASE_PREPARE_THRESHOLD", 5, minimum=0)
        )
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "registry.sqlite3",
            # IMMEDIATE takes the write lock at BEGIN, so the counter row that allocates
            # certificate numbers and the audit chain head serialise as on PostgreSQL.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "registry.User"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages of the six member states plus English and Russian (docs/api.md).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("ru", "Русский"),
    ("uz", "Oʻzbekcha"),
    ("kk", "Қазақша"),
    ("ky", "Кыргызча"),
    ("tg", "Тоҷикӣ"),
    ("tk", "Türkmençe"),
    ("az", "Azərbaycanca"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers per language: Django's formats, with ours where it has none (Kazakh),
# where its own are wrong for the script (Turkmen) or for an international reader (English).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the one stylesheet of every page
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Signing keys (docs/api.md): generated on first use only on the embedded default;
# in production provisioned with `manage.py rotate_signing_key` into SIGNING_KEYS_DIR.
_SIGNING_KEYS_DIR = env_str("SIGNING_KEYS_DIR")
SIGNING_KEYS_DIR = Path(_SIGNING_KEYS_DIR) if _SIGNING_KEYS_DIR else VAR_DIR / "keys"
SIGNING_KEYS_AUTOCREATE = _SIGNING_KEYS_DIR is None
# New key files are encrypted with this passphrase (PEM, BestAvailableEncryption) when set;
# files already encrypted need it to be read (docs/operations.md, "Signing keys").
SIGNING_KEYS_PASSPHRASE = env_str("SIGNING_KEYS_PASSPHRASE")

# Secrets at rest (registry/sealing.py): webhook secrets and authenticator keys are stored
# encrypted with SECRETS_KEYS (comma-separated Fernet keys; the first encrypts, all decrypt).
# Without it the embedded default (DEBUG) generates a key into var/secrets.key; otherwise
# the web server and workers refuse to start.
SECRETS_KEYS = env_list("SECRETS_KEYS", [])
SECRETS_KEYS_AUTOCREATE = not SECRETS_KEYS and DEBUG

# Accounts (docs/operations.md, "Accounts and sign-in"): API tokens last API_TOKEN_DAYS
# unless the secretariat allows a customs account longer (up to a year); after a few failed
# sign-ins from one address for one account each further try waits twice as long, at most
# LOGIN_DELAY_MAX_SECONDS; reviewers' and the secretariat's sessions end after
# SESSION_IDLE_MINUTES without a request.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90, minimum=1, maximum=365)
LOGIN_DELAY_MAX_SECONDS = env_int("LOGIN_DELAY_MAX_SECONDS", 300, minimum=1, maximum=3600)
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30, minimum=1, maximum=24 * 60)

# Signed status lists (docs/api.md): each state's suspended and revoked certificates at
# /.well-known/mca-status/{CC}.jws, valid (exp) for STATUS_LIST_VALID_HOURS after they are
# made, cached by clients for STATUS_LIST_MAX_AGE_SECONDS.
STATUS_LIST_VALID_HOURS = env_int("STATUS_LIST_VALID_HOURS", 24, minimum=2, maximum=24 * 7)
STATUS_LIST_MAX_AGE_SECONDS = env_int("STATUS_LIST_MAX_AGE_SECONDS", 60, minimum=0, maximum=3600)

# Audit checkpoints (docs/operations.md): each signed head of the audit chain is also
# appended as a JSON line to AUDIT_CHECKPOINT_FILE and mailed to AUDIT_CHECKPOINT_EMAILS, so
# that copies live outside the database.
AUDIT_CHECKPOINT_FILE = env_str("AUDIT_CHECKPOINT_FILE")
AUDIT_CHECKPOINT_EMAILS = env_list("AUDIT_CHECKPOINT_EMAILS", [])

WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", DEBUG)
# Webhook POSTs: one timeout for connect and for each read or write, no redirects.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1, maximum=60)

# The outbox (certification/notifications/dispatch.py): a claimed event or delivery is leased for
# OUTBOX_LEASE_SECONDS (longer than a task may run), so a worker that dies mid-send loses
# nothing; failed deliveries are retried after OUTBOX_RETRY_BASE_SECONDS, doubling up to
# OUTBOX_RETRY_MAX_DELAY_SECONDS, for OUTBOX_RETRY_HOURS, then marked failed. Beat sweeps
# due work every OUTBOX_SWEEP_SECONDS.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300, minimum=1)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 30, minimum=1)
OUTBOX_RETRY_MAX_DELAY_SECONDS = env_int("OUTBOX_RETRY_MAX_DELAY_SECONDS", 3600, minimum=1)
OUTBOX_RETRY_HOURS = env_int("OUTBOX_RETRY_HOURS", 24, minimum=1)
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 30, minimum=1)
# With eager tasks (the embedded default) dispatch runs in a thread after the commit, so a
# slow receiver never slows the request; the test suite runs it inline.
OUTBOX_EAGER_IN_THREAD = True
# /healthz fails when due outbox work waits longer than this, or beat's heartbeat (sent
# every BEAT_HEARTBEAT_SECONDS) is older than HEALTH_BEAT_MAX_AGE_SECONDS.
HEALTH_OUTBOX_MAX_DELAY_SECONDS = env_int("HEALTH_OUTBOX_MAX_DELAY_SECONDS", 600, minimum=1)
BEAT_HEARTBEAT_SECONDS = env_int("BEAT_HEARTBEAT_SECONDS", 60, minimum=1)
HEALTH_BEAT_MAX_AGE_SECONDS = env_int(
    "HEALTH_BEAT_MAX_AGE_SECONDS", 3 * BEAT_HEARTBEAT_SECONDS, minimum=1
)

# Mail: the console on the embedded default, SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
elif env_str("EMAIL_FILE_PATH"):
    # Each email as a file in this folder (staging, and the real-worker tests).
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Made in Central Asia <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: eager on the embedded default, Redis in production.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
# Publishing must not hold a request for long when the broker is down: the outbox row is
# committed already and beat's sweep queues it once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Beat's schedule. Periodic tasks expire when not run in time: the next run does the work.
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "certification.sweep_outbox",
        "schedule": OUTBOX_SWEEP_SECONDS,
        "options": {"expires": OUTBOX_SWEEP_SECONDS},
    },
    "heartbeat": {
        "task": "certification.heartbeat",
        "schedule": BEAT_HEARTBEAT_SECONDS,
        "options": {"expires": BEAT_HEARTBEAT_SECONDS},
    },
    # Every member state's zone is 4-6 hours ahead of UTC, so at 00:05 UTC the previous
    # day has ended everywhere; 03:00 UTC is morning in all six states.
    "record-expiries": {
        "task": "certification.record_expiries",
        "schedule": crontab(hour=0, minute=5),
        "options": {"expires": 3600},
    },
    "expiry-reminders": {
        "task": "certification.send_expiry_reminders",
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": 3600},
    },
    # Every status change publishes its state's list at once; this renews all six lists
    # (iat, exp) and catches a change whose task was lost.
    "status-lists": {
        "task": "certification.publish_status_lists",
        "schedule": crontab(minute=5),
        "options": {"expires": 3600},
    },
    "audit-checkpoint": {
        "task": "certification.audit_checkpoint",
        "schedule": crontab(minute=0),
        "options": {"expires": 3600},
    },
}

# Security: strict unless DEBUG; SECURE_SSL_REDIRECT may be turned off behind a proxy that
# already redirects.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Health probes of the orchestrator speak plain http from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
)
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every step of every certificate PDF at INFO, fontTools each subset.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Cache: per process on the embedded default; Redis in production so that throttling
# counts across gunicorn workers.
CACHE_URL = env_str("CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# The REST API (docs/api.md).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "certification.api.authentication.ApiTokenAuthentication",
        "certification.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "certification.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "certification.api.throttling.AddressThrottle",
        "certification.api.throttling.TokenThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # Customs verify in bulk as a matter of course: generous per token and address.
        "address": env_str("THROTTLE_ADDRESS", "3000/min"),
        "token": env_str("THROTTLE_TOKEN", "1200/min"),
        "customs": env_str("THROTTLE_CUSTOMS", "6000/min"),
        # Stricter on auth/, never below 30 a minute per address (docs/api.md).
        "auth": env_str("THROTTLE_AUTH", "60/min"),
        # Sign-in on the pages: per address, and per account from any address.
        "login": env_str("THROTTLE_LOGIN", "20/min"),
        "login_account": env_str("THROTTLE_LOGIN_ACCOUNT", "10/h"),
    },
    "EXCEPTION_HANDLER": "certification.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # How many proxies in front append to X-Forwarded-For: the throttles count the address
    # that many hops back. 0 (the default) counts the connection's own address, so a
    # client cannot pick its "address" by sending the header itself.
    "NUM_PROXIES": env_int("TRUSTED_PROXIES", 0, minimum=0, maximum=5),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Made in Central Asia registry API",
    "DESCRIPTION": (
        "Manufacturers apply for the label, national reviewers decide, customs verify "
        "certificates. Every error answers `{\"error\": {\"code\", \"message\", \"fields\"}}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "certification.models.Application.Status",
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
