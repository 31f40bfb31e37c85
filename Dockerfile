# GLM Web: Daphne serving HTTP and WebSockets; the same image runs the Celery worker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_ENV=production GLMWEB_VAR_DIR=/app/var MEDIA_ROOT=/app/media

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings that production mode would otherwise demand at run time.
RUN SECRET_KEY=build-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 glmweb \
    && mkdir -p /app/var /app/media && chown -R glmweb /app/var /app/media

USER glmweb
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "glmweb.asgi:application"]
