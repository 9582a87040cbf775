# syntax=docker/dockerfile:1
# The ingest service's image: the project's wheel and its runtime dependencies, nothing else.
#
# Stage 1 builds the wheel from the package sources; stage 2 installs only that wheel with the
# extras the service imports at run time (the BigQuery, Pub/Sub and Snowflake clients; never
# `dev`, `bench` or `infra`), so no source tree, test, or build tool reaches the image. It runs as
# an unprivileged user. Cloud Run tells the container which port to listen on in $PORT; the
# entrypoint hands it to the service as INGEST_PORT (an explicit INGEST_PORT wins) and the service
# binds 0.0.0.0, as Cloud Run requires. Cloud Run runs linux/amd64 images: the Pulumi program
# builds for that platform (infra/image.py). Pin the base by digest in CI to make builds
# reproducible; the tag keeps it readable here.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schema ./schema
COPY infra ./infra
COPY ingest ./ingest
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/ingest --create-home \
        --shell /usr/sbin/nologin ingest
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    python -m pip install "$(ls /wheels/analytics_warehouse-*.whl)[bigquery,pubsub,snowflake]"
USER 10001:10001
WORKDIR /var/lib/ingest
ENV INGEST_HOST=0.0.0.0 \
    INGEST_DATA_DIR=/var/lib/ingest/data
EXPOSE 8080
ENTRYPOINT ["/bin/sh", "-c", "INGEST_PORT=\"${INGEST_PORT:-${PORT:-8080}}\" exec ingest \"$@\"", "ingest"]
CMD ["serve"]
