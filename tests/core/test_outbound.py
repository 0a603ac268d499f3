"""The outbound HTTP module: SSRF rules, pinning, limits, error reporting.

Long on purpose: one security boundary, each rule with its own refusal case.

Pure tests: no Django, no database. Real traffic only ever goes to a local
receiver on 127.0.0.1; every other target must be refused before connecting
(non-local hostnames are resolved by a fake resolver).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import outbound
from core.outbound import (
    USER_AGENT,
    HostResolutionError,
    OutboundRefused,
    check_url,
    is_forbidden_address,
    redact_headers,
    resolve_and_check,
    send,
)
from tests.support.ports import free_port
from tests.support.receiver import Plan, Receiver

# --------------------------------------------------------------------------- local receiver


BIG_BODY = b"x" * 100_000
ROUTES = {
    "/echo": Plan(200, body=json.dumps({"ok": True, "msg": "שלום"}, ensure_ascii=False).encode(),
                  headers={"Content-Type": "application/json; charset=utf-8"}),
    "/redirect": Plan(302, body=b"", headers={"Location": "/landed"}),
    # far past any deadline a test sets: an answer would mean none was enforced
    "/sleep": Plan(200, delay=10, body=b"late"),
    "/big": Plan(200, body=BIG_BODY, headers={"Content-Type": "text/plain"}),
    "/fail": Plan(500, body=b"boom \xff", headers={"Content-Type": "text/plain", "Set-Cookie": "s=1"}),
}
OTHER = Plan(200, body=b"ok", headers={"Content-Type": "text/plain"})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(routes=ROUTES, default=OTHER) as rec:
        yield rec


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names resolved by a table instead of real DNS; records each lookup."""
    table: dict[str, list[str]] = {}
    calls: list[str] = []

    def fake_resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise HostResolutionError(f"could not resolve host {host}")
        return list(table[host])

    monkeypatch.setattr(outbound, "resolve_host", fake_resolve)
    table["__calls__"] = calls  # type: ignore[assignment]
    return table


def _post(url: str, **kwargs: object) -> outbound.OutboundResult:
    params: dict[str, object] = {
        "method": "POST",
        "url": url,
        "headers": {"Content-Type": "application/json"},
        "body": b"{}",
        "timeout": 5.0,
        "allow_private": True,
    }
    params.update(kwargs)
    return send(**params)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- send: delivery


def test_send_delivers_method_headers_and_body_byte_exact(receiver: Receiver) -> None:
    # given
    body = json.dumps({"title": 'וילה "x"\n'}, ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Event": "project.created",
        "X-Webhook-Delivery": "dlv_123",
        "X-Webhook-Signature": "ab" * 32,
    }
    # when
    result = send(
        method="POST",
        url=f"{receiver.base}/echo?a=1&b=%D7%90",
        headers=headers,
        body=body,
        timeout=5,
        allow_private=True,
    )
    # then
    assert result.error is None and result.error_kind is None
    assert result.status == 200
    assert result.ok is True
    assert result.body_json == {"ok": True, "msg": "שלום"}
    assert result.body_text == '{"ok": true, "msg": "שלום"}'
    assert result.truncated is False
    assert result.headers["Content-Type"] == "application/json; charset=utf-8"
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.method == "POST"
    assert got.path == "/echo?a=1&b=%D7%90"
    assert got.body == body
    for name, value in headers.items():
        assert got.header(name) == value
    assert got.header("Host") == f"127.0.0.1:{receiver.port}"
    assert got.header("User-Agent") == USER_AGENT
    assert got.header("Content-Length") == str(len(body))


def test_send_put_with_empty_body_and_caller_user_agent(receiver: Receiver) -> None:
    # when
    result = send(
        method="put",
        url=f"{receiver.base}/other",
        headers={"User-Agent": "Custom/2"},
        body=b"",
        timeout=5,
        allow_private=True,
    )
    # then
    assert (result.status, result.body_text, result.body_json) == (200, "ok", None)
    got = receiver.requests[0]
    assert (got.method, got.body) == ("PUT", b"")
    assert got.header("User-Agent") == "Custom/2"
    assert got.header("Content-Length") == "0"


