# AlphaVelocity service image: `docker build -t alphavelocity .`
# The base image is a build argument so the same file builds on a local base, for example one made
# with debootstrap (docs/pipeline.md, "Container test"). Any Debian-like base with python3 (>=3.11),
# python3-venv and the shadow tools (groupadd, useradd) works.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- build stage: the runtime dependencies in a virtual environment ------------------------------
FROM ${BASE_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
COPY requirements.txt .
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --no-cache-dir -r requirements.txt

# ---- runtime stage: the virtual environment, the code, a non-root user ---------------------------
FROM ${BASE_IMAGE} AS runtime
ARG APP_UID=10001
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    WORKERS=2
RUN groupadd --system --gid "${APP_UID}" app \
    && useradd --system --uid "${APP_UID}" --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Code and sample data belong to root and are only readable by the service; the one writable
# place is /app/data (the SQLite default, when no DATABASE_URL is given).
COPY backend/ backend/
COPY simple_db_migration.py ./
RUN mkdir -p /app/data && chown app:app /app/data \
    && python -c "import compileall, sys; sys.exit(not compileall.compile_dir('/app/backend', quiet=1))"
USER ${APP_UID}:${APP_UID}
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=4).status != 200)"]
# Migrate (idempotent), then serve with WORKERS uvicorn workers.
CMD ["sh", "-c", "python simple_db_migration.py && exec uvicorn backend.main:create_app --factory --host 0.0.0.0 --port 8000 --workers \"${WORKERS}\" --no-proxy-headers"]
