"""Settings, read from environment variables with safe embedded defaults.

Embedded defaults (nothing to configure): SQLite under ``var/``, originals and
derived files on local disk under ``var/media/``, a Celery broker on the local
filesystem.  Production sets ``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL``
(Redis), ``DAM_STORAGE=s3`` with the ``DAM_S3_*`` variables, and
``DJANGO_SECRET_KEY``.  ``CLOUDINARY_URL=cloudinary://<key>:<secret>@<cloud>``
sets the cloud name and an API key usable by automation.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    return default if value is None else int(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


VAR_DIR = Path(env("DAM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = env("DJANGO_SECRET_KEY")
    if key:
        return key
    # Embedded default: a random key generated once and kept beside the data.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DAM_DEBUG", False)
ALLOWED_HOSTS = env_list("DAM_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DAM_CSRF_TRUSTED_ORIGINS", "")
DAM_BEHIND_PROXY = env_bool("DAM_BEHIND_PROXY", False)  # also: the client address is X-Forwarded-For's last entry
if DAM_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
# Behind the TLS-terminating proxy, cookies travel over HTTPS only and browsers are told
# to keep to HTTPS (HSTS, sent on HTTPS answers only); each can be set on its own.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DAM_SECURE_COOKIES", DAM_BEHIND_PROXY)
SECURE_HSTS_SECONDS = env_int("DAM_HSTS_SECONDS", 31_536_000 if DAM_BEHIND_PROXY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DAM_HSTS_INCLUDE_SUBDOMAINS", False)

# --- Cloud identity and the automation key -------------------------------------------
_cld = urlsplit(env("CLOUDINARY_URL", "") or "")
DAM_CLOUD_NAME = env("DAM_CLOUD_NAME") or (_cld.hostname if _cld.scheme == "cloudinary" else None) or "demo"
DAM_ENV_API_KEY = unquote(_cld.username) if _cld.scheme == "cloudinary" and _cld.username else None
DAM_ENV_API_SECRET = unquote(_cld.password) if _cld.scheme == "cloudinary" and _cld.password else None

# Public base URL used in `url`/`secure_url` of API responses (defaults to the request's host).
DAM_PUBLIC_BASE_URL = env("DAM_PUBLIC_BASE_URL")

# --- Limits ---------------------------------------------------------------------------
DAM_MAX_IMAGE_PIXELS = env_int("DAM_MAX_IMAGE_PIXELS", 100_000_000)
DAM_MAX_UPLOAD_BYTES = env_int("DAM_MAX_UPLOAD_BYTES", 100 * 1024 * 1024)
DAM_MAX_RAW_BYTES = env_int("DAM_MAX_RAW_BYTES", DAM_MAX_UPLOAD_BYTES)  # a raw file (raw or auto): assets.fileinfo
DAM_SIGNATURE_MAX_AGE = env_int("DAM_SIGNATURE_MAX_AGE", 3600)
# generate_archive (assets.archive): files in one archive, bytes of their originals/renderings
DAM_ARCHIVE_MAX_FILES = env_int("DAM_ARCHIVE_MAX_FILES", 200)
DAM_ARCHIVE_MAX_BYTES = env_int("DAM_ARCHIVE_MAX_BYTES", 2 * 1024 ** 3)
DAM_ALLOW_PRIVATE_REMOTE_URLS = env_bool("DAM_ALLOW_PRIVATE_REMOTE_URLS", False)
DAM_REMOTE_FETCH_TIMEOUT = env_int("DAM_REMOTE_FETCH_TIMEOUT", 20)  # seconds for a whole remote download, redirects included
DAM_NOTIFICATION_TIMEOUT = env_int("DAM_NOTIFICATION_TIMEOUT", 10)  # seconds for one notification POST
DAM_BACKUP_BY_DEFAULT = env_bool("DAM_BACKUP_BY_DEFAULT", False)
DAM_API_MAX_RESULTS = env_int("DAM_API_MAX_RESULTS", 500)
DAM_API_RATE_LIMIT = env_int("DAM_API_RATE_LIMIT", 5000)  # Admin API calls per hour per key, all processes
DAM_MAX_TAGS = env_int("DAM_MAX_TAGS", 1000)  # per asset (assets.metadata)
DAM_MAX_TAG_LENGTH = env_int("DAM_MAX_TAG_LENGTH", 255)
DAM_MAX_CONTEXT_KEY_LENGTH = env_int("DAM_MAX_CONTEXT_KEY_LENGTH", 100)
DAM_MAX_CONTEXT_VALUE_LENGTH = env_int("DAM_MAX_CONTEXT_VALUE_LENGTH", 1000)
DAM_MAX_CONTEXT_BYTES = env_int("DAM_MAX_CONTEXT_BYTES", 16384)  # all keys and values of one asset
DAM_LOGIN_FAILURES_PER_ACCOUNT = env_int("DAM_LOGIN_FAILURES_PER_ACCOUNT", 5)  # per window (studio.login)
DAM_LOGIN_FAILURES_PER_ADDRESS = env_int("DAM_LOGIN_FAILURES_PER_ADDRESS", 20)
DAM_LOGIN_WINDOW = env_int("DAM_LOGIN_WINDOW", 900)  # seconds
DAM_BODY_TIMEOUT = env_int("DAM_BODY_TIMEOUT", 20)  # seconds a request body may send nothing (assets.bodyguard)
DAM_BODY_MIN_RATE = env_int("DAM_BODY_MIN_RATE", 8192)  # bytes/s a body must average after DAM_BODY_TIMEOUT
DAM_TEMP_DIR = Path(env("DAM_TEMP_DIR", str(VAR_DIR / "tmp")))  # temporaries of requests and tasks
DAM_TEMP_DIR.mkdir(parents=True, exist_ok=True)
DAM_TEMP_MAX_AGE = env_int("DAM_TEMP_MAX_AGE", 24 * 3600)  # seconds; older temporaries are swept (assets.tempfiles)

# --- Delivery (transforms) ------------------------------------------------------------
DAM_WEB_THREADS = env_int("DAM_WEB_THREADS", 8)  # request threads per web worker (granian --blocking-threads)
DAM_RESERVED_THREADS = env_int("DAM_RESERVED_THREADS", 2)  # of those, never taken by long work (assets.capacity)
DAM_MAX_CONCURRENT_RENDERS = env_int("DAM_MAX_CONCURRENT_RENDERS", 2)  # renders at once, per process
DAM_RENDER_QUEUE_TIMEOUT = env_int("DAM_RENDER_QUEUE_TIMEOUT", 30)  # seconds waiting for a slot, then 429
DAM_MAX_SOURCE_PIXELS = env_int("DAM_MAX_SOURCE_PIXELS", DAM_MAX_IMAGE_PIXELS)  # largest original a render opens
DAM_MAX_OUTPUT_PIXELS = env_int("DAM_MAX_OUTPUT_PIXELS", 50_000_000)  # largest image a render may produce
DAM_RENDER_TIME_BUDGET = env_int("DAM_RENDER_TIME_BUDGET", 30)  # seconds per render, then 422
DAM_RENDER_FAILURE_TTL = env_int("DAM_RENDER_FAILURE_TTL", 600)  # seconds a timed-out render answers 422 at once
DAM_RENDER_MEMORY_BUDGET = env_int("DAM_RENDER_MEMORY_BUDGET", 512)  # megabytes one render may hold, else 400
DAM_MAX_DEPLOYMENT_RENDERS = env_int("DAM_MAX_DEPLOYMENT_RENDERS", 8)  # first renders in flight, all hosts; 0: off
DAM_STRICT_TRANSFORMATIONS = env_bool("DAM_STRICT_TRANSFORMATIONS", False)  # default; admins can override at runtime
DAM_DELIVERY_MAX_AGE = env_int("DAM_DELIVERY_MAX_AGE", 31_536_000)  # URLs naming the current version
DAM_DELIVERY_UNVERSIONED_MAX_AGE = env_int("DAM_DELIVERY_UNVERSIONED_MAX_AGE", 3600)
DAM_DELIVERY_PRIVATE_MAX_AGE = env_int("DAM_DELIVERY_PRIVATE_MAX_AGE", 3600)  # signed private/authenticated
DAM_DELIVERY_MEMO_BYTES = env_int("DAM_DELIVERY_MEMO_BYTES", 32 * 1024 * 1024)  # per web worker (transforms.memo); 0: off
DAM_ACCESS_LOG = env_bool("DAM_ACCESS_LOG", True)  # config.accesslog; off when the proxy in front logs

# --- Applications ---------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_htmx",
    "config",  # first: its ready() loads Celery's configuration (config.apps)
    "assets",
    "transforms",
    "refiners",
    "studio",
]

MIDDLEWARE = [
    "assets.middleware.RequestIdMiddleware",
    # GET/HEAD of /<cloud>/image/...: straight to the delivery view (no sessions, auth, csrf...)
    "transforms.middleware.DeliveryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), conn_max_age=env_int("DAM_DB_CONN_MAX_AGE", 60)
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers proceed during a write; IMMEDIATE transactions take the write
    # lock up front so concurrent writers queue instead of failing with "locked".
    # Connections persist (DAM_DB_CONN_MAX_AGE, as for PostgreSQL): opening one costs more
    # than a cached delivery, and WAL readers never block the writer.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    if env("DAM_TEST_DB_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": env("DAM_TEST_DB_NAME")}
elif env("DAM_TEST_DB_SUFFIX"):
    # Concurrent test sessions against one server each get their own test database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{env('DAM_TEST_DB_SUFFIX')}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Storage: `default` holds originals, `derived` holds rendered files -------------
DAM_STORAGE = env("DAM_STORAGE", "local")
MEDIA_ROOT = Path(env("DAM_MEDIA_ROOT", str(VAR_DIR / "media")))
if DAM_STORAGE == "s3":
    _s3 = {
        "bucket_name": env("DAM_S3_BUCKET"),
        "endpoint_url": env("DAM_S3_ENDPOINT_URL"),
        "region_name": env("DAM_S3_REGION"),
        "access_key": env("DAM_S3_ACCESS_KEY_ID"),
        "secret_key": env("DAM_S3_SECRET_ACCESS_KEY"),
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**_s3, "location": "originals"}},
        "derived": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**_s3, "location": "derived"}},
    }
elif DAM_STORAGE == "local":
    STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MEDIA_ROOT / "originals")},
        },
        "derived": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MEDIA_ROOT / "derived")},
        },
    }
else:
    raise RuntimeError(f"DAM_STORAGE must be 'local' or 's3', not {DAM_STORAGE!r}")
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Request bodies: files stream to disk past 2.5 MB; a data URI in a form field may be large.
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = int(DAM_MAX_UPLOAD_BYTES * 1.4) + 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
FILE_UPLOAD_TEMP_DIR = str(DAM_TEMP_DIR)
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler", "assets.tempfiles.UploadHandler"]

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = Path(env("DAM_QUEUE_DIR", str(VAR_DIR / "queue")))
    for _sub in ("messages", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "messages"),
        "data_folder_out": str(_queue_dir / "messages"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = env("DAM_CELERY_QUEUE", "dam")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("DAM_CELERY_ALWAYS_EAGER", False)
# The analysis of each stored version, face detection (transforms.ai.faces) and the image
# metadata (assets.tasks.compute_image_metadata), has a queue of its own, consumed by a
# worker of its own (the Procfile's ``faces:`` line), so a bulk upload's analyses never
# hold up the main queue's eager renders and notifications.
DAM_FACES_QUEUE = env("DAM_FACES_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-faces")

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "assets.api.errors.exception_handler",
    # JSON whatever the Accept header says; OPTIONS names the methods, nothing more
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "assets.api.json_only.JsonOnly",
    "DEFAULT_METADATA_CLASS": "assets.api.json_only.MethodsOnly",
}

# --- Auth, i18n, logging --------------------------------------------------------------
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DAM_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "pyvips": {"level": "WARNING"}},
}

# --- AI models (transforms.ai; fetched by `manage.py fetch_models`, never at run time) ---
# A cache outside the repository, shared by every clone (CI runs in a fresh clone).
DAM_MODEL_DIR = Path(env("DAM_MODEL_DIR", str(Path.home() / ".cache" / "dam" / "models")))
DAM_ISNET_MODEL = Path(env("DAM_ISNET_MODEL", str(DAM_MODEL_DIR / "isnet-medium.onnx")))  # background removal
DAM_NANODET_MODEL = Path(env("DAM_NANODET_MODEL", str(DAM_MODEL_DIR / "nanodet-m-416.onnx")))  # hints_(...)
DAM_CENTERFACE_MODEL = Path(env("DAM_CENTERFACE_MODEL", str(DAM_MODEL_DIR / "centerface-dynamic.onnx")))  # faces
DAM_UPSCALE_MODEL = Path(env("DAM_UPSCALE_MODEL", str(DAM_MODEL_DIR / "esrgan-slim-x4.onnx")))  # e_upscale
DAM_FACE_DETECTION = env_bool("DAM_FACE_DETECTION", True)  # detect faces after upload and on demand (CenterFace)
DAM_AI_THREADS = env_int("DAM_AI_THREADS", 2)  # onnxruntime intra-op threads per inference
DAM_BG_REMOVAL_MAX_PIXELS = env_int("DAM_BG_REMOVAL_MAX_PIXELS", 2048 * 2048)  # larger inputs are scaled down
DAM_BG_REMOVAL_RETRY_AFTER = env_int("DAM_BG_REMOVAL_RETRY_AFTER", 3)  # Retry-After (s) of the 423 answer
# Generation back-ends (transforms.ai.generation): local PatchMatch unless one of these is set; the operator's
# own servers, so loopback/private addresses are fine.
DAM_INPAINT_URL = env("DAM_INPAINT_URL", "")  # IOPaint-compatible server: POST <url>/api/v1/inpaint
DAM_INPAINT_PROMPTS = env_bool("DAM_INPAINT_PROMPTS", False)  # it runs a diffusion model that reads prompts
DAM_IMAGE_EDIT_URL = env("DAM_IMAGE_EDIT_URL", "")  # OpenAI-compatible images edits endpoint (full URL)
DAM_IMAGE_EDIT_KEY = env("DAM_IMAGE_EDIT_KEY", "")  # its bearer key
DAM_IMAGE_EDIT_MODEL = env("DAM_IMAGE_EDIT_MODEL", "gpt-image-1")
DAM_IMAGE_EDIT_SIZE = env("DAM_IMAGE_EDIT_SIZE", "auto")  # the `size` field sent
DAM_GENERATION_TIMEOUT = env_int("DAM_GENERATION_TIMEOUT", 120)  # seconds per call to a back-end, retries included
DAM_GENERATION_RETRIES = env_int("DAM_GENERATION_RETRIES", 2)  # after connection errors, 5xx, 429
DAM_GENERATION_MAX_SIDE = env_int("DAM_GENERATION_MAX_SIDE", 2048)  # longer images are sent scaled down
DAM_GENERATION_MAX_BYTES = env_int("DAM_GENERATION_MAX_BYTES", 50 * 1024 * 1024)  # larger answers are refused
DAM_AI_UNSIGNED_OPTION_SETS = env_int("DAM_AI_UNSIGNED_OPTION_SETS", 3)  # per asset version, defaults included
DAM_AI_MAX_PENDING = env_int("DAM_AI_MAX_PENDING", 8)  # model runs queued or running, whole deployment (429)
DAM_AI_MAX_PENDING_PER_CLIENT = env_int("DAM_AI_MAX_PENDING_PER_CLIENT", 2)  # of those, per anonymous client
DAM_AI_HEARTBEAT = env_int("DAM_AI_HEARTBEAT", 10)  # seconds between a running AI job's signs of life
DAM_AI_QUEUE = env("DAM_AI_QUEUE", "")  # the Celery queue of AI jobs (""= the default queue): for dedicated workers
DAM_AI_JOB_TIME_LIMIT = env_int("DAM_AI_JOB_TIME_LIMIT", 300)  # seconds for the steps before a generative one
DAM_AI_STALE_AFTER = env_int("DAM_AI_STALE_AFTER", 60)  # an AI job silent this long is lost: the next request re-queues it

# --- Image Generation API (assets.generation; /v2/generate/<cloud>/...) ---
# The operator's own back-ends (loopback/private addresses fine): an OpenAI-compatible API whose
# <url>/images/generations serves every model family, unless DAM_IMAGE_GENERATION_BACKENDS (JSON: family or
# model id -> {"url", "key", "model"?, "kind": "openai"}) maps some to others.
DAM_IMAGE_GENERATION_URL = env("DAM_IMAGE_GENERATION_URL", "")
DAM_IMAGE_GENERATION_KEY = env("DAM_IMAGE_GENERATION_KEY", "")  # its bearer key
DAM_IMAGE_GENERATION_BACKENDS = env("DAM_IMAGE_GENERATION_BACKENDS", "")
DAM_IMAGE_GENERATION_TIMEOUT = env_int("DAM_IMAGE_GENERATION_TIMEOUT", 180)  # seconds per generation, retries included
DAM_IMAGE_GENERATION_RETRIES = env_int("DAM_IMAGE_GENERATION_RETRIES", 2)  # after connection errors, 5xx, 429
DAM_IMAGE_GENERATION_MAX_BYTES = env_int("DAM_IMAGE_GENERATION_MAX_BYTES", 64 * 1024 * 1024)  # a larger answer fails
DAM_IMAGE_GENERATION_MAX_PIXELS = env_int("DAM_IMAGE_GENERATION_MAX_PIXELS", 4096 * 4096)  # asked for or answered
DAM_IMAGE_GENERATION_MONTHLY_QUOTA = env_int("DAM_IMAGE_GENERATION_MONTHLY_QUOTA", 500)  # per API key, calendar month
DAM_IMAGE_GENERATION_MAX_CONCURRENT = env_int("DAM_IMAGE_GENERATION_MAX_CONCURRENT", 2)  # sync ones per web process
DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY = env_int("DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY", 8)  # async (429)
DAM_IMAGE_GENERATION_TEMPORARY_TTL = env_int("DAM_IMAGE_GENERATION_TEMPORARY_TTL", 24 * 3600)  # s a temporary lives
DAM_IMAGE_GENERATION_QUEUE = env("DAM_IMAGE_GENERATION_QUEUE", "")  # Celery queue of async generations ("": default)
# ImageKit's ik-genimg-prompt-<text>/ path (transforms.imagekit.genimg): generations started from unsigned URLs per
# calendar month for the whole deployment (0: signed URLs only); signed ones count against the signing key's quota.
DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY = env_int("DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY", 20)
