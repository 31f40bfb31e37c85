"""Settings, all read from the environment (or a .env file beside manage.py).

Nothing configured means the embedded defaults of a fresh machine: SQLite, an in-memory
channel layer and a Celery broker on the local filesystem. DATABASE_URL and REDIS_URL
switch to PostgreSQL and Redis. DJANGO_ENV=production makes every secret mandatory.
"""
import os
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        # The WebSocket origin check trusts ALLOWED_HOSTS; a wildcard would let any site
        # open sockets with a visitor's cookies.
        raise ImproperlyConfigured("ALLOWED_HOSTS must list real host names in production, never '*'.")
    DEBUG = env.bool("DEBUG", default=False)
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
    DEBUG = env.bool("DEBUG", default=True)

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "accounts",
    "chat",
    "images",
    "usage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "glmweb.urls"
ASGI_APPLICATION = "glmweb.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "glmweb.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
VAR_DIR = Path(env.str("GLMWEB_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# An empty value (a blank line in .env) means "not set", like a missing one.
_DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(env.str("DATABASE_URL", default="") or _DEFAULT_DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not pytest's in-memory default: the test server and worker processes share it
    # (they are handed its path). One per test run, so two runs on one machine never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
    # Keep connections open (unless the URL says otherwise): opening one runs the PRAGMAs, and
    # closing the last one checkpoints the WAL, which cost half of the sync thread's time when
    # every database call opened and closed its own.
    if "conn_max_age" not in (env.str("DATABASE_URL", default="") or ""):
        DATABASES["default"]["CONN_MAX_AGE"] = 600
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_glmweb_{os.getpid()}")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, broker, cache ----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub, not channels-redis's list-based layer: that layer pops one message
            # per few Redis round trips for all of a process's sockets together, and at a few
            # hundred streaming replies its backlog grew until events expired unread. A reply's
            # events are only of use while it is written, so pub/sub's at-most-once delivery
            # loses nothing a socket needs (a reconnecting socket reads the text from the
            # runner's snapshot or the database).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default: without a longer one, an
            # idle subscription read fails with a TimeoutError.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "glmweb.channel_layer.LocalChannelLayer", "CONFIG": {"capacity": 1000}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A broker that needs no server: messages are files under var/, so a real worker process
    # (not eager mode) consumes what the web process queues.
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Broadcast (remote control) messages; kombu would otherwise write ./control/.
        "control_folder": str(_broker_dir / "control"),
    }

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- GLM ----------------------------------------------------------------------------------
ZHIPUAI_API_KEY = env.str("ZHIPUAI_API_KEY", default="")
ZHIPUAI_BASE_URL = env.str("ZHIPUAI_BASE_URL", default="https://open.bigmodel.cn/api/paas/v4")
# Set by the launcher when it starts the bundled emulator because no key was configured.
GLM_OFFLINE_DEMO = env.bool("GLM_OFFLINE_DEMO", default=False)
GLM_RPM_TIER = env.str("GLM_RPM_TIER", default="free")
if GLM_RPM_TIER not in ("free", "paid"):
    raise ImproperlyConfigured("GLM_RPM_TIER must be 'free' or 'paid'.")
GLM_CONNECT_TIMEOUT = env.float("GLM_CONNECT_TIMEOUT", default=8.0)
GLM_READ_TIMEOUT = env.float("GLM_READ_TIMEOUT", default=120.0)
GLM_MAX_RETRIES = env.int("GLM_MAX_RETRIES", default=3)
# Prices in yuan per million tokens (input, output), overriding the manual's table, e.g.
# GLM_PRICES=glm-4v-plus:10:10,glm-5:30:90
GLM_PRICE_OVERRIDES = env.str("GLM_PRICES", default="")

CHAT_MODELS = ["glm-5", "glm-4-plus", "glm-4-air", "glm-4-flash", "glm-4-long"]
CHAT_DEFAULT_MODEL = env.str("CHAT_DEFAULT_MODEL", default="glm-4-flash")
CHAT_DEFAULT_TEMPERATURE = env.float("CHAT_DEFAULT_TEMPERATURE", default=0.95)
CHAT_DEFAULT_TOP_P = env.float("CHAT_DEFAULT_TOP_P", default=0.7)
CHAT_TITLE_MODEL = "glm-4-flash"
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=32000)
# While a reply streams, its text reaches the database at most this often (and at the end).
CHAT_FLUSH_INTERVAL_SECONDS = env.float("CHAT_FLUSH_INTERVAL_SECONDS", default=3.0)
CHAT_MAX_OUTPUT_TOKENS = env.int("CHAT_MAX_OUTPUT_TOKENS", default=4096)
# When the server is stopped, replies being written get this long to finish before they are
# saved as interrupted.
CHAT_SHUTDOWN_GRACE_SECONDS = env.float("CHAT_SHUTDOWN_GRACE_SECONDS", default=10.0)

# --- Accounts -------------------------------------------------------------------------------
SIGNUP_ENABLED = env.bool("SIGNUP_ENABLED", default=True)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language, time -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default="") or VAR_DIR / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request without it

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the chat page reads it to send uploads
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}

