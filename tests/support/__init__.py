"""Helpers the tests share (no tests here; fixtures are in tests/conftest.py):

* ``factories`` — personas (tenants), meetings, API clients, ``run_at_once``;
* ``receiver`` — the one local HTTP receiver (``Receiver``, ``Plan``, ``Received``);
* ``slow_receivers`` — raw-TCP receivers that drip or never stop (deadline tests);
* ``ports`` — ``free_port``; ``waiting`` — ``wait_until``; ``paths`` — ``ROOT``;
* ``webhooks`` — ``make_webhook`` (incoming), delivering and processing, an outgoing
  webhook, the Standard Webhooks published vectors;
* ``oauth`` — the hub's connect dance and a stored OAuth integration; ``oauth_server`` —
  the local OAuth 2.0 server (django-oauth-toolkit) run as a subprocess;
* ``events`` — ``TenantEvents`` and the ``tenant_events`` fixture (the channel layer);
* ``browser`` — Debian's chromium for Playwright.
"""
