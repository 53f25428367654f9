# The application image for docker-compose.yml: web (gunicorn, which also serves
# the web console at /), worker and beat.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential default-libmysqlclient-dev pkg-config gettext \
    && rm -rf /var/lib/apt/lists/*
COPY requirements/ /tmp/requirements/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements/production.txt

# The OpenAPI schema the console's client types are generated from, and the
# compiled zh-Hans catalogue (gettext's msgfmt lives in this stage only).
FROM build AS schema
WORKDIR /src
COPY . .
RUN DJANGO_SETTINGS_MODULE=config.settings.base VAR_DIR=/tmp/var \
    /opt/venv/bin/python manage.py spectacular --file /schema.yaml \
    && DJANGO_SETTINGS_MODULE=config.settings.base VAR_DIR=/tmp/var \
    /opt/venv/bin/python manage.py compilemessages --ignore=frontend -v 0

# The web console: the same build a CDN would host (VITE_API_BASE_URL empty:
# the API is on the origin that serves it).
FROM node:20-bookworm-slim AS console
ARG VITE_API_BASE_URL=
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json frontend/.npmrc ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
COPY --from=schema /schema.yaml /schema.yaml
RUN SCHEMA_FILE=/schema.yaml VITE_API_BASE_URL="$VITE_API_BASE_URL" npm run build

FROM python:3.11-slim
# The build this image is (a commit or version), for Sentry's release tag.
ARG APP_RELEASE=""
# libmariadb3 is the client library mysqlclient was built against in the build stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    VAR_DIR=/app/var \
    APP_RELEASE=$APP_RELEASE
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=app:app . .
COPY --from=schema --chown=app:app /src/locale/ /app/locale/
COPY --from=console --chown=app:app /frontend/dist/ /app/frontend/dist/
# Static files are collected with the production storage (hashed names and a
# manifest). Production settings refuse to load without these variables; the
# values below exist only for this build step and are never used at runtime.
RUN DJANGO_SECRET_KEY=collectstatic-build-step-only-not-a-runtime-key \
    JWT_SIGNING_KEY=collectstatic-build-step-only-not-a-runtime-jwt-key \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=mysql://build@127.0.0.1:3306/build \
    EMAIL_URL=smtp://build@127.0.0.1:25 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown -R app:app /app/var /app/staticfiles
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--config=python:config.gunicorn", "--bind=0.0.0.0:8000", "--workers=3", "--access-logfile=-"]
