"""ProviderAdapter: how the hub talks to one provider, beside its catalog entry.

The entry (``<provider_id>/entry.py``) is what the hub knows about a provider;
the adapter (``<provider_id>/adapter.py``) is what differs when the hub talks
to it: how a call authenticates, which call proves a connection works and how
its answer is judged, what connecting with credentials derives or refuses, and
-- for the sync engine -- listing remote changes from a cursor, pushing
creates/updates/deletes and discovering containers (calendars, folders, boards).

Every HTTP call still goes through ``integrations.client.ProviderClient`` (rate
limit, token refresh, retries, deadline, redaction); an adapter receives the
client and never opens a connection itself. Adapters import nothing from
``integrations.client``, not even for type hints (the client imports the
registry): they see it through the two small protocols below.

Past 400 lines on purpose: this is the one documented seam between the hub and every provider
(each hook with its default and its contract), read as a whole by whoever adds a provider.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.utils.translation import gettext as _

from core.words import SaidError
from integrations.providers.base import Provider


class Answer(Protocol):
    """What an adapter reads of a provider's answer (``integrations.client.ApiResponse``)."""

    status: int
    data: Any
    text: str
    headers: dict[str, str]

    @property
    def ok(self) -> bool: ...


class Caller(Protocol):
    """What an adapter calls the provider with (``integrations.client.ProviderClient``)."""

    def request(self, method: str, path: str, **kwargs: Any) -> Answer: ...

    @property
    def base_url(self) -> str:
        """The API base calls are made against (the provider app's override applied)."""
        ...

    @property
    def hook_url(self) -> str | None:
        """The integration's own webhook URL (``/api/integrations/hooks/<id>``), None while connecting."""
        ...

    @property
    def values(self) -> Mapping[str, Any]:
        """The connection's values (credential fields + connection_config) for a provider that
        wants one in a request body (PayPlus payment_page_uid, Cardcom TerminalNumber)."""
        ...


@dataclass(frozen=True)
class TestCall:
    """The provider's cheapest authenticated call: method, path and request keywords."""

    __test__ = False  # not a pytest test class

    method: str
    path: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Container:
    """A remote collection records live in: a calendar, a folder, a board."""

    id: str
    name: str
    primary: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)
    color: str | None = None  # as the provider shows it (Google backgroundColor "#9fe1e7")


@dataclass(frozen=True)
class RemoteChange:
    """One remote record changed (or removed) since a cursor.

    ``raw`` is the record in the shape the field mappings address (``remoteField`` dot
    paths): the provider's JSON for Google and Graph, the adapter's documented dict of
    iCalendar properties for CalDAV. ``version`` is the concurrency token sent back on
    update/delete (etag, changeKey); ``modified_at`` the provider's last-modified time
    (``newest_wins``); ``hub_id`` the local id the hub stamped on an object it created
    (Google extendedProperties.private, Graph extended property, CalDAV X-ARCHITECT-STUDIO-ID),
    so a full resync re-links instead of duplicating.
    """

    remote_id: str
    deleted: bool
    version: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    modified_at: datetime | None = None
    hub_id: str | None = None


@dataclass(frozen=True)
class BatchItem:
    """One record of a ``push_batch`` call, mapped and completed as ``push_create`` /
    ``push_update`` would receive it: a create when ``remote_id`` is None (``hub_id`` stamped on
    the new object, as ``push_create``'s), else an update of ``remote_id`` conditional on
    ``version`` (as ``push_update``'s). ``hub_id`` (the local record's id) is unique in a call."""

    record: Mapping[str, Any]
    hub_id: str
    remote_id: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class ChangePage:
    """One page of changes. ``cursor`` is stored only with the page it came from;
    ``done`` is True on the last page (the cursor is then the next sync's start)."""

    changes: tuple[RemoteChange, ...]
    cursor: str | None
    done: bool


@dataclass(frozen=True)
class Watch:
    """A push registration at the provider (Google watch channel, Graph subscription):
    its id there, the provider's resource id (Google ``resourceId``; Graph: the resource
    path) and when it expires."""

    channel_id: str
    resource_id: str
    expires_at: datetime


@dataclass(frozen=True)
class FileContent:
    """A local record's file, as the engine (``integrations.sync.files``) hands it to a storage
    adapter's ``push_create``: its name, type, size (None when the server did not say) and
    ``chunks(n)``, a one-shot iterator of the bytes ``n`` at a time, streamed from where the
    platform keeps the file -- never the whole file in memory."""

    name: str
    mime_type: str
    size: int | None
    chunks: Callable[[int], Iterator[bytes]]