def test_caller_cannot_override_host_header(receiver: Receiver) -> None:
    # when
    result = _post(f"{receiver.base}/echo", headers={"Host": "evil.example"})
    # then
    assert result.status == 200
    assert receiver.requests[0].header("Host") == f"127.0.0.1:{receiver.port}"


def test_non_2xx_is_reported_not_raised(receiver: Receiver) -> None:
    # when
    result = _post(f"{receiver.base}/fail")
    # then
    assert result.status == 500
    assert result.ok is False
    assert result.error is None
    assert result.body_text == "boom \ufffd"
    assert result.body_json is None


def test_redirect_is_not_followed(receiver: Receiver) -> None:
    # when
    result = _post(f"{receiver.base}/redirect")
    # then
    assert result.status == 302
    assert result.ok is False
    assert result.headers["Location"] == "/landed"
    assert [r.path for r in receiver.requests] == ["/redirect"]


def test_timeout_is_reported_quickly(receiver: Receiver) -> None:
    """The receiver answers after 10 s; a 0.5 s deadline ends the call long before. The
    upper bounds leave a loaded 2-core machine seconds of scheduling slack and still sit
    far below the receiver's 10 s, so they fail only when the deadline is not enforced."""
    # when
    started = time.monotonic()
    result = _post(f"{receiver.base}/sleep", timeout=0.5)
    elapsed = time.monotonic() - started
    # then
    assert result.error_kind == "timeout"
    assert result.error == "timeout after 0.5s"
    assert result.status is None
    assert [r.path for r in receiver.requests] == ["/sleep"]  # it reached the receiver, then waited
    assert 400 <= result.duration_ms < 4000
    assert elapsed < 5


def test_connection_refused() -> None:
    # given: a port nobody listens on
    port = free_port()
    # when
    result = _post(f"http://127.0.0.1:{port}/x", timeout=2)
    # then
    assert result.error_kind == "connection"
    assert result.error == "connection refused"
    assert result.status is None


def test_unresolvable_host_is_a_connection_error(fake_dns: dict[str, list[str]]) -> None:
    # when
    result = _post("https://nowhere.example.test/hook")
    # then
    assert result.error_kind == "connection"
    assert result.error == "could not resolve host nowhere.example.test"


def test_response_truncated_at_max_bytes(receiver: Receiver) -> None:
    # when
    result = _post(f"{receiver.base}/big", max_response_bytes=1000)
    # then
    assert result.status == 200
    assert result.truncated is True
    assert result.body_text == "x" * 1000
    assert result.body_json is None
    assert result.error is None


def test_response_exactly_at_max_bytes_is_not_truncated(receiver: Receiver) -> None:
    # when
    result = _post(f"{receiver.base}/big", max_response_bytes=len(BIG_BODY))
    # then
    assert result.truncated is False
    assert result.body_text == BIG_BODY.decode()


# --------------------------------------------------------------------------- send: refusals


def test_private_target_refused_unless_allowed(receiver: Receiver) -> None:
    # when
    refused = _post(f"{receiver.base}/echo", allow_private=False)
    # then
    assert refused.error_kind == "refused"
    assert refused.error == "refused: loopback address 127.0.0.1"
    assert refused.status is None
    assert receiver.requests == []
    # when allowed
    allowed = _post(f"{receiver.base}/echo", allow_private=True)
    # then
    assert allowed.status == 200
    assert len(receiver.requests) == 1


