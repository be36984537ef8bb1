"""`free_port` in a split test run: each worker's ports are its own, so two workers never get one port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devtools import embedded


def _ports_of(monkeypatch: pytest.MonkeyPatch, worker: str, count: int, many: int) -> list[int]:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))
    monkeypatch.setattr(embedded, "_port_cursor", {})
    return [embedded.free_port() for _ in range(many)]


def test_two_workers_take_ports_from_ranges_that_do_not_meet(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _ports_of(monkeypatch, "gw0", 2, 50)
    second = _ports_of(monkeypatch, "gw1", 2, 50)
    assert len(set(first)) == 50 and len(set(second)) == 50, "a worker handed out one port twice"
    assert max(first) < min(second), "the two workers' ports overlap"
    assert all(20000 <= port < 32000 for port in first + second), "a port inside the kernel's ephemeral range"


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    (taken,) = _ports_of(monkeypatch, "gw0", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        monkeypatch.setattr(embedded, "_port_cursor", {(20000, 32000): taken - 1})
        assert embedded.free_port() == 20000 + (taken + 1 - 20000) % 12000


def test_outside_a_split_run_the_kernel_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert low <= embedded.free_port() <= high
