# The runner image of `gameday deploy`: the project installed without the sandbox extra (no
# PostgreSQL build, no moto server), run as an unprivileged user. The Job's pod copies the plan's
# files from its ConfigMap into /work (an emptyDir) and runs `gameday run PLAN --confirm ENV` there.
#
#     docker build -t ghcr.io/gameday/runner:0.1.0 .
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY gamedays ./gamedays
RUN pip install . && rm -rf /src

RUN useradd --uid 10001 --user-group --create-home --home-dir /home/gameday gameday
USER 10001
WORKDIR /work
ENTRYPOINT ["gameday"]
CMD ["--help"]
