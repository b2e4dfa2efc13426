# Timebox container image. It needs TIMEBOX_DATABASE_URL: there is no embedded database here.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install .

FROM python:3.12-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TIMEBOX_HOST=0.0.0.0 \
    TIMEBOX_PORT=8000 \
    TIMEBOX_LOG_FORMAT=json \
    MPLCONFIGDIR=/tmp/matplotlib
RUN groupadd --system timebox && useradd --system --gid timebox --home /app timebox
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
USER timebox
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
# Fail fast without a database URL, migrate, then serve.
CMD ["sh", "-c", ": \"${TIMEBOX_DATABASE_URL:?set TIMEBOX_DATABASE_URL}\" && timebox migrate && exec timebox serve"]
