"""Image copies with skopeo (Debian's `skopeo`): digests kept, blobs the target has not resent,
multi-arch indexes copied whole. A child process with an argument list, never a shell. Digests
are read back, and a second tag put, through the registry's API in this process
(`registry_manifests`)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.adapters.registry_manifests import Login, RegistryManifests
from bot.domain.cancel import CancelToken
from bot.domain.promotion import CopyFailed, ImageRef

STDERR_SHOWN = 2000  # characters of skopeo's error kept in an exception

__all__ = ["CopyFailed", "SkopeoCopier"]


class SkopeoCopier:
    """`ImageCopier` over `skopeo copy --all --preserve-digests`, and the registry's API for
    which manifest a tag names and for more tags on a manifest already there."""

    def __init__(
        self,
        login: Login,
        skopeo: str = "skopeo",
        timeout_s: float = 900.0,
        ca_bundle: str | None = None,
        manifests: RegistryManifests | None = None,
    ) -> None:
        self._login = login
        self._skopeo = skopeo
        self._timeout_s = timeout_s
        # ECRBOT_REGISTRY_CA_BUNDLE: trusted for the registries too (a TLS-inspecting proxy, a
        # private edge), beside the system's CAs; skopeo takes it as a directory of *.crt.
        self._ca_bundle = ca_bundle
        self._manifests = manifests or RegistryManifests(login, ca_bundle)

    def digest(self, image: ImageRef) -> str | None:
        return self._manifests.digest(image)

    def tag(self, image: ImageRef, digest: str) -> None:
        self._manifests.tag(image, digest)

    def copy(self, source: ImageRef, target: ImageRef, cancel: CancelToken | None = None) -> None:
        with self._authfile(source, target) as (authfile, certs):
            # The read back after the copy (the promotion's check) finds its TLS context and
            # login ready: made while skopeo runs, not after it (issue #16's copy time).
            self._manifests.prepare(target)
            done = self._run(
                [
                    "copy",
                    "--all",  # an index and every platform's manifest, not one platform
                    "--preserve-digests",  # refuse any change that would alter the digest
                    "--src-authfile",
                    authfile,
                    "--dest-authfile",
                    authfile,
                    *_certs("--src-cert-dir", certs),
                    *_certs("--dest-cert-dir", certs),
                    f"docker://{source}",
                    f"docker://{target}",
                ],
                cancel,
            )
        if cancel is not None and cancel.cancelled:
            raise CopyFailed("the copy was stopped: the promotion was cancelled")
        if done.returncode != 0:
            raise CopyFailed(_said(done))

    def _run(
        self, args: list[str], cancel: CancelToken | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """skopeo as a child process; a Cancel kills it (a half-sent image is never tagged:
        the manifest is put last, after its blobs)."""
        try:
            proc = subprocess.Popen(
                [self._skopeo, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "HOME": tempfile.gettempdir(),
                },
            )
        except FileNotFoundError:
            raise CopyFailed(f"{self._skopeo} not found: apt-get install skopeo") from None
        forget = cancel.on_cancel(proc.kill) if cancel is not None else (lambda: None)
        try:
            with proc:
                try:
                    out, err = proc.communicate(timeout=self._timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    raise CopyFailed(
                        f"skopeo {args[0]} took over {self._timeout_s:.0f} s"
                    ) from None
        finally:
            forget()
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    @contextmanager
    def _authfile(self, *images: ImageRef) -> Iterator[tuple[str, str | None]]:
        """Credentials in a 0600 file in a private directory, removed after the call: never on
        the command line, where `ps` would show them to every user of the host. With a CA
        bundle, also the directory of certificates skopeo reads (None: the system's)."""
        auths = {}
        for image in images:
            user, password = self._login(image)
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            auths[image.registry.host] = {"auth": token}
        with tempfile.TemporaryDirectory(prefix="ecrbot-skopeo-") as private:  # mode 0700
            path = Path(private) / "auth.json"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                json.dump({"auths": auths}, file)
            certs = None
            if self._ca_bundle:
                certs = Path(private) / "certs"
                certs.mkdir()
                shutil.copyfile(self._ca_bundle, certs / "ca.crt")
            yield str(path), str(certs) if certs else None


def _certs(flag: str, directory: str | None) -> list[str]:
    return [flag, directory] if directory else []


def _said(done: subprocess.CompletedProcess[bytes]) -> str:
    words = done.stderr.decode(errors="replace").strip().splitlines()
    return (words[-1] if words else f"skopeo exited {done.returncode}")[:STDERR_SHOWN]
