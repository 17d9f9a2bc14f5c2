# Prolo: a small image that runs `prolo serve` as a non-root user (uid and gid 10001).
# SQLite lives on the /data volume (a bind-mounted folder must belong to 10001:10001);
# set PROLO_DATABASE_URL for PostgreSQL. The first start prints the admin key: `docker logs`.
# Podman: build with `--format docker`, or the OCI image format drops the HEALTHCHECK.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PROLO_DATABASE_URL=sqlite:////data/prolo.db

WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY api ./api
COPY models ./models
COPY scheduling ./scheduling
COPY alembic ./alembic
RUN pip install --no-deps -e . \
    && groupadd --system --gid 10001 prolo \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin prolo \
    && mkdir -p /data && chown 10001:10001 /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["prolo", "serve", "--host", "0.0.0.0", "--port", "8000"]
