"""The multiprocess metrics collector reads the worker processes' files while they are being created."""

from __future__ import annotations

import struct

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from wpscim.http.metrics import _SizedFilesCollector


def test_a_file_a_starting_worker_has_not_sized_yet_is_left_out(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    from prometheus_client import values

    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: 4242))
    Counter("wpscim_test_requests", "requests", registry=None).inc(3)  # this process's file, sized and written
    (tmp_path / "counter_4243.db").write_bytes(b"")  # another worker's, created a moment ago

    with pytest.raises(struct.error):  # what prometheus_client's own collector does with it
        list(MultiProcessCollector(None, str(tmp_path)).collect())
    registry = CollectorRegistry()
    _SizedFilesCollector(registry, str(tmp_path))
    assert b"wpscim_test_requests_total 3.0" in generate_latest(registry)