def test_rfc1918_literal_refused_before_connecting() -> None:
    # when
    result = _post("http://10.0.0.1/hook", allow_private=False)
    # then
    assert (result.error_kind, result.error) == ("refused", "refused: private address 10.0.0.1")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata address 169.254.169.254"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata address fd00:ec2::254"),
        ("http://100.100.100.200/latest/meta-data/", "cloud metadata address 100.100.100.200"),
        ("http://169.254.1.1/", "link-local address 169.254.1.1"),
        ("http://[fe80::1]/", "link-local address fe80::1"),
        (
            "http://[::ffff:169.254.169.254]/",
            "cloud metadata address 169.254.169.254 (IPv4-mapped ::ffff:a9fe:a9fe)",
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "cloud metadata host metadata.google.internal",
        ),
    ],
)
def test_metadata_and_link_local_refused_even_when_private_allowed(url: str, reason: str) -> None:
    # when
    result = _post(url, allow_private=True)
    # then
    assert (result.error_kind, result.error) == ("refused", f"refused: {reason}")


def test_localhost_name_refused_unless_allowed(receiver: Receiver) -> None:
    # when
    refused = _post(f"http://localhost:{receiver.port}/echo", allow_private=False)
    # then
    assert (refused.error_kind, refused.error) == ("refused", "refused: loopback host localhost")
    with pytest.raises(OutboundRefused, match="^loopback address "):
        resolve_and_check("localhost", receiver.port, allow_private=False)
    # when allowed (localhost may resolve to ::1 first; the sender falls back to 127.0.0.1)
    allowed = _post(f"http://localhost:{receiver.port}/echo", allow_private=True)
    # then
    assert allowed.status == 200
    assert "127.0.0.1" in resolve_and_check("localhost", receiver.port, allow_private=True)
    assert receiver.requests[0].header("Host") == f"localhost:{receiver.port}"


def test_hostname_resolving_to_private_address_refused(fake_dns: dict[str, list[str]]) -> None:
    # given
    fake_dns["internal.example.test"] = ["10.0.0.1"]
    # when
    result = _post("https://internal.example.test/hook", allow_private=False)
    # then
    assert (result.error_kind, result.error) == ("refused", "refused: private address 10.0.0.1")


def test_every_resolved_address_must_pass(fake_dns: dict[str, list[str]]) -> None:
    # given: one public and one loopback record
    fake_dns["mixed.example.test"] = ["93.184.216.34", "127.0.0.1"]
    # when / then
    with pytest.raises(OutboundRefused, match=r"^loopback address 127\.0\.0\.1$"):
        resolve_and_check("mixed.example.test", 443, allow_private=False)
    result = _post("https://mixed.example.test/hook", allow_private=False)
    assert result.error == "refused: loopback address 127.0.0.1"


def test_connects_to_the_checked_ip_and_keeps_host_header(
    receiver: Receiver, fake_dns: dict[str, list[str]]
) -> None:
    # given: a name only the fake resolver knows; urllib3 resolving it itself would fail
    fake_dns["hooks.example.test"] = ["127.0.0.1"]
    # when
    result = _post(f"http://hooks.example.test:{receiver.port}/echo", allow_private=True)
    # then
    assert result.status == 200
    assert fake_dns["__calls__"] == ["hooks.example.test"]  # resolved once, then pinned
    assert receiver.requests[0].header("Host") == f"hooks.example.test:{receiver.port}"


def test_invalid_header_values_are_refused(receiver: Receiver) -> None:
    # when
    crlf = _post(f"{receiver.base}/echo", headers={"X-A": "a\r\nX-Injected: 1"})
    non_latin = _post(f"{receiver.base}/echo", headers={"X-A": "שלום"})
    bad_name = _post(f"{receiver.base}/echo", headers={"Bad Name": "v"})
    # then
    assert (crlf.error_kind, crlf.error) == ("refused", "refused: invalid value for header X-A")
    assert non_latin.error == "refused: header X-A must contain only ASCII/Latin-1 characters"
    assert bad_name.error == "refused: invalid header name 'Bad Name'"
    assert receiver.requests == []