# Money is Decimal yuan; this is the precision costs are stored and shown with.
YUAN_QUANTUM = Decimal("0.000001")

# --- Photos -------------------------------------------------------------------------------
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
# Checked from the header before decoding; well under Pillow's own bomb threshold (~89 MP).
ATTACHMENT_MAX_PIXELS = env.int("ATTACHMENT_MAX_PIXELS", default=50_000_000)
VISION_MODEL = env.str("VISION_MODEL", default="glm-4v-plus")
# The 4v models have an 8K context shared by the images (about 1,000 tokens each) and the reply.
VISION_MAX_OUTPUT_TOKENS = env.int("VISION_MAX_OUTPUT_TOKENS", default=1024)

# --- Usage: budgets, rate limits, the spend page --------------------------------------------


def _optional_yuan(name: str) -> Decimal | None:
    """A yuan amount from the environment; empty means no limit."""
    raw = env.str(name, default="").strip()
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except ArithmeticError:
        raise ImproperlyConfigured(f"{name} must be an amount in yuan, such as 50 or 12.5, or empty.") from None
    if not amount.is_finite() or amount < 0:
        raise ImproperlyConfigured(f"{name} must be a non-negative amount in yuan, or empty.")
    return amount


def _model_rpm(name: str) -> dict[str, int]:
    """Requests per minute by model, from entries such as "glm-4-flash:50,glm-5:20"."""
    limits = {}
    for entry in env.list(name, default=[]):
        model, _sep, value = entry.partition(":")
        if not model.strip() or not value.strip().isdigit() or int(value) < 1:
            raise ImproperlyConfigured(f'{name}: bad entry "{entry}", expected model:REQUESTS_PER_MINUTE.')
        limits[model.strip().lower()] = int(value)
    return limits


# Monthly spend per user in yuan (a user's own budget in the admin replaces it); empty: unlimited.
USAGE_DEFAULT_MONTHLY_BUDGET = _optional_yuan("USAGE_DEFAULT_MONTHLY_BUDGET")
# Monthly spend of the whole site in yuan; empty: unlimited.
USAGE_SITE_MONTHLY_CAP = _optional_yuan("USAGE_SITE_MONTHLY_CAP")
# The account menu warns from this share of the budget on.
USAGE_BUDGET_WARNING_RATIO = Decimal("0.8")
# Requests per minute one user may start (replies, images); 0 turns the limit off.
USAGE_USER_RPM = env.int("USAGE_USER_RPM", default=20)
# Per-model requests per minute, kept under the manual's table for GLM_RPM_TIER; entries here
# replace the table's values, e.g. USAGE_MODEL_RPM=glm-4-flash:50,glm-5:20.
USAGE_MODEL_RPM = _model_rpm("USAGE_MODEL_RPM")
USAGE_MODEL_LIMITS_ENABLED = env.bool("USAGE_MODEL_LIMITS_ENABLED", default=True)
# How long a request waits for a free slot of its model before the user is told "busy".
USAGE_MODEL_SLOT_WAIT_SECONDS = env.float("USAGE_MODEL_SLOT_WAIT_SECONDS", default=5.0)
# Namespace of the limiter's keys in Redis (several sites may share one Redis).
USAGE_RATE_LIMIT_PREFIX = env.str("USAGE_RATE_LIMIT_PREFIX", default="glmweb:rate")
# Users listed per page on the spend page, calls per page on a user's spend page.
USAGE_SPEND_USERS_PER_PAGE = 50
USAGE_SPEND_CALLS_PER_PAGE = 50

