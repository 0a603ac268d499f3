"""What every page's browser test needs (Debian's chromium driven by Playwright, -m browser).

- ``studio``: a tenant ("סטודיו כהן") with an owner and a member (password ``PASSWORD``), their
  sessions made up front.
- ``logged_in(role="owner", lang="he", base_url=None, viewport=None)``: a fresh browser context
  signed in as that role (session cookie), in Hebrew (he-IL) or English (en); ``base_url`` is the
  WSGI ``live_server`` unless given (``asgi_hub`` when the page needs /ws/events).
- ``asgi_hub``: the hub's real ASGI application (HTTP and /ws/events, as the Procfile runs it)
  served by uvicorn on a free port in this process, on the test database and Redis db.
- ``axe_violations(page)``: the serious and critical violations axe-core (vendored under
  tests/support/vendor/axe-core, tests only) finds on the page as it is now.
- ``assert_translated(page)``: no Latin-letter word in the visible text (and the accessible
  names: aria-label, title, alt, placeholder) of a Hebrew page, except brand and provider names,
  e-mail addresses, URLs and identifiers (as well as text shown as ``<code>``).
- ``screenshot(page, name)``: docs/screenshots/<lang of the page>/<name>.png (full page).

Database work (personas, sessions) must happen before Playwright starts: its sync API runs an
event loop in the test's thread, and Django refuses the ORM in a thread with a running loop.
The fixtures here are ordered so; a test that needs more rows makes them in a fixture listed
before ``logged_in`` / ``chromium``.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.paths import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
#: Playwright locale (Accept-Language) per page language; the django_language cookie is set too.
LOCALES = {"he": "he-IL", "en": "en-US"}
STUDIO_NAME = "סטודיו כהן"
#: The owner's and the member's password (for tests that sign in through /login).
PASSWORD = "Cohen-studio-2026"


# ------------------------------------------------------------------ sessions and contexts
def session_cookie(user, base_url: str) -> dict:
    """A signed-in session for ``user`` as a Playwright cookie for ``base_url`` (touches the DB:
    call before Playwright starts)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": base_url}


@dataclass
class Studio:
    """One tenant with an owner and a member; ``sessions`` are the users' session keys."""

    owner: object  # tests.support.factories.Persona
    member: object
    sessions: dict[str, str] = field(default_factory=dict)

    @property
    def tenant(self):
        return self.owner.tenant


@pytest.fixture
def studio(transactional_db) -> Studio:
    from tests.support.factories import make_persona, persona_in

    owner = make_persona(STUDIO_NAME, "owner@cohen-studio.example")
    member = persona_in(owner, "member@cohen-studio.example", "member")
    for persona in (owner, member):
        persona.user.set_password(PASSWORD)
        persona.user.save(update_fields=["password"])
    sessions = {role: session_cookie(p.user, "http://unused")["value"] for role, p in
                (("owner", owner), ("member", member))}
    return Studio(owner=owner, member=member, sessions=sessions)


@pytest.fixture
def chromium():
    """Debian's chromium (headless) for one test."""
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium"), "Debian's chromium is required (make install installs it)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser, *, lang: str = "he", base_url: str, session: str | None = None,
                viewport: dict | None = None):
    """A browser context in ``lang`` (he / en), signed in when ``session`` is a session key."""
    from django.conf import settings

    assert lang in LOCALES, f"lang must be one of {sorted(LOCALES)}"
    options = {"locale": LOCALES[lang], "base_url": base_url}
    if viewport:
        options["viewport"] = viewport
    context = browser.new_context(**options)
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": base_url}]
    if session:
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url})
    context.add_cookies(cookies)
    return context


@pytest.fixture
def logged_in(studio, live_server, chromium):
    """``logged_in(role="owner"|"member"|None, lang="he"|"en", base_url=None, viewport=None)``:
    a new context (closed after the test); ``role=None`` is an anonymous visitor."""
    contexts = []

    def make(role: str | None = "owner", lang: str = "he", base_url: str | None = None,
             viewport: dict | None = None):
        session = studio.sessions[role] if role else None
        context = new_context(chromium, lang=lang, base_url=base_url or live_server.url, session=session,
                              viewport=viewport)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


