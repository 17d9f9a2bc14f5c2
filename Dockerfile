# Prolo: a small image that runs `prolo serve` as a non-root user.
# SQLite lives on the /data volume; set PROLO_DATABASE_URL for PostgreSQL.
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
    && useradd --system --uid 10001 --home-dir /data prolo \
    && mkdir -p /data && chown prolo /data

USER prolo
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["prolo", "serve", "--host", "0.0.0.0", "--port", "8000"]
