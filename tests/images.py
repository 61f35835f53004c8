"""Building and running the generated images with podman, with no registry: the base
images come from Debian packages (mmdebstrap), made once and kept in podman's own store
(where the machine keeps /var/lib/containers, they outlive the run).

`python -m tests.images` makes them ahead of a run; the tests make any that is missing, one
builder at a time.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.baking import require_tool

# Debian trixie's Python is 3.13, the minor version of the templates' default
# `python:3.13-slim`; the images the compose files name, from the same release.
DEBIAN_SUITE = "trixie"
PYTHON_IMAGE = "localhost/template-test/python:3.13-trixie"
POSTGRES_IMAGE = "localhost/template-test/postgres:17-trixie"
REDIS_IMAGE = "localhost/template-test/redis:trixie"
# python-is-python3: the HEALTHCHECK calls `python`; passwd: the Dockerfiles call `useradd`
# (both as in the official images).
PYTHON_PACKAGES = ("python3", "python3-pip", "python3-venv", "python-is-python3", "ca-certificates", "passwd")
LOCK = Path(os.environ.get("TEMPLATE_IMAGE_CACHE", "/var/cache/template-images")) / "lock"
SERVICES = Path(__file__).parent / "images"

# Packages are reached through a proxy that re-signs TLS on some machines: the builds trust
# the machine's CA bundle through read-only mounts, never baked into an image.
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def podman_path() -> str:
    return require_tool(shutil.which("podman"), "podman is needed to build the images (apt-get install podman runc)")


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run([podman_path(), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert completed.returncode == 0, (
            f"`podman {' '.join(args)}` exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
        )
    return completed


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


@contextmanager
def locked() -> Iterator[None]:
    """One builder of the shared images at a time, across xdist workers and runs."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def trust_mounts(work: Path) -> list[str]:
    """`podman build` volume options that make pip and uv trust the machine's CA bundle."""
    if not CA_BUNDLE.exists():
        return []
    (work / "pip.conf").write_text(f"[global]\ncert = {CA_BUNDLE}\n")
    # uv ignores the system store unless told (https://docs.astral.sh/uv/reference/settings/#native-tls).
    (work / "uv.toml").write_text("native-tls = true\n")
    return [
        f"--volume={CA_BUNDLE}:{CA_BUNDLE}:ro",
        f"--volume={work / 'pip.conf'}:/etc/pip.conf:ro",
        f"--volume={work / 'uv.toml'}:/etc/uv/uv.toml:ro",
    ]


def build(context: Path, tag: str, *build_args: str, timeout: float = 900) -> float:
    """`podman build` the Dockerfile in ``context`` on the local base image; the seconds it took."""
    with tempfile.TemporaryDirectory() as work:
        started = time.monotonic()
        podman(
            "build",
            # The Docker format keeps HEALTHCHECK (OCI images have no such field).
            "--format=docker",
            "--pull=never",
            "--network=host",
            f"--build-arg=PYTHON_IMAGE={PYTHON_IMAGE}",
            *(f"--build-arg={arg}" for arg in build_args),
            *trust_mounts(Path(work)),
            f"--tag={tag}",
            str(context),
            timeout=timeout,
        )
        return time.monotonic() - started


def python_image() -> str:
    """The base image: Debian's Python, as `python:3.13-slim` would give it."""
    with locked():
        if image_exists(PYTHON_IMAGE):
            return PYTHON_IMAGE
        mmdebstrap = require_tool(shutil.which("mmdebstrap"), "mmdebstrap is needed (apt-get install mmdebstrap)")
        with tempfile.TemporaryDirectory() as work:
            rootfs = Path(work) / "rootfs.tar"
            subprocess.run(
                [
                    mmdebstrap,
                    "--variant=apt",
                    f"--include={','.join(PYTHON_PACKAGES)}",
                    # pip may install into the system Python, as in the official images.
                    '--customize-hook=rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
                    '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
                    DEBIAN_SUITE,
                    str(rootfs),
                ],
                check=True,
                capture_output=True,
                timeout=900,
            )
            podman("import", '--change=CMD ["python3"]', str(rootfs), PYTHON_IMAGE)
        return PYTHON_IMAGE


def service_images() -> tuple[str, str]:
    """Stand-ins for `postgres:17` and `redis:7`, built on the base image from Debian's
    packages, with the entrypoint behaviour the compose files rely on."""
    python_image()
    with locked():
        for tag, folder in ((POSTGRES_IMAGE, "postgres"), (REDIS_IMAGE, "redis")):
            if not image_exists(tag):
                build(SERVICES / folder, tag)
    return POSTGRES_IMAGE, REDIS_IMAGE


def image_size(tag: str) -> int:
    return int(podman("image", "inspect", "--format={{.Size}}", tag).stdout.strip())


def inspect(tag: str) -> dict[str, object]:
    data: list[dict[str, object]] = json.loads(podman("image", "inspect", tag).stdout)
    return data[0]


if __name__ == "__main__":
    started = time.monotonic()
    print(python_image(), *service_images(), f"ready in {time.monotonic() - started:.0f} s")
