"""The modelled links of bench_promote --link-mbit: the `tc` commands, and reading its counters."""

from __future__ import annotations

from benchmarks.shaped_links import DOWNLOAD, TC, UPLOAD, class_bytes, overlap, setup_commands

SHOWN = """class htb 1:10 root prio 0 rate 200Mbit ceil 200Mbit burst 262100b cburst 262100b
 Sent 52484388 bytes 839 pkt (dropped 0, overlimits 436 requeues 0)
 backlog 0b 0p requeues 0

class htb 1:20 root prio 0 rate 200Mbit ceil 200Mbit burst 262100b cburst 262100b
 Sent 1200 bytes 3 pkt (dropped 0, overlimits 0 requeues 0)
 backlog 0b 0p requeues 0
"""


def test_each_registry_gets_its_own_link_and_everything_else_none() -> None:
    commands = [" ".join(command) for command in setup_commands(200)]
    assert all(command.startswith(f"{TC} ") for command in commands)
    root, download, upload, from_source, to_target = commands
    assert "dev lo root handle 1: htb default 0" in root  # no class 0: unshaped, direct
    for line, classid in ((download, DOWNLOAD), (upload, UPLOAD)):
        assert f"classid {classid} htb rate 200mbit ceil 200mbit" in line
    assert from_source.endswith(f"match ip sport 5000 0xffff flowid {DOWNLOAD}")
    assert to_target.endswith(f"match ip dport 5002 0xffff flowid {UPLOAD}")


def test_the_counters_are_read_per_class() -> None:
    assert class_bytes(SHOWN) == {"1:10": 52484388, "1:20": 1200}
    assert class_bytes("") == {}


def test_a_stream_uses_both_links_at_once_and_a_pull_then_push_one_after_the_other() -> None:
    mb = 1_000_000
    streamed = [(0.0, {DOWNLOAD: 0, UPLOAD: 0}), (1.0, {DOWNLOAD: 25 * mb, UPLOAD: 24 * mb})]
    streamed.append((2.0, {DOWNLOAD: 50 * mb, UPLOAD: 50 * mb}))
    seen = overlap(streamed)
    assert (seen["down_s"], seen["up_s"], seen["both_s"]) == (2.0, 2.0, 2.0)
    assert (seen["down_mb"], seen["up_mb"]) == (50.0, 50.0)
    serial = [(0.0, {DOWNLOAD: 0, UPLOAD: 0}), (2.0, {DOWNLOAD: 50 * mb, UPLOAD: 100})]
    serial.append((4.0, {DOWNLOAD: 50 * mb, UPLOAD: 50 * mb}))
    seen = overlap(serial)
    assert (seen["down_s"], seen["up_s"], seen["both_s"]) == (2.0, 2.0, 0.0)
    assert (seen["first_s"], seen["last_s"]) == (0.0, 4.0)
    idle_first = [(0.0, {DOWNLOAD: 0}), (1.0, {DOWNLOAD: 0}), (2.0, {DOWNLOAD: 9 * mb})]
    assert (overlap(idle_first)["first_s"], overlap(idle_first)["last_s"]) == (1.0, 2.0)
    assert overlap([])["both_s"] == 0.0
