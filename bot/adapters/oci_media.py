"""What a registry's manifests may be, and how big: shared by the adapters that read them."""

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
# What a registry may make ecrbot read (issue #18): a manifest is a few KB, and the OCI
# distribution spec lets registries refuse manifests over 4 MiB.
MAX_MANIFEST = 4 * 1024 * 1024
