"""The ingest service's container image, built and pushed by ``pulumi up``, deployed by digest.

``IngestImage`` builds the repository's ``Dockerfile`` with pulumi-docker-build (BuildKit, no
local Docker daemon export), pushes it to Artifact Registry and exposes ``ref``, the image by
digest (``REGION-docker.pkg.dev/PROJECT/REPO/ingest@sha256:…``): a revision of the service names
exactly the bytes that were built, so one ``pulumi up`` ships the code and the infrastructure
together, and a rebuilt image rolls a new revision. Unless the stack names an existing repository,
the component declares one per stack (repository ids are unique per project and location, and
two stacks may share a project). A stack can instead pin an image it built elsewhere
(``ingestImage``); then nothing is built (``infra.args.image_args`` decides).

Pushing uses the deploying machine's Docker credentials for Artifact Registry
(``gcloud auth configure-docker REGION-docker.pkg.dev``), so no short-lived token lands in the
state. Cloud Run pulls with its service agent, which can read repositories of its own project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pulumi

IMAGE_NAME = "ingest"
# Cloud Run runs linux/amd64 images only.
PLATFORM = "linux/amd64"
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ImageArgs:
    """``repository``: an existing Artifact Registry repository's address
    (``REGION-docker.pkg.dev/PROJECT/REPO``), or empty to declare ``repository_id`` in
    ``project``/``region``; ``protect`` keeps a declared repository (and the deployed images)."""

    project: str
    region: str
    repository_id: str
    repository: str = ""
    protect: bool = True


def _relative(path: Path) -> str:
    """Paths as the Pulumi CLI sees them from the project directory, so renders are the same on
    every machine."""
    return os.path.relpath(path, Path.cwd())


class IngestImage(pulumi.ComponentResource):
    """The Dockerfile built for Cloud Run's platform and pushed; ``ref`` is the digest reference."""

    ref: pulumi.Output[str]

    def __init__(self, name: str, args: ImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("analytics:ingest:Image", name, None, opts)
        import pulumi_docker_build as docker_build

        repository: pulumi.Input[str] = args.repository
        if not args.repository:
            repository = self._repository(args)
        image = pulumi.Output.concat(repository, "/", IMAGE_NAME)
        built = docker_build.Image(
            "ingest",
            push=True,
            tags=[pulumi.Output.concat(image, ":latest")],
            platforms=[docker_build.Platform.LINUX_AMD64],
            context=docker_build.BuildContextArgs(location=_relative(ROOT)),
            dockerfile=docker_build.DockerfileArgs(location=_relative(ROOT / "Dockerfile")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ref = pulumi.Output.concat(image, "@", built.digest)
        self.register_outputs({"ref": self.ref})

    def _repository(self, args: ImageArgs) -> pulumi.Output[str]:
        import pulumi_gcp as gcp

        declared = gcp.artifactregistry.Repository(
            "images",
            repository_id=args.repository_id,
            project=args.project,
            location=args.region,
            format="DOCKER",
            description="Images of the analytics ingest service, built by its Pulumi stack.",
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        return pulumi.Output.concat(
            declared.location, "-docker.pkg.dev/", declared.project, "/", declared.repository_id
        )
