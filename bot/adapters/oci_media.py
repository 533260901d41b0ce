"""What a registry's manifests may be, and how much of an answer ecrbot reads: shared by the
adapters that read registries."""

from collections.abc import Iterable

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


class TooBig(Exception):
    """An answer over the size ecrbot reads; the words say by how much ("of N bytes, over L")."""


def bounded(declared: str, chunks: Iterable[bytes], limit: int) -> bytes:
    """An answer's body, refused past `limit` bytes: by the Content-Length it `declared`, else
    while it is read. A registry can't make the bot hold a huge answer in memory."""
    if declared.isdigit() and int(declared) > limit:
        raise TooBig(f"of {declared} bytes, over {limit}")
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise TooBig(f"over {limit} bytes")
    return bytes(body)
