# ecrbot: the Slack bot. Builds run on the Docker engine DOCKER_HOST points at (a sidecar or a
# remote engine); this image holds no engine itself.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install --no-cache-dir --prefix=/install ".[postgres,celery]"

# BuildKit builds run the docker CLI (bot/adapters/buildkit.py). Only the client is taken from
# Debian's docker.io (20.10: BuildKit built in, no buildx needed); the engine is DOCKER_HOST's.
FROM python:3.11-slim-bookworm AS docker-cli
RUN apt-get update \
    && cd /tmp && apt-get download docker.io \
    && dpkg-deb -x docker.io_*.deb /x \
    && test -x /x/usr/bin/docker

FROM python:3.11-slim-bookworm
COPY --from=docker-cli /x/usr/bin/docker /usr/local/bin/docker
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 ecrbot
COPY --from=build /install /usr/local
# Numeric, so Kubernetes can enforce runAsNonRoot.
USER 10001
WORKDIR /home/ecrbot
ENV PORT=3000 \
    ECRBOT_OPS_PORT=9100 \
    ECRBOT_WORK_DIR=/home/ecrbot/work \
    ECRBOT_DATABASE_URL=sqlite:////home/ecrbot/work/ecrbot.db \
    DOCKER_HOST=unix:///run/ecrbot-docker/docker.sock \
    PYTHONUNBUFFERED=1
# 3000: Slack (/slack/events, /healthz); 9100: ops (/healthz, /readyz, /metrics), never public.
EXPOSE 3000 9100
# The ops port: `ecrbot worker` and Socket Mode serve no Slack port.
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"ECRBOT_OPS_PORT\"]}/healthz', timeout=2)"
# tini as PID 1 reaps the git and tar processes a checkout leaves and passes SIGTERM on; the
# bot handles SIGTERM itself too (it drains: running jobs finish or are marked interrupted).
ENTRYPOINT ["tini", "--", "ecrbot"]
CMD ["serve"]