@dataclass(frozen=True)
class ExportJob:
    """A provider-side export of one design (Canva export jobs): its id there, ``in_progress`` /
    ``success`` / ``failed``, the download URLs once done (they expire at the provider) and the
    provider's error message when it failed."""

    id: str
    status: str
    urls: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class PageSetting:
    """One provider setting as the settings page offers it (issue 14 item 3): ``key`` in
    ``Integration.settings`` ("columns.status" is one key of an object setting); ``kind``:
    ``pick`` (one of a list), ``picks`` (several of a list), ``ids`` (ids typed, comma-separated),
    ``text``, ``number``; ``source`` names the list ``setting_choices`` fetches (empty: the fixed
    ``options``); ``after`` the setting whose choice the list depends on (monday's board for its
    columns); ``blank`` what an empty control stores. The values still pass ``settings_errors``
    through the API's serializer: this only says how the page spells them."""

    key: str
    kind: str
    source: str = ""
    options: tuple[str, ...] = ()
    after: str = ""
    blank: Any = ""


class VersionConflict(Exception):
    """The remote object changed since ``version`` was read (412 on If-Match): the engine
    re-reads it and merges instead of overwriting. ``modified_at``: when the remote object
    last changed, where the provider said (a file's content conflict is decided by it under
    ``newest_wins``)."""

    def __init__(self, message: str = "", *, modified_at: datetime | None = None) -> None:
        super().__init__(message)
        self.modified_at = modified_at


class CursorInvalid(SaidError):
    """The provider no longer accepts the stored cursor (Google 410, Graph
    syncStateNotFound, CalDAV valid-sync-token): the caller runs a full resync.

    Its message may be words (core.words): English as text, the reader's language on a page."""


def cursor_text(*, drop_empty: bool = False, **state: Any) -> str:
    """An adapter's cursor as stable JSON (sorted keys; None values, and "" with
    ``drop_empty``, left out): opaque to the engine, read back with :func:`cursor_state`."""
    return json.dumps({k: v for k, v in state.items() if v is not None and not (drop_empty and v == "")},
                      sort_keys=True)


def cursor_state(cursor: str, provider: str) -> dict[str, Any]:
    """The state of a cursor written by :func:`cursor_text`; anything else raises
    :class:`CursorInvalid` naming ``provider`` (the engine then relists). Each adapter
    checks the keys it needs."""
    try:
        state = json.loads(cursor)
    except ValueError:
        raise CursorInvalid(f"not a {provider} cursor") from None
    if not isinstance(state, dict):
        raise CursorInvalid(f"not a {provider} cursor")
    return state


class CredentialsRefused(SaidError):
    """The provider refused the stored credentials (an API key revoked or rolled, a 401 no
    token refresh can cure): the engine ends the run failed and marks the integration
    ``expired``, so the tenant is asked to reconnect instead of the schedule retrying."""


class RecordRefused(Exception):
    """The provider refused this one record for what it is (a 4xx other than auth and rate
    limit: an invalid phone number, a template that does not exist): the export marks it a
    failed item and does not retry it. The text is the provider's code and message."""