def test_programming_errors_raise() -> None:
    with pytest.raises(ValueError, match="invalid HTTP method"):
        send(method="GE T", url="http://127.0.0.1/", headers={}, body=b"", timeout=1, allow_private=True)
    with pytest.raises(ValueError, match="timeout must be positive"):
        send(method="GET", url="http://127.0.0.1/", headers={}, body=b"", timeout=0, allow_private=True)


# --------------------------------------------------------------------------- TLS with pinning


def _write_tls_material(tmp_path: Path, dns_name: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for ``dns_name``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, Path, list[str]]]:
    pytest.importorskip("cryptography")
    ca_path, cert_path, key_path = _write_tls_material(tmp_path, "secure.example.test")
    sni_seen: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)

    def remember_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        sni_seen.append(name or "")

    context.sni_callback = remember_sni  # type: ignore[assignment]
    with Receiver(routes=ROUTES, default=OTHER, tls=context) as rec:
        yield rec, ca_path, sni_seen


def test_https_uses_hostname_for_sni_and_certificate_while_pinned(
    tls_receiver: tuple[Receiver, Path, list[str]], fake_dns: dict[str, list[str]]
) -> None:
    # given
    rec, ca_path, sni_seen = tls_receiver
    fake_dns["secure.example.test"] = ["127.0.0.1"]
    # when
    result = _post(f"https://secure.example.test:{rec.port}/echo", ca_bundle=str(ca_path))
    # then
    assert result.error is None
    assert result.status == 200
    assert sni_seen == ["secure.example.test"]
    assert rec.requests[0].header("Host") == f"secure.example.test:{rec.port}"


def test_https_certificate_for_another_name_is_a_tls_error(
    tls_receiver: tuple[Receiver, Path, list[str]], fake_dns: dict[str, list[str]]
) -> None:
    # given: the server's certificate is for secure.example.test only
    rec, ca_path, _ = tls_receiver
    fake_dns["other.example.test"] = ["127.0.0.1"]
    # when
    result = _post(f"https://other.example.test:{rec.port}/echo", ca_bundle=str(ca_path))
    # then
    assert result.error_kind == "tls"
    assert result.error is not None and result.error.startswith("TLS error: ")
    assert "other.example.test" in result.error
    assert rec.requests == []


def test_https_untrusted_certificate_is_a_tls_error(
    tls_receiver: tuple[Receiver, Path, list[str]], fake_dns: dict[str, list[str]]
) -> None:
    # given: default CA bundle, which does not trust the throwaway CA
    rec, _, _ = tls_receiver
    fake_dns["secure.example.test"] = ["127.0.0.1"]
    # when
    result = _post(f"https://secure.example.test:{rec.port}/echo")
    # then
    assert result.error_kind == "tls"
    assert result.error == "TLS error: unable to get local issuer certificate"


