# The Vigil image: the `vigil` command (generator and the four exporters).
#
#   docker build -t vigil:0.1.0 .
#   docker run --rm vigil:0.1.0 exporter host --config /etc/vigil/host.yml
#
# Two stages: the first builds a virtual environment with Vigil and its
# dependencies (wheels only, so no compiler is needed); the second copies just
# that environment onto the same slim base, so pip's caches and the build tree
# stay behind. Everything is installed here, at build time: a container starts
# the exporter directly and never runs pip. The base is pinned to an exact
# Python release; bump it deliberately.

FROM python:3.12.8-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY generator ./generator
COPY exporters ./exporters
RUN python -m venv /opt/vigil \
    && /opt/vigil/bin/pip install --prefer-binary . \
    && /opt/vigil/bin/pip uninstall --yes pip

FROM python:3.12.8-slim-bookworm
LABEL org.opencontainers.image.title="vigil" \
      org.opencontainers.image.description="Vigil: the spec generator and the host, http, postgres and sql exporters" \
      org.opencontainers.image.licenses="Apache-2.0"
# /var/log/shop: where the demo workload writes its access log, and
# /var/lib/vigil: the incident recorder's queue file; a named volume mounted
# there starts out owned by this user, so the container may write it.
RUN groupadd --system --gid 10001 vigil \
    && useradd --system --uid 10001 --gid vigil --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin vigil \
    && install -d -o vigil -g vigil -m 0755 /var/log/shop /var/lib/vigil
COPY --from=build /opt/vigil /opt/vigil
ENV PATH=/opt/vigil/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /etc/vigil
USER 10001:10001
ENTRYPOINT ["vigil"]
CMD ["--help"]