# ------------------------------------------------------------------ the ASGI server
@pytest.fixture
def asgi_hub(transactional_db) -> Iterator[str]:
    """The hub's ASGI application (architect_studio.asgi: pages and /ws/events on one origin)
    served by uvicorn in a thread of this process: same test database, same Redis db and
    channel-layer prefix as the test, so ``core.realtime.publish`` reaches its sockets."""
    import asyncio

    import uvicorn
    from django.db import connections

    from architect_studio.asgi import application
    from tests.support.ports import free_port

    port = free_port()
    # as the Procfile's web line runs it (uvicorn's default WebSocket implementation)
    config = uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # not the main thread

    def run():
        asyncio.run(server.serve())

    thread = threading.Thread(target=run, name="asgi-hub", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        connections.close_all()


# ------------------------------------------------------------------ axe-core
def axe_violations(page, impacts: Iterable[str] = ("serious", "critical")) -> list[dict]:
    """axe-core's violations of the given impacts on the page as it is now:
    ``[{"id", "impact", "help", "targets": [css selectors]}]`` (empty when clean)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    found = _axe_run(page, impacts)
    if found:  # judged on the page at rest: a violation must still be there a moment later
        page.wait_for_timeout(500)
        again = {(v["id"], tuple(v["targets"])) for v in _axe_run(page, impacts)}
        found = [v for v in found if (v["id"], tuple(v["targets"])) in again]
    return found


#: Settled: no htmx request, swap or settle in flight and no CSS animation or transition running
#: (a button mid-transition has the contrast of neither of its states; a loaded machine runs axe
#: while one plays).
_AT_REST = """() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')
    && document.getAnimations().every(a => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity)"""


def _axe_run(page, impacts: Iterable[str]) -> list[dict]:
    page.wait_for_function(_AT_REST, timeout=10_000)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    wanted = set(impacts)
    return [v for v in found if v["impact"] in wanted]


def format_violations(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['targets'][:5])}"
                     for v in violations)


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert not violations, "axe-core found serious/critical violations:\n" + format_violations(violations)


# ------------------------------------------------------------------ translation check
#: Names that stay in Latin letters on a Hebrew page: the product, the languages' own names,
#: technical acronyms a Hebrew interface writes as they are, "webhook" (the seed's Hebrew text
#: writes it so: "webhook נכנס"), and every provider's name.
BRAND_WORDS = frozenset({
    "webhook", "webhooks", "Webhook", "Webhooks", "WebSocket",
    "Architect", "Studio", "English", "API", "OAuth", "CalDAV", "URL", "JSON", "HMAC", "SHA", "HTTP", "HTTPS",
    "GET", "POST", "PUT", "PATCH", "DELETE", "ID", "SVG", "CSV", "PDF", "REST", "OData", "SMS", "CRM", "ERP",
    "PNG", "MIME", "SDK", "JWT", "PKCE",
    # products named in the providers' Hebrew descriptions
    "Microsoft", "SharePoint", "WizCloud",
})
#: Product names of more than one word, or a provider's own term quoted in parentheses.
BRAND_PHRASES = ("Low Profile", "Microsoft Graph", "(Audience)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?|wss?)://\S+|(?<![\w])/[\w./?=&%{}:-]+")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
# identifiers: anything with a digit, an underscore, a dot inside, or a {{ placeholder }}
_IDENTIFIER = re.compile(r"\{\{.*?\}\}|\b\w*(?:\d|_)\w*\b|\b\w+(?:\.\w+)+\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")


def provider_words() -> frozenset[str]:
    from integrations.providers.catalog import PROVIDERS

    words: set[str] = set()
    for provider in PROVIDERS.values():
        words.update(_WORD.findall(provider.name_en))
        words.update(_WORD.findall(provider.name_he))
    return frozenset(words)


def untranslated_words(text: str, allow: Iterable[str] = ()) -> list[str]:
    """The Latin-letter words of ``text`` that are not allowed on a Hebrew page, in order."""
    allowed = BRAND_WORDS | provider_words() | set(allow)
    for phrase in BRAND_PHRASES:
        text = text.replace(phrase, " ")
    for pattern in (_EMAIL, _URL, _UUID, _IDENTIFIER):
        text = pattern.sub(" ", text)
    return [w for w in _WORD.findall(text) if w not in allowed]


#: The visible text, without what is shown as code (``<code>``: API calls, field names, headers
#: quoted in a Hebrew sentence keep their Latin spelling, like identifiers).
_VISIBLE_TEXT = """() => {
    let body = document.body.innerText;
    for (const el of document.querySelectorAll('code')) {
        const code = el.innerText.trim();
        if (code && el.getClientRects().length) body = body.replace(code, ' ');
    }
    const parts = [document.title, body];
    for (const el of document.querySelectorAll('[aria-label], [title], [alt], [placeholder]')) {
        const style = getComputedStyle(el);
        if (el.closest('[hidden]') || style.display === 'none') continue;
        for (const name of ['aria-label', 'title', 'alt', 'placeholder']) {
            if (el.hasAttribute(name)) parts.push(el.getAttribute(name));
        }
    }
    for (const el of document.querySelectorAll('input[type=submit], input[type=button]')) parts.push(el.value);
    return parts.join('\\n');
}"""


def assert_translated(page, allow: Iterable[str] = ()) -> None:
    """The page is Hebrew (lang="he", dir="rtl") and has no untranslated English word."""
    html = page.locator("html")
    assert html.get_attribute("lang") == "he", f"not a Hebrew page: lang={html.get_attribute('lang')!r}"
    assert html.get_attribute("dir") == "rtl", "a Hebrew page is right-to-left"
    words = untranslated_words(page.evaluate(_VISIBLE_TEXT), allow)
    assert not words, f"untranslated words on the Hebrew page {page.url}: {sorted(set(words))}"


# ------------------------------------------------------------------ screenshots
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def screenshot(page, name: str, *, directory: Path | None = None) -> Path:
    """Save the full page to docs/screenshots/<lang>/<name>.png (``lang`` from <html lang>)."""
    assert _NAME.match(name), f"screenshot names are lowercase slugs: {name!r}"
    lang = (page.locator("html").get_attribute("lang") or "").split("-")[0]
    assert lang in LOCALES, f"the page has no known lang attribute: {lang!r}"
    target = (directory or SCREENSHOTS) / lang / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True, animations="disabled")
    return target


def has_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")
