# syntax=docker/dockerfile:1
# Build stage: the locked dependencies (hash-checked) and the project, into a virtualenv.
FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, in their own layer: it is rebuilt only when the lock file changes.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src ./src
# A regular (not editable) install: the runtime stage copies the venv without the sources.
RUN pip install --no-deps . \
    && pip uninstall --yes pip setuptools wheel

# Runtime stage: the virtualenv and Gunicorn's config only; no compilers, caches or sources.
FROM python:3.11-slim AS runtime
# MALLOC_ARENA_MAX=2: glibc's heaps stay few however many threads a worker runs (it reads the
# variable at process start, so it is set here and not in gunicorn.conf.py).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    ACCOUNTS_ENV=production \
    ACCOUNTS_HOST=0.0.0.0 \
    ACCOUNTS_PORT=8000
RUN groupadd --system --gid 10001 accounts \
    && useradd --system --uid 10001 --gid accounts --no-create-home --shell /usr/sbin/nologin accounts
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY gunicorn.conf.py ./
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# The API only. Gunicorn's master serves /metrics on 9464 (ACCOUNTS_METRICS_PORT), left out on
# purpose: publish it to your scraper alone, never beside the API (`-p 8000:8000` does not).
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('ACCOUNTS_PORT', '8000'), timeout=2).status != 200)"]
# Migrations are a separate step (`docker run IMAGE accounts migrate`, the compose `migrate`
# service, the Kubernetes Job), never part of a worker's start. Workers: WEB_CONCURRENCY.
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py"]