TEMPLATES[0]["OPTIONS"]["context_processors"].append("usage.context_processors.budget")

# --- Operations: security headers, login protection, health, structured logs -----------------
from datetime import timedelta  # noqa: E402

INSTALLED_APPS += ["glmweb", "axes"]
# The policy goes on every response (WhiteNoise's too); request ids are bound once the session
# is known; django-axes must come last.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "glmweb.csp.ContentSecurityPolicyMiddleware"
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "glmweb.request_log.RequestContextMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")

# Password guessing: after LOGIN_FAILURE_LIMIT wrong passwords for one username from one
# address, that pair is refused (site login and admin alike) until the cool-off has passed.
# Keyed on the pair so nobody can lock a colleague out from elsewhere; spraying many usernames
# from one address is for the proxy's rate limit (docs/operations.md). Behind a proxy the
# address is the client's only if Daphne runs with --proxy-headers.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "glmweb.lockout.locked_out"

# Logs: one JSON object per line in production (glmweb/json_logs.py), readable text otherwise;
# both carry the request id and user id (glmweb/log_context.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "glmweb.log_context.LogContextFilter"}},
    "formatters": {
        "json": {"()": "glmweb.json_logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s user=%(user_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        # Below these levels the HTTP clients and SDKs log request bodies: message text.
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "httpcore2": {"level": "WARNING"},
        "openai": {"level": "INFO"},
        "zhipuai": {"level": "INFO"},
    },
}
# Workers log through the same handlers and format as the web process.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# /healthz: how long each check (database, channel layer, broker) may take before it counts
# as failed; keep it under the HEALTHCHECK timeout of the Dockerfile.
HEALTHZ_TIMEOUT_SECONDS = env.float("HEALTHZ_TIMEOUT_SECONDS", default=3.0)

# --- Production ---------------------------------------------------------------------------
if PRODUCTION:
    # Docker's HEALTHCHECK and load balancers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a one-way submission to the browsers' lists, the operator's decision
        # (SECURE_HSTS_PRELOAD=True); not making it is no deployment fault.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Images ---------------------------------------------------------------------------------
