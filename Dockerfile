# GLM Web: Daphne serving HTTP and WebSockets; the same image runs the Celery worker and beat.
# docs/operations.md describes the deployment around it (compose, nginx, backups).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_ENV=production GLMWEB_VAR_DIR=/app/var MEDIA_ROOT=/app/media STATIC_ROOT=/app/staticfiles

WORKDIR /app
# Every pinned package ships a manylinux wheel for CPython 3.11 (psycopg[binary], pillow,
# aiohttp…), so the slim image needs no compiler.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time, with production's hashed, compressed names that
# WhiteNoise serves; the secret and host given here exist only for this step.
RUN SECRET_KEY=collectstatic-only-not-a-secret ALLOWED_HOSTS=localhost \
        python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 glmweb \
    && mkdir -p /app/var /app/media \
    && chown -R glmweb /app/var /app/media

USER glmweb
EXPOSE 8000

# Slim images have no curl. The probe sends the first ALLOWED_HOSTS name as Host (Django
# refuses any other) over plain HTTP (/healthz is exempt from the HTTPS redirect); any answer
# but 200, or none within the timeout, is a failure.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r; host = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); url = os.environ.get('HEALTHCHECK_URL', 'http://127.0.0.1:8000/healthz'); sys.exit(0 if r.urlopen(r.Request(url, headers={'Host': host}), timeout=8).status == 200 else 1)"]

# Behind a proxy add --proxy-headers (docker-compose.yml does), so the client's address — not
# the proxy's — is what log-in lockouts and logs see.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "glmweb.asgi:application"]
