"""core.outbound.stream_get: a tenant's file read as a stream with the outbound rules (address
checks, no redirects, a size cap, a deadline) -- what a storage sync uploads from."""

from __future__ import annotations

import pytest

from core.outbound import DownloadFailed, stream_get


def test_a_file_streams_in_chunks_of_the_asked_size(file_server):
    data = bytes(range(256)) * 1000
    url = file_server.put("plans.pdf", data)
    with stream_get(url, timeout=10, allow_private=True, max_bytes=1_000_000) as download:
        assert download.size == len(data)
        chunks = list(download.chunks(65536))
    assert b"".join(chunks) == data
    assert [len(c) for c in chunks[:-1]] == [65536] * (len(chunks) - 1)


def test_private_addresses_are_refused_unless_allowed(file_server):
    url = file_server.put("plans.pdf", b"x")
    with pytest.raises(DownloadFailed) as refused, stream_get(url, timeout=10, allow_private=False, max_bytes=10):
        pass
    assert refused.value.kind == "refused"


def test_a_file_over_the_cap_or_missing_fails_clearly(file_server):
    url = file_server.put("big.dwg", b"z" * 5000)
    with pytest.raises(DownloadFailed) as big, stream_get(url, timeout=10, allow_private=True, max_bytes=4000):
        pass
    assert big.value.kind == "too_large"
    missing = url.rsplit("/", 1)[0] + "/nothing-here"
    with pytest.raises(DownloadFailed) as gone, stream_get(missing, timeout=10, allow_private=True, max_bytes=4000):
        pass
    assert gone.value.kind == "http" and "404" in str(gone.value) and "nothing-here" not in str(gone.value)
