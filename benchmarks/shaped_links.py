"""A modelled network between the test services' two registries (bench_promote --link-mbit N).

On one loopback machine a registry-to-registry promotion pays no transfer time: a person's
`docker pull` then `docker push` costs the same as a copy that downloads and uploads at once. A
registry in another account or region is across a network, so the benchmark can put each
registry behind its own link of N Mbit/s, with Linux traffic control on `lo`:

* an htb root whose default is no class at all: unclassified packets skip htb's classes (its
  "direct" queue), so nothing else on the machine is slowed;
* class 1:10, N Mbit/s: what the source registry (127.0.0.1:5000) sends, i.e. every download
  (the ECR edge reads blobs from it);
* class 1:20, N Mbit/s: what is sent to the target registry (127.0.0.1:5002), i.e. every
  upload (the edge forwards pushes to it).

Both sides of the benchmark go through the same edge and so the same two links. The kernel here
has sch_htb and sch_tbf but no netem: bandwidth is modelled, latency is not. The qdisc is removed
before it is added (a crashed earlier run must not leave the machine shaped) and in a `finally`.
"""

from __future__ import annotations

import itertools
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

TC = "/usr/sbin/tc"
DEVICE = "lo"
SOURCE_PORT = 5000  # registry (account 123456789012), scripts/test-services
TARGET_PORT = 5002  # registry-2 (account 210987654321)
DOWNLOAD, UPLOAD = "1:10", "1:20"
# Loopback's packets are up to 64 KiB (GSO): a burst and quantum below that stall htb.
BURST = "256k"
QUANTUM = "65536"


def setup_commands(
    mbit: int, source_port: int = SOURCE_PORT, target_port: int = TARGET_PORT
) -> list[list[str]]:
    """The `tc` commands that put each registry behind its own link of `mbit` Mbit/s."""
    rate = f"{mbit}mbit"
    dev = ["dev", DEVICE]
    link = ["htb", "rate", rate, "ceil", rate, "burst", BURST, "cburst", BURST, "quantum", QUANTUM]
    u32 = [TC, "filter", "add", *dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32"]
    return [
        # default 0: no such class, so unclassified traffic is sent directly, unshaped.
        [TC, "qdisc", "add", *dev, "root", "handle", "1:", "htb", "default", "0", "r2q", "1000"],
        [TC, "class", "add", *dev, "parent", "1:", "classid", DOWNLOAD, *link],
        [TC, "class", "add", *dev, "parent", "1:", "classid", UPLOAD, *link],
        [*u32, "match", "ip", "sport", str(source_port), "0xffff", "flowid", DOWNLOAD],
        [*u32, "match", "ip", "dport", str(target_port), "0xffff", "flowid", UPLOAD],
    ]


def clear() -> None:
    """No root qdisc on `lo` (its default, noqueue); quiet when there is none."""
    subprocess.run([TC, "qdisc", "del", "dev", DEVICE, "root"], capture_output=True, check=False)


@contextmanager
def shaped(mbit: int) -> Iterator[None]:
    """`lo` shaped as above while the block runs; printed, and always undone (a SIGTERM, as
    `timeout` sends, becomes an exception so that the `finally` runs)."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    clear()
    before = signal.signal(signal.SIGTERM, stop)
    try:
        for command in setup_commands(mbit):
            print("+", " ".join(command), flush=True)
            subprocess.run(command, check=True, capture_output=True, text=True)
        shown = subprocess.run(
            [TC, "class", "show", "dev", DEVICE], capture_output=True, text=True, check=True
        )
        print(shown.stdout.rstrip(), flush=True)
        yield
    finally:
        clear()
        signal.signal(signal.SIGTERM, before)
        print(f"tc: root qdisc on {DEVICE} removed", flush=True)


def class_bytes(text: str) -> dict[str, int]:
    """Bytes sent by each class, from `tc -s class show dev lo`."""
    found: dict[str, int] = {}
    for match in re.finditer(r"class htb (\S+) .*?\n\s*Sent (\d+) bytes", text):
        found[match.group(1)] = int(match.group(2))
    return found


def overlap(samples: list[tuple[float, dict[str, int]]], least: int = 65536) -> dict[str, float]:
    """Seconds during which each link carried data, and during which both did at once.

    A copy that streams each download into its upload keeps both links busy together; a pull
    followed by a push uses them one after the other."""
    down = up = both = 0.0
    busy: list[float] = []  # the ends of the spans in which either link carried data
    for (t0, before), (t1, after) in itertools.pairwise(samples):
        span = t1 - t0
        moving_down = after.get(DOWNLOAD, 0) - before.get(DOWNLOAD, 0) >= least
        moving_up = after.get(UPLOAD, 0) - before.get(UPLOAD, 0) >= least
        down += span if moving_down else 0.0
        up += span if moving_up else 0.0
        both += span if moving_down and moving_up else 0.0
        busy += [t0 - samples[0][0], t1 - samples[0][0]] if moving_down or moving_up else []
    first, last = (samples[0][1], samples[-1][1]) if samples else ({}, {})
    return {
        "down_s": down,
        "up_s": up,
        "both_s": both,
        "down_mb": (last.get(DOWNLOAD, 0) - first.get(DOWNLOAD, 0)) / 1e6,
        "up_mb": (last.get(UPLOAD, 0) - first.get(UPLOAD, 0)) / 1e6,
        "first_s": min(busy, default=0.0),  # from the start of the side
        "last_s": max(busy, default=0.0),
    }


class Watch:
    """Samples the two classes' byte counters every `every` seconds while a side runs."""

    def __init__(self, every: float = 0.1) -> None:
        self.every = every
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        shown = subprocess.run(
            [TC, "-s", "class", "show", "dev", DEVICE], capture_output=True, text=True, check=False
        )
        self.samples.append((time.perf_counter(), class_bytes(shown.stdout)))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> Watch:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def summary(self) -> str:
        seen = overlap(self.samples)
        return (
            f"down {seen['down_mb']:.0f} MB in {seen['down_s']:.1f} s, up {seen['up_mb']:.0f} MB"
            f" in {seen['up_s']:.1f} s, both at once {seen['both_s']:.1f} s (data moved from"
            f" {seen['first_s']:.1f} s to {seen['last_s']:.1f} s)"
        )