# CogView models offered in the gallery; the chat's generate_image tool uses IMAGE_TOOL_MODEL.
IMAGE_MODELS = env.list("IMAGE_MODELS", default=["cogview-4", "cogview-4-250304", "cogview-3-flash"])
IMAGE_DEFAULT_MODEL = env.str("IMAGE_DEFAULT_MODEL", default="cogview-4")
IMAGE_TOOL_MODEL = env.str("IMAGE_TOOL_MODEL", default="cogview-4")
# Queued plus running jobs one user may have; more are refused with a message.
IMAGE_MAX_ACTIVE_JOBS_PER_USER = env.int("IMAGE_MAX_ACTIVE_JOBS_PER_USER", default=3)
IMAGE_MAX_PROMPT_CHARS = env.int("IMAGE_MAX_PROMPT_CHARS", default=1000)
IMAGE_GALLERY_PAGE_SIZE = env.int("IMAGE_GALLERY_PAGE_SIZE", default=24)
IMAGE_THUMBNAIL_SIZE = env.int("IMAGE_THUMBNAIL_SIZE", default=512)
# 1302/1305/5xx/timeouts: this many retries after the first request, with full-jitter
# exponential backoff from IMAGE_RETRY_BASE_DELAY up to IMAGE_RETRY_MAX_DELAY seconds.
IMAGE_MAX_RETRIES = env.int("IMAGE_MAX_RETRIES", default=3)
IMAGE_RETRY_BASE_DELAY = env.float("IMAGE_RETRY_BASE_DELAY", default=2.0)
IMAGE_RETRY_MAX_DELAY = env.float("IMAGE_RETRY_MAX_DELAY", default=30.0)
# Seconds to wait for CogView's answer to one request (it renders before it answers).
IMAGE_GENERATION_TIMEOUT = env.float("IMAGE_GENERATION_TIMEOUT", default=180.0)
# The picture's download from CogView's temporary URL.
IMAGE_DOWNLOAD_MAX_BYTES = env.int("IMAGE_DOWNLOAD_MAX_BYTES", default=20 * 1024 * 1024)
IMAGE_DOWNLOAD_CONNECT_TIMEOUT = env.float("IMAGE_DOWNLOAD_CONNECT_TIMEOUT", default=5.0)
IMAGE_DOWNLOAD_READ_TIMEOUT = env.float("IMAGE_DOWNLOAD_READ_TIMEOUT", default=15.0)
IMAGE_DOWNLOAD_TIMEOUT = env.float("IMAGE_DOWNLOAD_TIMEOUT", default=60.0)
# How long a running job belongs to the worker that took it. It must outlast the longest run
# (retries, timeouts and the download); the task's time limits are derived from it, so a run
# is stopped before another worker may take its job over.
IMAGE_JOB_LEASE_SECONDS = env.int("IMAGE_JOB_LEASE_SECONDS", default=900)
if IMAGE_JOB_LEASE_SECONDS < 60:
    raise ImproperlyConfigured("IMAGE_JOB_LEASE_SECONDS must be at least 60.")
# A job that has taken down its worker this many times is failed instead of run again.
IMAGE_JOB_MAX_RUNS = env.int("IMAGE_JOB_MAX_RUNS", default=5)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not DATABASES["default"].get("TEST"):
    # Worker processes in the tests open the test database by name, so it must be a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

# A broker of one's own: a test run (or a second site on the machine) keeps its messages apart.
_celery_broker_dir = env.str("CELERY_BROKER_DIR", default="")
if _celery_broker_dir and not REDIS_URL:
    for _sub in ("queue", "processed"):
        (Path(_celery_broker_dir) / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(Path(_celery_broker_dir) / "queue"),
        "data_folder_out": str(Path(_celery_broker_dir) / "queue"),
        "processed_folder": str(Path(_celery_broker_dir) / "processed"),
    }
_celery_key_prefix = env.str("CELERY_BROKER_KEY_PREFIX", default="")
if _celery_key_prefix and REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": _celery_key_prefix}

# A channel-layer key prefix of one's own (Redis only), so that processes started together
# (a test run's web process and its workers) share events that other runs never see.
_channel_layer_prefix = env.str("CHANNEL_LAYER_PREFIX", default="")
if _channel_layer_prefix and REDIS_URL:
    CHANNEL_LAYERS["default"]["CONFIG"] = {**CHANNEL_LAYERS["default"]["CONFIG"], "prefix": _channel_layer_prefix}

# How long a worker waits for the result of a pool process that died before it gives the
# message back (reject_on_worker_lost). Results are not kept here, so waiting gains nothing.
CELERY_WORKER_LOST_WAIT = env.float("CELERY_WORKER_LOST_WAIT", default=10.0)

# Only with `celery -A glmweb beat` running; every worker also does this once when it starts.
CELERY_BEAT_SCHEDULE = {
    "images-requeue-stalled-jobs": {"task": "images.requeue_stalled_jobs", "schedule": 300.0},
}
