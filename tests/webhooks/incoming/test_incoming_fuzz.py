"""No input makes a 500 at the public endpoint: random bodies, content types, headers and
paths, signed and unsigned, against every verification scheme (fixed seed, bounded)."""

from __future__ import annotations

import json
import random

import pytest

from tests.support.webhooks import make_webhook, path_of, post
from webhooks.signing import hex_hmac_sha256
from webhooks.verification import SCHEMES

pytestmark = pytest.mark.django_db

CONTENT_TYPES = [
    "application/json", "application/json; charset=latin-1", "application/x-www-form-urlencoded",
    "text/plain", "multipart/form-data; boundary=x", "", "application/json; charset=bogus", "*/*",
]


def _bodies(rng: random.Random) -> list[bytes]:
    return [
        b"", b"{", b"[]", b"null", b'"x"', b"1e999", b'{"a": NaN}', b"\xff\xfe\x00", b"a=1&a=2&b=%ZZ",
        json.dumps({"lead": {"name": "\u05e9\u05dc\u05d5\u05dd\x00", "n": 10**30}}).encode(),
        b'{"a":' * 200 + b"1" + b"}" * 200,
        bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))),
    ]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_random_requests_never_500(alice, scheme):
    config = {"verifyToken": "t", "clientState": "c", "publicKey": "not-a-key"} if scheme in ("meta", "graph", "sendgrid") else {}
    webhook, secret = make_webhook(alice, verification_scheme=scheme, verification_config=config)
    rng = random.Random(f"fuzz-{scheme}")
    path = path_of(webhook)
    for body in _bodies(rng):
        for content_type in rng.sample(CONTENT_TYPES, 4):
            headers = {"HTTP_X_WEBHOOK_SIGNATURE": rng.choice([hex_hmac_sha256(secret, body), "sha256=zz", ""])}
            if rng.random() < 0.5:
                headers.update({"HTTP_WEBHOOK_ID": "msg_1", "HTTP_WEBHOOK_TIMESTAMP": rng.choice(["0", "x", "9" * 30]),
                                "HTTP_WEBHOOK_SIGNATURE": "v1,AAAA v2,=="})
            response = post(path, body, content_type, **headers)
            assert response.status_code < 500, (scheme, content_type, body[:40], response.content[:200])
    for bad_path in (path + "x", path.replace(str(webhook.id), "nope"), f"/api/webhooks/tenant/{webhook.tenant_id}/"):
        assert post(bad_path, b"{}").status_code in (404, 405)
