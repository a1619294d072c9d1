# Redis for the e2e suite's replicated pipeline (state.backend: redis): Debian's redis-server on
# the fks images' base (tests/e2e/kind.py builds it with that BASE_IMAGE; no registry needed
# with the local base). In memory only: no snapshots, no append-only file.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
USER 65534:65534
EXPOSE 6379
ENTRYPOINT ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
