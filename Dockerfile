# syntax=docker/dockerfile:1
# Build stage: install the locked dependencies and the project into a virtualenv.
FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps .

# Runtime stage: the virtualenv only, no compilers or build caches, a non-root user.
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ACCOUNTS_ENV=production \
    WEB_CONCURRENCY=2
RUN groupadd --system --gid 10001 accounts \
    && useradd --system --uid 10001 --gid accounts --no-create-home --shell /usr/sbin/nologin accounts
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status != 200)"]
# Migrations run as a separate step (`accounts migrate`), never in every worker's start.
# Gunicorn takes its worker count from WEB_CONCURRENCY, which the app reads too: with several
# workers and in-memory rate limits it warns at start that each worker counts on its own.
# Gunicorn's own FORWARDED_ALLOW_IPS (default 127.0.0.1) should match ACCOUNTS_FORWARDED_ALLOW_IPS.
CMD ["gunicorn", "entrypoints.asgi:create()", "--worker-class", "uvicorn_worker.UvicornWorker", "--bind", "0.0.0.0:8000", "--graceful-timeout", "30", "--keep-alive", "75"]