# --------------------------------------------------------------------------- check_url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "URL is empty"),
        ("ftp://example.com/x", "URL scheme must be http or https"),
        ("javascript:alert(1)", "URL scheme must be http or https"),
        ("http://", "URL has no host"),
        ("http:///path", "URL has no host"),
        ("https://user:pass@example.com/", "URL must not contain credentials (user:password@)"),
        ("https://token@example.com/", "URL must not contain credentials (user:password@)"),
        ("https://example.com:0/", "URL port must be between 1 and 65535"),
        ("https://example.com:70000/", "URL is malformed (bad host or port)"),
        ("https://example.com:abc/", "URL is malformed (bad host or port)"),
        ("https://[::1/", "URL is malformed (bad host or port)"),
        ("https://example.com/" + "a" * 2030, "URL is longer than 2048 characters"),
        ("https://exa mple.com/", "URL contains whitespace, control characters or backslashes"),
        ("https://example.com\\@evil.com/", "URL contains whitespace, control characters or backslashes"),
        ("http://10.1.2.3/", "private address 10.1.2.3"),
        ("http://192.168.1.1/", "private address 192.168.1.1"),
        ("http://172.16.0.1/", "private address 172.16.0.1"),
        ("http://100.64.0.1/", "shared (CGNAT) address 100.64.0.1"),
        ("http://127.0.0.1:8000/", "loopback address 127.0.0.1"),
        ("http://127.1/", "loopback address 127.0.0.1"),
        ("http://0x7f.0.0.1/", "loopback address 127.0.0.1"),
        ("http://2130706433/", "loopback address 127.0.0.1"),
        ("http://[::1]/", "loopback address ::1"),
        ("http://[fd12::1]/", "private address fd12::1"),
        ("http://[::ffff:10.0.0.1]/", "private address 10.0.0.1 (IPv4-mapped ::ffff:a00:1)"),
        ("http://localhost/", "loopback host localhost"),
        ("http://api.localhost/", "loopback host api.localhost"),
        ("http://0.0.0.0/", "unspecified address 0.0.0.0"),
        ("http://[::]/", "unspecified address ::"),
        ("http://224.0.0.1/", "multicast address 224.0.0.1"),
        ("http://255.255.255.255/", "reserved address 255.255.255.255"),
        ("http://169.254.169.254/", "cloud metadata address 169.254.169.254"),
    ],
)
def test_check_url_refuses(url: str, message: str) -> None:
    with pytest.raises(OutboundRefused) as info:
        check_url(url, allow_private=False)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks?x=1",
        "http://hooks.example.com:8080/in",
        "HTTPS://Example.COM/",
        "http://93.184.216.34/x",
        "https://[2606:4700::1111]/",
    ],
)
def test_check_url_accepts_public_targets(url: str) -> None:
    check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3/", "http://127.0.0.1:8000/", "http://localhost:8000/", "http://[fd12::1]/"],
)
def test_check_url_allows_private_when_allowed(url: str) -> None:
    check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[ff02::1]/",
    ],
)
def test_check_url_always_refuses_even_when_private_allowed(url: str) -> None:
    with pytest.raises(OutboundRefused):
        check_url(url, allow_private=True)


# --------------------------------------------------------------------------- address rules


@pytest.mark.parametrize(
    ("ip", "strict", "lenient"),
    [
        ("8.8.8.8", None, None),
        ("2606:4700::1111", None, None),
        ("10.0.0.1", "private address 10.0.0.1", None),
        ("172.31.255.255", "private address 172.31.255.255", None),
        ("192.168.0.10", "private address 192.168.0.10", None),
        ("127.0.0.1", "loopback address 127.0.0.1", None),
        ("::1", "loopback address ::1", None),
        ("fc00::5", "private address fc00::5", None),
        ("100.127.255.254", "shared (CGNAT) address 100.127.255.254", None),
        ("192.0.2.1", "private address 192.0.2.1", None),
        ("::ffff:127.0.0.1", "loopback address 127.0.0.1 (IPv4-mapped ::ffff:7f00:1)", None),
        ("2002:a00:1::1", "private address 10.0.0.1 (embedded in 2002:a00:1::1)", None),
        ("64:ff9b::a00:1", "private address 10.0.0.1 (NAT64 64:ff9b::a00:1)", None),
        ("64:ff9b::808:808", None, None),
        (
            "169.254.169.254",
            "cloud metadata address 169.254.169.254",
            "cloud metadata address 169.254.169.254",
        ),
        ("169.254.10.10", "link-local address 169.254.10.10", "link-local address 169.254.10.10"),
        ("fe80::abcd", "link-local address fe80::abcd", "link-local address fe80::abcd"),
        ("fd00:ec2::254", "cloud metadata address fd00:ec2::254", "cloud metadata address fd00:ec2::254"),
        (
            "100.100.100.200",
            "cloud metadata address 100.100.100.200",
            "cloud metadata address 100.100.100.200",
        ),
        (
            "::ffff:169.254.169.254",
            "cloud metadata address 169.254.169.254 (IPv4-mapped ::ffff:a9fe:a9fe)",
            "cloud metadata address 169.254.169.254 (IPv4-mapped ::ffff:a9fe:a9fe)",
        ),
        ("0.0.0.0", "unspecified address 0.0.0.0", "unspecified address 0.0.0.0"),
        ("0.1.2.3", "unspecified address 0.1.2.3", "unspecified address 0.1.2.3"),
        ("::", "unspecified address ::", "unspecified address ::"),
        ("239.1.1.1", "multicast address 239.1.1.1", "multicast address 239.1.1.1"),
        ("ff05::2", "multicast address ff05::2", "multicast address ff05::2"),
        ("240.0.0.1", "reserved address 240.0.0.1", "reserved address 240.0.0.1"),
        ("not-an-ip", "invalid address 'not-an-ip'", "invalid address 'not-an-ip'"),
    ],
)
def test_is_forbidden_address(ip: str, strict: str | None, lenient: str | None) -> None:
    assert is_forbidden_address(ip, allow_private=False) == strict
    assert is_forbidden_address(ip, allow_private=True) == lenient