class RetryLater(Exception):
    """The provider could not take the record now (429, 5xx, throughput limits): the export
    retries it with backoff, no sooner than ``retry_after`` seconds when the provider said."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def basic(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class ProviderAdapter:
    """The base every provider's adapter extends; each method says what it defaults to.

    Authentication and the test call are real for every provider. The sync
    methods raise ``NotImplementedError`` until the provider's sync adapter is
    written (issue 11 item 10: the three calendars first).
    """

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.provider.id!r})"

    # ------------------------------------------------------------------ authentication
    def auth_headers(self, values: Mapping[str, Any], access_token: str | None) -> dict[str, str]:
        """The headers that authenticate one API call: OAuth when there is a token, else credentials."""
        if access_token is not None:
            return self.oauth_headers(access_token)
        return self.credential_headers({k: ("" if v is None else str(v)) for k, v in values.items()})

    def oauth_headers(self, access_token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {access_token}"}

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        """Stored credentials as headers; none by default (a key in the path or in the body)."""
        return {}

    # ------------------------------------------------------------------ connecting with credentials
    def credential_errors(self, values: Mapping[str, str]) -> dict[str, list[str]]:
        """Provider-specific checks of cleaned credentials, beyond the entry's field rules."""
        return {}

    def settings_values(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """Connection values the integration's ``settings`` decide (Xero: the organisation the
        tenant chose, sent as ``Xero-tenant-id``), merged into the client's values for every
        call and for ``{placeholders}``. None by default."""
        return {}

    def derived_config(self, values: Mapping[str, str]) -> dict[str, str]:
        """Non-secret connection values derived from credentials (e.g. a datacenter for ``{dc}``)."""
        return {}

    # ------------------------------------------------------------------ test connection
    @property
    def can_test_connection(self) -> bool:
        """Whether credentials can be checked with a real call before they are saved."""
        return self.provider.test_endpoint is not None

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        """The entry's ``test_endpoint`` as a call; None when the provider documents none."""
        if self.provider.test_endpoint is None:
            return None
        method, path = self.provider.test_endpoint
        return TestCall(method, path)

    def test_ok(self, response: Answer) -> bool:
        """Whether the test call's answer proves the connection works."""
        return response.ok

    # ------------------------------------------------------------------ sync (the engine's seam)
    def _not_yet(self, what: str) -> NotImplementedError:
        return NotImplementedError(f"{self.provider.name_en} has no {what} yet (issue 11 sync adapters)")

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        """The mapping an empty ``fieldMappings`` means, in the seed's IntegrationFieldMapping
        shape (``{"localEntity", "localField", "remoteField", "transform"?, "transformConfig"?}``)."""
        return []

    def settings_defaults(self) -> dict[str, Any]:
        """``Integration.settings`` of a new connection (seed section ג)."""
        return {}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        """Problems with a PATCHed ``settings`` object (merged over the stored one); {} = valid.
        The default accepts only an empty object: a provider with settings overrides this."""
        return {"settings": [_("this provider has no settings")]} if value else {}

    #: The settings the settings page offers, in order (none: the page shows only the flags).
    page_settings: tuple[PageSetting, ...] = ()

    def setting_choices(self, client: Caller, source: str, settings: Mapping[str, Any]) -> list[Container]:
        """The list a ``PageSetting`` is picked from (``source``), given the settings as the page
        has them now; the default lists ``containers`` (``list_containers``). One bounded
        read through the client; errors raise as the sync's do."""
        if source == "containers":
            return self.list_containers(client)
        raise self._not_yet(f"a {source} list")

    def pair_containers(self, remote_type: str) -> tuple[str, ...] | None:
        """The containers of one remote type when the provider keeps each type in its own
        collection rather than in containers the tenant picks (Stripe: ``payment_intent``,
        ``customer``); ``list_changes`` and ``push_create`` then receive it as ``container``.
        None (the default): the enabled containers of the settings (calendars)."""
        return None

    def creates_local(self, local_type: str, settings: Mapping[str, Any]) -> bool:
        """Whether a remote record new to the hub creates a local one (edits and removals of
        linked records flow either way). Default: the seed's ``autoCreate<Type>s`` flag
        (``autoCreateMeetings``); a provider whose seed settings name it otherwise overrides this."""
        flag = f"autoCreate{local_type[:1].upper()}{local_type[1:]}s"
        return settings.get(self.setting_aliases.get(flag, flag)) is not False

    def complete_record(self, record: Mapping[str, Any], *, local_type: str, remote_type: str,
                        settings: Mapping[str, Any], hub_id: str, create: bool) -> dict[str, Any]:
        """The mapped record as the provider needs it written, given the integration's
        ``settings`` (an accounting invoice's tax rate, due days, numbering and ledger account;
        seed section ג): called by the export just before ``push_create`` (``create``) and
        ``push_update``. What it adds is not mapped back, so links and echo checks are
        unaffected. The default: the record as it is."""
        return dict(record)

    #: Entity pairs the engine exports for every connection of this provider, whatever
    #: ``syncSettings`` say, as soon as they are queued (realtime): their queue rows are written
    #: by the local record's owner (integrations.sync.owners), never by the entity-event
    #: subscriber or a scheduled run's sweep of unlinked records. Messaging: ("message", "message").
    standing_exports: tuple[tuple[str, str], ...] = ()
    #: A queued export that failed this many times (retryable failures) is given up: a failed
    #: item, its owner told. None: retried until it goes through.
    max_export_attempts: int | None = None

    #: Storage providers: ``push_create`` takes ``content`` (the record's file) and ``container``
    #: is the folder the engine resolved with ``ensure_folder`` (integrations.sync.files).
    carries_files: bool = False

    #: Provider settings that stand for the engine's ``autoCreate<Type>s`` flags (the seed's
    #: storage config says ``autoUploadDocuments`` / ``autoImportFromFolder``).
    setting_aliases: Mapping[str, str] = {}

    def sync_containers(self, settings: Mapping[str, Any]) -> tuple[str, ...] | None:
        """The containers a sync lists, from the provider settings (None: the engine's default,
        the enabled ``calendars[]`` or "primary")."""
        return None

    def syncs_record(self, local_type: str, values: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
        """Whether the provider settings sync this record at all (storage: the document's kind
        against ``syncDocuments`` / ``syncProposals`` / ...). Asked of a local record before its
        export and of a new remote record (its mapped values) before it is imported."""
        return True

    def ensure_folder(self, client: Caller, *, parent: str, name: str) -> str:
        """The id of the folder ``name`` in ``parent``, created when missing (storage providers)."""
        raise self._not_yet("folders")

    def list_containers(self, client: Caller) -> list[Container]:
        """The remote containers a tenant can pick (calendars, folders, boards)."""
        raise self._not_yet("container discovery")

    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        """One page of changes since ``cursor`` (None: a full listing). Raises CursorInvalid."""
        raise self._not_yet("change listing")

    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        """Create ``record`` (already mapped to the provider's shape) stamped with ``hub_id``;
        returns the created object (its id, version and raw record)."""
        raise self._not_yet("create")

    def push_update(
        self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
        version: str | None,
    ) -> RemoteChange:
        """Update a remote object, conditional on ``version`` where the provider supports it
        (raises ``VersionConflict`` when it changed meanwhile); returns the updated object."""
        raise self._not_yet("update")

    #: The most records one ``push_batch`` call takes (HubSpot: 100). 0, the default: the
    #: provider has no batch writes and the export pushes record by record.
    push_batch_max: int = 0

    @property
    def batches_writes(self) -> bool:
        """Whether the export hands this adapter its creates and updates in batches
        (``push_batch``); storage providers (``carries_files``) never: each file is its own upload."""
        return self.push_batch_max > 0 and not self.carries_files

    def push_batch(self, client: Caller, *, container: str,
                   items: Sequence[BatchItem]) -> list[RemoteChange | Exception]:
        """Creates and updates of one ``container`` (at most ``push_batch_max`` items) in as few
        calls as the provider allows. Returns one result per item, in ``items``' order: the
        written object (as ``push_create`` / ``push_update`` return it) or the exception the
        single call would have raised for that record alone (``RecordRefused``, ``VersionConflict``,
        the provider's error for a refused input). A failure of a whole call (429, 5xx, refused
        credentials) is the result of each item it carried -- or raised: then every item's."""
        raise self._not_yet("batch writes")

    def push_content(
        self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
        content: FileContent, version: str | None,
    ) -> RemoteChange:
        """Storage providers: replace a remote file's bytes with ``content`` (the record's
        metadata too), conditional on ``version`` (``VersionConflict`` when it changed)."""
        raise self._not_yet("file content update")

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        """Delete a remote object (an already-deleted one is not an error; ``VersionConflict``
        when it changed since ``version``)."""
        raise self._not_yet("delete")

    # ------------------------------------------------------------------ design exports (integrations.design_exports)
    #: The formats ``export_start`` takes (Canva: "pdf", "png"); () = the provider exports nothing.
    export_formats: tuple[str, ...] = ()

    def export_start(self, client: Caller, *, remote_id: str, fmt: str) -> ExportJob:
        """Ask the provider to export the remote design ``remote_id`` as ``fmt``."""
        raise self._not_yet("design exports")

    def export_status(self, client: Caller, *, job_id: str) -> ExportJob:
        """The export job's state now (one call; the caller polls)."""
        raise self._not_yet("design exports")

    # ------------------------------------------------------------------ provider webhooks (integrations.sync.hooks)
    #: True when the provider calls the integration's own URL (``Integration.webhook_url``,
    #: ``/api/integrations/hooks/<id>``) with its changes: Stripe events, payment callbacks.
    receives_hooks: bool = False

    #: The provider signs nothing the hub can check (Mailchimp, Priority BPM, monday.com without an
    #: app signing secret): its calls must carry the integration's URL secret
    #: (``integrations.hook_secret``: ``?secret=`` in the URL the hub gives it, or the
    #: ``hook_secret_header`` the provider sends as a static token). Checked before anything else.
    hook_url_secret: bool = False
    #: A header the provider sends a static, tenant-set token in (Priority's ``priority-bpm-token``),
    #: accepted in place of ``?secret=``.
    hook_secret_header: str | None = None

    def hook_register(self, client: Caller, *, container: str, url: str) -> list[str]:
        """Register ``url`` for changes of ``container`` at the provider (Mailchimp list webhooks,
        monday.com board webhooks); returns the provider's ids of the registrations
        (integrations.sync.hook_registration keeps them and calls ``hook_unregister`` later)."""
        raise self._not_yet("webhook registration")

    def hook_unregister(self, client: Caller, *, container: str, ids: list[str]) -> None:
        """Remove registrations ``hook_register`` made (one already gone is not an error)."""
        raise self._not_yet("webhook registration")

    @property
    def registers_hooks(self) -> bool:
        return type(self).hook_register is not ProviderAdapter.hook_register

    def hook_probe(self, method: str, query: Mapping[str, str]) -> bool:
        """Whether a call is the provider's URL check (Mailchimp's GET when a webhook is saved):
        answered 200 at once, nothing read or started."""
        return False

    def hook_secrets(self, values: Mapping[str, Any]) -> list[str]:
        """The secrets the provider's webhook scheme verifies a call with, from the stored
        credentials (default: the ``webhookSecret`` field)."""
        secret = values.get("webhookSecret")
        return [str(secret)] if secret else []

    def hook_config(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The webhook scheme's config from the connection's values (Meta's ``verifyToken`` for
        the ``hub.challenge`` subscription check); {} by default."""
        return {}

    def hook_changes(self, client: Caller, *, payload: Any,
                     query: Mapping[str, str]) -> tuple[str, tuple[RemoteChange, ...]] | None:
        """What a verified call means. None (the default): something changed, an incremental
        run reads it from the provider's feed. ``(remote type, changes)``: the provider has no
        feed; these records (read again from the provider where its calls are unsigned) are
        applied now to the records already linked."""
        return None

    # ------------------------------------------------------------------ provider webhooks (wake a run)
    def notified_accounts(self, payload: Any) -> set[str] | None:
        """The provider accounts a verified webhook's payload is about (QuickBooks realm ids,
        Xero tenant ids), or None when the payload names none (any of the tenant's connections
        of this provider is woken)."""
        return None

    def account_of(self, values: Mapping[str, Any]) -> str | None:
        """The provider account a connection is (from its connection values), to match with
        ``notified_accounts``."""
        return None

    # ------------------------------------------------------------------ push (realtime import)
    #: True when ``renew`` extends the registration itself (Graph PATCH); False when a renewal
    #: is a new registration followed by ``stop`` of the old one (Google channels).
    push_renews_in_place: bool = False

    @property
    def supports_push(self) -> bool:
        """Whether the provider can notify the hub of changes (``watch`` is implemented)."""
        return type(self).watch is not ProviderAdapter.watch

    #: A provider whose change notifications go to one URL per app (Dropbox), not per
    #: registration: the connection_config key naming the account a notification lists.
    app_push_account_key: str | None = None

    def app_push_accounts(self, body: Any) -> list[str] | None:
        """The accounts an app-level notification says changed (None: not a notification)."""
        return None

    def watch(self, client: Caller, *, container: str, address: str, token: str, channel_id: str) -> Watch:
        """Ask the provider to POST to ``address`` when ``container`` changes, echoing ``token``.
        ``channel_id`` is the hub's id for the registration where the provider takes one."""
        raise self._not_yet("push notifications")

    def stop(self, client: Caller, *, channel_id: str, resource_id: str) -> None:
        """End a registration (one the provider no longer knows is not an error)."""
        raise self._not_yet("push notifications")

    def renew(self, client: Caller, *, channel_id: str, resource_id: str) -> Watch:
        """Extend a registration in place (only where ``push_renews_in_place``)."""
        raise self._not_yet("push renewal")

    # ------------------------------------------------------------------ messaging (integrations.messaging)
    #: The channel a messaging provider sends on (``whatsapp``, ``sms``, ``email``); None: not a
    #: messaging provider. Its ``messageRules`` (providers/_messaging.py) are run on entity events.
    message_channel: str | None = None

    def send_message(self, client: Caller, message: Any) -> Any:
        """Send one ``_messaging.OutboundMessage``; returns ``_messaging.SentMessage``. Raises
        ``CredentialsRefused`` (401/403), ``_messaging.SendDeferred`` (429, 5xx: retried later)
        or ``_messaging.SendRefused`` (another 4xx: the message failed)."""
        raise self._not_yet("message sending")

    def hook_messages(self, payload: Any, query: Mapping[str, str], values: Mapping[str, Any]) -> list[Any] | None:
        """What a verified provider webhook says about messages (``_messaging.MessageEvent``:
        delivery statuses, inbound messages, opt-outs); None: not a messaging provider's call."""
        return None
