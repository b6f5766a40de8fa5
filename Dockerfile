# The dashboard as a container image: `docker build -t docker-dashboard .` (see README,
# "Running it in a container"). BASE is any Debian 12 image with Python 3.11 (python3,
# python3-venv); the lab builds on one made from Debian's packages (lab/build-image).
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
# docker/wheels and docker/debs are empty in a checkout: then pip and apt fetch what is
# needed. lab/build-image fills them first for engines that have no network.
COPY docker/wheels/ /wheels/
COPY docker/debs/ /debs/
COPY pyproject.toml docker/fetch-tools /src/
RUN /src/fetch-tools /src/pyproject.toml /wheels /debs /tools

FROM ${BASE}
ENV PATH=/opt/dashboard/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DASHBOARD_DATA_DIR=/data \
    DASHBOARD_STATIC_ROOT=/app/staticfiles \
    DASHBOARD_BIND=0.0.0.0 \
    DASHBOARD_PORT=8000 \
    DASHBOARD_COMPOSE_BIN=/usr/libexec/docker/cli-plugins/docker-compose \
    DOCKER_HOST=unix:///var/run/docker.sock
# The user the server runs as: no login, no sudo; the entrypoint adds the socket's group.
RUN groupadd --system --gid 10001 dashboard \
    && useradd --system --uid 10001 --gid dashboard --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin dashboard \
    && mkdir -p /data && chown dashboard:dashboard /data && chmod 0700 /data
COPY --from=build /opt/dashboard /opt/dashboard
COPY --from=build /tools/ /usr/
WORKDIR /app
COPY manage.py ./
COPY engine_client engine_client
COPY dashboard dashboard
COPY templates templates
COPY static static
COPY docker/entrypoint docker/healthcheck /usr/local/bin/
# Static files collected once, here: the server only reads them. A throw-away data dir and
# secret key, since settings make both on import.
RUN DASHBOARD_DATA_DIR=/tmp/collect DASHBOARD_SECRET_KEY=collectstatic \
    python3 manage.py collectstatic --noinput -v0 && rm -rf /tmp/collect \
    && python3 -m compileall -q /app
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["healthcheck"]
ENTRYPOINT ["entrypoint"]
CMD ["serve"]