def test_is_forbidden_address_accepts_ipaddress_objects() -> None:
    assert (
        is_forbidden_address(ipaddress.ip_address("10.0.0.1"), allow_private=False)
        == "private address 10.0.0.1"
    )


def test_resolve_and_check_ip_literals_skip_dns(fake_dns: dict[str, list[str]]) -> None:
    # when
    ips = resolve_and_check("[::1]", 80, allow_private=True)
    # then
    assert ips == ["::1"]
    assert fake_dns["__calls__"] == []


def test_resolve_and_check_returns_all_addresses(fake_dns: dict[str, list[str]]) -> None:
    # given
    fake_dns["public.example.test"] = ["93.184.216.34", "2606:2800:220:1::1"]
    # when / then
    assert resolve_and_check("public.example.test", 443, allow_private=False) == [
        "93.184.216.34",
        "2606:2800:220:1::1",
    ]


# --------------------------------------------------------------------------- redact_headers


def test_redact_headers() -> None:
    # given
    headers = {
        "Authorization": "Bearer abc",
        "proxy-authorization": "Basic xyz",
        "Cookie": "s=1",
        "Set-Cookie": "s=2",
        "X-Api-Key": "k",
        "X-Webhook-Signature": "deadbeef",
        "webhook-signature": "v1,abc=",
        "Stripe-Signature": "t=1,v1=ab",
        "X-Hub-Signature": "sha1=ab",
        "X-Hub-Signature-256": "sha256=ab",
        "X-Shopify-Hmac-Sha256": "abc",
        "X-Client-Secret": "s",
        "X-Access-Token": "t",
        "Content-Type": "application/json",
        "X-Webhook-Event": "project.created",
        "X-Webhook-Delivery": "dlv_1",
        "webhook-id": "msg_1",
        "User-Agent": USER_AGENT,
    }
    # when
    out = redact_headers(headers)
    # then
    assert out == {
        "Authorization": "[redacted]",
        "proxy-authorization": "[redacted]",
        "Cookie": "[redacted]",
        "Set-Cookie": "[redacted]",
        "X-Api-Key": "[redacted]",
        "X-Webhook-Signature": "[redacted]",
        "webhook-signature": "[redacted]",
        "Stripe-Signature": "[redacted]",
        "X-Hub-Signature": "[redacted]",
        "X-Hub-Signature-256": "[redacted]",
        "X-Shopify-Hmac-Sha256": "[redacted]",
        "X-Client-Secret": "[redacted]",
        "X-Access-Token": "[redacted]",
        "Content-Type": "application/json",
        "X-Webhook-Event": "project.created",
        "X-Webhook-Delivery": "dlv_1",
        "webhook-id": "msg_1",
        "User-Agent": USER_AGENT,
    }
    assert headers["Authorization"] == "Bearer abc"  # input untouched
