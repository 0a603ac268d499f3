"""The field mapping engine (issue 11 item 6): paths, transforms, defaults and filters.

Remote records are shaped like the providers' documented resources:
Google Calendar Event, https://developers.google.com/calendar/api/v3/reference/events#resource
Microsoft Graph event, https://learn.microsoft.com/en-us/graph/api/resources/event
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation
from rest_framework.exceptions import ValidationError

from integrations.models import CurrencyRate
from integrations.providers._calendar import DEFAULT_CALENDAR_MAPPING
from integrations.serializers import validate_sync_settings
from integrations.sync.custom import REGISTRY
from integrations.sync.mapping import (
    MappingConfigError,
    MappingContext,
    MappingError,
    compile_filters,
    compile_mappings,
)

# https://developers.google.com/calendar/api/v3/reference/events#resource (a timed event, as events.list returns it)
GOOGLE_EVENT = {
    "kind": "calendar#event",
    "etag": "\"3181161784712000\"",
    "id": "4eahs9ghkhrvkld72hogu9ph3e",
    "status": "confirmed",
    "htmlLink": "https://www.google.com/calendar/event?eid=NGVhaHM5Z2hraHJ2a2xkNzJob2d1OXBoM2Ugbm9hQGV4YW1wbGUuY29t",
    "created": "2026-11-20T09:12:44.000Z",
    "updated": "2026-11-21T10:01:52.356Z",
    "summary": "Site visit - Rothschild 12",
    "description": "Measure the living room and the balcony.",
    "location": "Rothschild Blvd 12, Tel Aviv",
    "creator": {"email": "noa@studio.example", "self": True},
    "organizer": {"email": "noa@studio.example", "self": True},
    "start": {"dateTime": "2026-12-02T10:00:00+02:00", "timeZone": "Asia/Jerusalem"},
    "end": {"dateTime": "2026-12-02T11:30:00+02:00", "timeZone": "Asia/Jerusalem"},
    "iCalUID": "4eahs9ghkhrvkld72hogu9ph3e@google.com",
    "sequence": 0,
    "attendees": [
        {"email": "dana@client.example", "displayName": "Dana Levi", "responseStatus": "accepted"},
        {"email": "noa@studio.example", "organizer": True, "self": True, "responseStatus": "accepted"},
    ],
    "extendedProperties": {"private": {"architectStudioId": "0f8fad5b-d9cb-469f-a165-70867728950e"}},
    "reminders": {"useDefault": True},
    "eventType": "default",
}

# The same resource for an all-day event: start.date / end.date, the end date exclusive.
GOOGLE_ALL_DAY = {
    **{k: v for k, v in GOOGLE_EVENT.items() if k not in ("start", "end", "attendees")},
    "id": "7cbh8rpc10lrc0ckih9tafss99",
    "summary": "Studio closed - Hanukkah",
    "start": {"date": "2026-12-05"},
    "end": {"date": "2026-12-06"},
}

# https://learn.microsoft.com/en-us/graph/api/resources/event (dateTimeTimeZone in UTC, 7 fraction digits)
GRAPH_EVENT = {
    "id": "AAMkAGIAAAoZDOFAAA=",
    "changeKey": "ZfA5y7Nl9k2ITpoKmdUu0wAAAAAAAA==",
    "lastModifiedDateTime": "2026-11-21T10:01:52.3560000Z",
    "subject": "Design review",
    "body": {"contentType": "html", "content": "<html><body>Bring samples</body></html>"},
    "start": {"dateTime": "2026-12-02T08:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-02T09:00:00.0000000", "timeZone": "UTC"},
    "location": {"displayName": "Studio"},
    "attendees": [{"type": "required", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                   "emailAddress": {"name": "Dana Levi", "address": "dana@client.example"}}],
}

# A local meeting as entities.services.entity_snapshot gives it (camelCase).
LOCAL_MEETING = {
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "title": "Site visit - Rothschild 12",
    "description": "Measure the living room and the balcony.",
    "startTime": "2026-12-02T10:00:00+02:00",
    "endTime": "2026-12-02T11:30:00+02:00",
    "location": "Rothschild Blvd 12, Tel Aviv",
    "attendees": ["dana@client.example", {"email": "noa@studio.example"}],
    "status": "scheduled",
}


def calendar_mapping():
    return compile_mappings([], local_type="meeting", defaults=DEFAULT_CALENDAR_MAPPING)


def one(local_field, remote_field, **extra):
    return compile_mappings([{"localEntity": "payment", "localField": local_field, "remoteField": remote_field, **extra}],
                            local_type="payment", defaults=[])


# ------------------------------------------------------------------ calendar default mapping
def test_a_google_event_becomes_local_meeting_fields():
    local = calendar_mapping().to_local(GOOGLE_EVENT, MappingContext())
    assert local == {
        "title": "Site visit - Rothschild 12",
        "description": "Measure the living room and the balcony.",
        "startTime": "2026-12-02T10:00:00+02:00",
        "endTime": "2026-12-02T11:30:00+02:00",
        "location": "Rothschild Blvd 12, Tel Aviv",
        "attendees": ["dana@client.example", "noa@studio.example"],
    }


def test_a_local_meeting_becomes_a_google_event_with_only_mapped_paths():
    remote = calendar_mapping().to_remote(LOCAL_MEETING, MappingContext())
    assert remote == {
        "summary": "Site visit - Rothschild 12",
        "description": "Measure the living room and the balcony.",
        "start": {"dateTime": "2026-12-02T10:00:00+02:00"},
        "end": {"dateTime": "2026-12-02T11:30:00+02:00"},
        "location": "Rothschild Blvd 12, Tel Aviv",
        "attendees": [{"email": "dana@client.example"}, {"email": "noa@studio.example"}],
    }


def test_round_trip_is_stable_and_inputs_are_not_mutated():
    mapping, event, meeting = calendar_mapping(), copy.deepcopy(GOOGLE_EVENT), copy.deepcopy(LOCAL_MEETING)
    local = mapping.to_local(event, MappingContext())
    assert mapping.to_local(mapping.to_remote(local, MappingContext()), MappingContext()) == local
    assert mapping.to_remote(meeting, MappingContext()) == mapping.to_remote(meeting, MappingContext())
    assert (event, meeting) == (GOOGLE_EVENT, LOCAL_MEETING)


def test_times_are_converted_to_the_integrations_zone():
    event = {**GOOGLE_EVENT, "start": {"dateTime": "2026-12-02T10:00:00-08:00", "timeZone": "America/Los_Angeles"}}
    assert calendar_mapping().to_local(event, MappingContext())["startTime"] == "2026-12-02T20:00:00+02:00"
    assert calendar_mapping().to_local(event, MappingContext(tz="Europe/London"))["startTime"] == "2026-12-02T18:00:00+00:00"
    # summer time in Jerusalem is +03:00 (UTC instants from the local API come out in the zone)
    summer = calendar_mapping().to_remote({"startTime": "2026-07-01T07:00:00Z"}, MappingContext())
    assert summer == {"start": {"dateTime": "2026-07-01T10:00:00+03:00"}}


def test_an_all_day_event_reads_as_midnight_to_midnight_in_the_zone():
    local = calendar_mapping().to_local(GOOGLE_ALL_DAY, MappingContext())
    assert (local["startTime"], local["endTime"]) == ("2026-12-05T00:00:00+02:00", "2026-12-06T00:00:00+02:00")
    assert "attendees" not in local


def test_a_local_date_goes_to_the_all_day_field_and_can_stay_a_date_locally():
    mapping = compile_mappings([{"localEntity": "task", "localField": "dueDate", "remoteField": "start.dateTime",
                                 "transform": "date_format", "transformConfig": {"local": "date"}}],
                               local_type="task", defaults=[])
    assert mapping.to_remote({"dueDate": "2026-12-24"}, MappingContext()) == {"start": {"date": "2026-12-24"}}
    assert mapping.to_local({"start": {"date": "2026-12-24"}}, MappingContext()) == {"dueDate": "2026-12-24"}
    assert mapping.to_local({"start": {"dateTime": "2026-12-24T23:30:00Z"}}, MappingContext()) == {"dueDate": "2026-12-25"}


def test_graph_naive_utc_times_both_ways():
    rules = [
        {"localEntity": "meeting", "localField": "title", "remoteField": "subject"},
        {"localEntity": "meeting", "localField": "startTime", "remoteField": "start.dateTime",
         "transform": "date_format", "transformConfig": {"format": "naive_utc"}},
        {"localEntity": "meeting", "localField": "location", "remoteField": "location.displayName"},
        {"localEntity": "meeting", "localField": "attendees", "remoteField": "attendees[].emailAddress.address"},
    ]
    mapping = compile_mappings(rules, local_type="meeting", defaults=DEFAULT_CALENDAR_MAPPING)
    local = mapping.to_local(GRAPH_EVENT, MappingContext())
    assert local == {"title": "Design review", "startTime": "2026-12-02T10:00:00+02:00", "location": "Studio",
                     "attendees": ["dana@client.example"]}
    assert mapping.to_remote(local, MappingContext()) == {
        "subject": "Design review",
        "start": {"dateTime": "2026-12-02T08:00:00", "timeZone": "UTC"},
        "location": {"displayName": "Studio"},
        "attendees": [{"emailAddress": {"address": "dana@client.example"}}],
    }


def test_a_bad_date_fails_the_record_with_the_field_named():
    with pytest.raises(MappingError, match="startTime: 'next tuesday' is not an ISO 8601"):
        calendar_mapping().to_remote({"startTime": "next tuesday"}, MappingContext())
    with pytest.raises(MappingError, match="start.dateTime"):
        calendar_mapping().to_local({"start": {"dateTime": "2026-13-45T10:00:00Z"}}, MappingContext())


# ------------------------------------------------------------------ paths
def test_list_items_merge_by_position_and_index_paths_address_one_item():
    mapping = compile_mappings([
        {"localEntity": "meeting", "localField": "attendees", "remoteField": "attendees[].email"},
        {"localEntity": "meeting", "localField": "attendeeNames", "remoteField": "attendees[].displayName"},
        {"localEntity": "meeting", "localField": "organizer", "remoteField": "attendees[1].email"},
    ], local_type="meeting", defaults=[])
    local = mapping.to_local(GOOGLE_EVENT, MappingContext())
    assert local == {"attendees": ["dana@client.example", "noa@studio.example"], "attendeeNames": ["Dana Levi"],
                     "organizer": "noa@studio.example"}
    remote = mapping.to_remote({"attendees": ["a@x.example", "b@x.example"], "attendeeNames": ["A", "B"]},
                               MappingContext())
    assert remote == {"attendees": [{"email": "a@x.example", "displayName": "A"},
                                    {"email": "b@x.example", "displayName": "B"}]}


def test_nested_local_paths_and_extended_properties():
    mapping = compile_mappings([{"localEntity": "meeting", "localField": "externalIds.google",
                                 "remoteField": "extendedProperties.private.architectStudioId"}],
                               local_type="meeting", defaults=[])
    local = mapping.to_local(GOOGLE_EVENT, MappingContext())
    assert local == {"externalIds": {"google": "0f8fad5b-d9cb-469f-a165-70867728950e"}}
    assert mapping.to_remote(local, MappingContext()) == {
        "extendedProperties": {"private": {"architectStudioId": "0f8fad5b-d9cb-469f-a165-70867728950e"}}}


# ------------------------------------------------------------------ defaults
def test_default_value_fills_an_empty_source_both_ways():
    mapping = compile_mappings([
        {"localEntity": "meeting", "localField": "title", "remoteField": "summary", "defaultValue": "(no title)"},
        {"localEntity": "meeting", "localField": "location", "remoteField": "location"},
    ], local_type="meeting", defaults=[])
    assert mapping.to_local({"summary": "", "location": "Haifa"}, MappingContext()) == {"title": "(no title)", "location": "Haifa"}
    assert mapping.to_local({}, MappingContext()) == {"title": "(no title)"}  # missing without default: not written
    assert mapping.to_remote({"title": None}, MappingContext()) == {"summary": "(no title)"}
    assert mapping.to_remote({"title": "Kickoff", "location": ""}, MappingContext()) == {"summary": "Kickoff", "location": ""}


def test_a_null_list_clears_the_remote_list():
    assert calendar_mapping().to_remote({"attendees": None}, MappingContext()) == {"attendees": []}


def test_own_mappings_replace_the_defaults_for_that_entity_only():
    own = [{"localEntity": "meeting", "localField": "title", "remoteField": "summary"},
           {"localEntity": "task", "localField": "title", "remoteField": "summary"}]
    assert calendar_mapping().to_local(GOOGLE_EVENT, MappingContext()).keys() > {"title"}
    assert compile_mappings(own, local_type="meeting", defaults=DEFAULT_CALENDAR_MAPPING).to_local(
        GOOGLE_EVENT, MappingContext()) == {"title": "Site visit - Rothschild 12"}
    assert compile_mappings(own, local_type="client", defaults=[]).rules == ()


# ------------------------------------------------------------------ custom
def test_custom_functions_apply_forward_and_undo_on_import():
    mapping = compile_mappings([
        {"localEntity": "meeting", "localField": "title", "remoteField": "summary",
         "transform": "custom", "transformConfig": {"name": "prefix", "params": {"value": "[Studio] "}}},
        {"localEntity": "meeting", "localField": "status", "remoteField": "status", "transform": "custom",
         "transformConfig": {"name": "map_values", "params": {"values": {"scheduled": "confirmed", "cancelled": "cancelled"}}}},
        {"localEntity": "meeting", "localField": "tags", "remoteField": "description",
         "transform": "custom", "transformConfig": {"name": "join", "params": {"separator": "; "}}},
    ], local_type="meeting", defaults=[])
    remote = mapping.to_remote({"title": "Kickoff", "status": "scheduled", "tags": ["a", "b"]}, MappingContext())
    assert remote == {"summary": "[Studio] Kickoff", "status": "confirmed", "description": "a; b"}
    assert mapping.to_local(remote, MappingContext()) == {"title": "Kickoff", "status": "scheduled", "tags": ["a", "b"]}
    assert mapping.to_local({"status": "tentative"}, MappingContext()) == {"status": "tentative"}


def test_builtin_registry_has_the_documented_functions():
    assert {"prefix", "suffix", "lower", "upper", "trim", "truncate", "map_values", "join", "split"} <= set(REGISTRY)
    assert REGISTRY["upper"].to_remote("abc", {}) == "ABC"
    assert REGISTRY["suffix"].to_local("Kickoff (AS)", {"value": " (AS)"}) == "Kickoff"
    assert REGISTRY["truncate"].to_remote("abcdef", {"length": 3}) == "abc"
    assert REGISTRY["split"].to_remote(" a, b, , c ", {}) == ["a", "b", "c"]


@pytest.mark.parametrize(("config", "message"), [
    ({"name": "eval", "params": {}}, "transformConfig.name must be one of"),
    ({"name": "__import__"}, "transformConfig.name must be one of"),
    ({"name": "prefix"}, "prefix: params.value is required"),
    ({"name": "prefix", "params": {"value": 3}}, "params.value must be a string"),
    ({"name": "lower", "params": {"x": 1}}, "takes no params"),
    ({"name": "map_values", "params": {"values": {"a": "x", "b": "x"}}}, "same remote value"),
    ({"name": "truncate", "params": {"length": True}}, "params.length"),
    ("prefix", "needs a transformConfig object"),
])
def test_bad_custom_configs_fail_to_compile(config, message):
    raw = [{"localEntity": "meeting", "localField": "title", "remoteField": "summary", "transform": "custom",
            "transformConfig": config}]
    with translation.override("en"), pytest.raises(MappingConfigError, match=message):  # Hebrew by default
        compile_mappings(raw, local_type="meeting", defaults=[])


@pytest.mark.parametrize(("local", "remote"), [
    ({"startTime": "0001-01-01T00:00:00+14:00"}, None),
    ({"startTime": "9999-12-31T23:59:59-12:00"}, None),
    (None, {"start": {"dateTime": "9999-12-31T23:00:00-12:00"}}),
    (None, {"start": {"date": "0001-01-01"}, "end": {"dateTime": ["x"]}}),
])
def test_extreme_dates_fail_the_record_not_the_run(local, remote):
    with pytest.raises(MappingError):
        if local is not None:
            calendar_mapping().to_remote(local, MappingContext())
        else:
            calendar_mapping().to_local(remote, MappingContext())


def test_a_custom_function_given_the_wrong_type_fails_that_record():
    mapping = compile_mappings([{"localEntity": "meeting", "localField": "title", "remoteField": "summary",
                                 "transform": "custom", "transformConfig": {"name": "lower"}}],
                               local_type="meeting", defaults=[])
    with pytest.raises(MappingError, match="title: lower needs text, got int"):
        mapping.to_remote({"title": 42}, MappingContext())


# ------------------------------------------------------------------ currency_convert
@pytest.fixture
def rates(db):
    CurrencyRate.objects.create(base="USD", quote="ILS", rate=Decimal("3.60"), valid_on=date(2026, 11, 1), source="BOI")
    CurrencyRate.objects.create(base="USD", quote="ILS", rate=Decimal("3.70"), valid_on=date(2026, 12, 1), source="BOI")
    CurrencyRate.objects.create(base="EUR", quote="ILS", rate=Decimal("4.00"), valid_on=date(2026, 12, 1))


def test_currency_uses_the_newest_rate_on_or_before_the_records_date_and_notes_it(rates):
    mapping = one("amount", "TotalAmt", transform="currency_convert",
                  transformConfig={"from": "USD", "to": "ILS", "dateField": "dueDate"})
    ctx = MappingContext()
    assert mapping.to_remote({"amount": "100.00", "dueDate": "2026-11-15"}, ctx) == {"TotalAmt": 360}
    assert mapping.to_remote({"amount": "10.01", "dueDate": "2026-12-03"}, ctx) == {"TotalAmt": 37.04}
    assert ctx.notes == [
        {"transform": "currency_convert", "field": "amount", "from": "USD", "to": "ILS", "rate": "3.60000000",
         "inverse": False, "validOn": "2026-11-01", "amount": "100.00"},
        {"transform": "currency_convert", "field": "amount", "from": "USD", "to": "ILS", "rate": "3.70000000",
         "inverse": False, "validOn": "2026-12-01", "amount": "10.01"},
    ]


def test_currency_back_to_local_uses_the_inverse_rate_and_the_context_date(rates):
    mapping = one("amount", "TotalAmt", transform="currency_convert", transformConfig={"from": "USD", "to": "ILS"})
    ctx = MappingContext(on_date=date(2026, 12, 2))
    assert mapping.to_local({"TotalAmt": 370}, ctx) == {"amount": "100.00"}
    assert ctx.notes[0]["inverse"] is True and ctx.notes[0]["from"] == "ILS"


def test_currency_read_from_a_field_and_a_missing_rate_fails_that_record(rates):
    mapping = compile_mappings([
        {"localEntity": "payment", "localField": "amount", "remoteField": "amount", "transform": "currency_convert",
         "transformConfig": {"fromField": "currency", "to": "ILS", "remoteAs": "minor"}},
        {"localEntity": "payment", "localField": "currency", "remoteField": "original_currency"},
    ], local_type="payment", defaults=[])
    ctx = MappingContext(on_date=date(2026, 12, 2))
    assert mapping.to_remote({"amount": "12.50", "currency": "EUR"}, ctx) == {"amount": 5000, "original_currency": "EUR"}
    assert mapping.to_remote({"amount": "12.50", "currency": "ILS"}, ctx) == {"amount": 1250, "original_currency": "ILS"}
    with pytest.raises(MappingError, match="amount: no GBP->ILS exchange rate on or before 2026-12-02"):
        mapping.to_remote({"amount": "1", "currency": "GBP"}, ctx)
    with pytest.raises(MappingError, match="no USD->ILS exchange rate on or before 2026-10-31"):
        mapping.to_remote({"amount": "1", "currency": "USD"}, MappingContext(on_date=date(2026, 10, 31)))


@pytest.mark.parametrize("amount", ["1e40", "NaN", "Infinity", {"value": 1}, True, "12,50"])
def test_amounts_no_conversion_can_take_fail_the_record(rates, amount):
    mapping = one("amount", "TotalAmt", transform="currency_convert", transformConfig={"from": "USD", "to": "ILS"})
    with pytest.raises(MappingError, match="^amount: "):
        mapping.to_remote({"amount": amount}, MappingContext(on_date=date(2026, 12, 2)))


def test_a_rate_lookup_is_made_once_per_context(rates, django_assert_num_queries):
    mapping = one("amount", "TotalAmt", transform="currency_convert", transformConfig={"from": "USD", "to": "ILS"})
    ctx = MappingContext(on_date=date(2026, 12, 2))
    with django_assert_num_queries(1):
        results = [mapping.to_remote({"amount": str(n)}, ctx)["TotalAmt"] for n in (1, 2, 3)]
    assert results == [3.7, 7.4, 11.1]


@pytest.mark.parametrize(("config", "message"), [
    ({"from": "usd", "to": "ILS"}, "transformConfig.from must be an ISO 4217 code"),
    ({"to": "ILS"}, "needs 'from' or 'fromField'"),
    ({"from": "USD", "to": "ILS", "rate": 3.7}, "unknown key 'rate'"),
    ({"from": "USD", "to": "ILS", "remoteAs": "cents"}, "remoteAs"),
    (None, "needs a transformConfig object"),
])
def test_bad_currency_configs_fail_to_compile(config, message):
    with translation.override("en"), pytest.raises(MappingConfigError, match=message):  # Hebrew by default
        one("amount", "TotalAmt", transform="currency_convert", transformConfig=config)


def test_config_errors_are_in_hebrew_by_default_with_keys_and_choices_as_they_are():
    with translation.override("he"):
        with pytest.raises(MappingConfigError, match="transformConfig: מפתח לא מוכר 'rate'"):
            one("amount", "TotalAmt", transform="currency_convert", transformConfig={"from": "USD", "to": "ILS", "rate": 3})
        with pytest.raises(MappingConfigError, match="transformConfig.name חייב להיות אחד מאלה: .*'eval'"):
            one("title", "summary", transform="custom", transformConfig={"name": "eval"})
        with pytest.raises(MappingConfigError, match="prefix: params.value הוא שדה חובה"):
            one("title", "summary", transform="custom", transformConfig={"name": "prefix"})
        with pytest.raises(MappingConfigError, match="operator חייב להיות אחד מאלה: equals, not_equals, contains, in_list"):
            compile_filters([{"field": "status", "operator": "regex", "value": ".*"}])


# ------------------------------------------------------------------ filters
@pytest.mark.parametrize(("raw", "expected"), [
    ([{"field": "status", "operator": "equals", "value": "confirmed"}], True),
    ([{"field": "status", "operator": "not_equals", "value": "cancelled"}], True),
    ([{"field": "summary", "operator": "contains", "value": "SITE VISIT"}], True),
    ([{"field": "eventType", "operator": "in_list", "value": ["default", "focusTime"]}], True),
    ([{"field": "attendees[].email", "operator": "equals", "value": "dana@client.example"}], True),
    ([{"field": "attendees[].email", "operator": "not_equals", "value": "dana@client.example"}], False),
    ([{"field": "attendees[].email", "operator": "contains", "value": "@client."}], True),
    ([{"field": "organizer.email", "operator": "in_list", "value": ["other@studio.example"]}], False),
    ([{"field": "colorId", "operator": "equals", "value": "5"}], False),
    ([{"field": "colorId", "operator": "not_equals", "value": "5"}], True),
    ([{"field": "status", "operator": "equals", "value": "confirmed"},
      {"field": "summary", "operator": "contains", "value": "lunch"}], False),
    ([], True),
])
def test_filters_on_a_google_event(raw, expected):
    assert compile_filters(raw).matches(GOOGLE_EVENT) is expected


def test_bad_filters_fail_to_compile():
    with translation.override("en"):  # the messages follow the active language (Hebrew by default)
        with pytest.raises(MappingConfigError, match="in_list needs a list value"):
            compile_filters([{"field": "status", "operator": "in_list", "value": "confirmed"}])
        with pytest.raises(MappingConfigError, match="operator must be one of"):
            compile_filters([{"field": "status", "operator": "regex", "value": ".*"}])


# ------------------------------------------------------------------ PATCH validation agrees with the engine
def test_sync_settings_validation_checks_transform_configs_and_list_paths():
    base = {"direction": "import", "frequency": "manual"}
    ok = validate_sync_settings({**base, "fieldMappings": DEFAULT_CALENDAR_MAPPING,
                                 "filters": [{"field": "attendees[].email", "operator": "contains", "value": "@"}]},
                                provider_id="google_calendar")
    assert ok["fieldMappings"] == [{"transform": "none", **m} for m in DEFAULT_CALENDAR_MAPPING]
    with translation.override("en"), pytest.raises(ValidationError) as raised:  # Hebrew by default
        validate_sync_settings({**base, "fieldMappings": [
            {"localEntity": "meeting", "localField": "title", "remoteField": "summary", "transform": "custom",
             "transformConfig": {"name": "shell"}},
            {"localEntity": "meeting", "localField": "startTime", "remoteField": "start.dateTime",
             "transform": "date_format", "transformConfig": {"format": "rfc822"}},
        ]}, provider_id="google_calendar")
    detail = raised.value.detail
    assert "transformConfig.name must be one of" in str(detail["fieldMappings[0]"])
    assert "transformConfig.format must be one of" in str(detail["fieldMappings[1]"])


def test_import_only_fields_are_read_from_the_provider_and_never_written_to_it():
    mapping = compile_mappings([
        {"localEntity": "document", "localField": "name", "remoteField": "name"},
        {"localEntity": "document", "localField": "sizeBytes", "remoteField": "size",
         "transformConfig": {"direction": "import"}},
    ], local_type="document", defaults=[])
    ctx = MappingContext()
    assert mapping.to_local({"name": "Plans.pdf", "size": 1234}, ctx) == {"name": "Plans.pdf", "sizeBytes": 1234}
    assert mapping.to_remote({"name": "Plans.pdf", "sizeBytes": 99}, ctx) == {"name": "Plans.pdf"}
    assert mapping.import_only == frozenset({"sizeBytes"})
    with translation.override("en"), pytest.raises(MappingConfigError, match="direction may only be"):
        compile_mappings([{"localEntity": "document", "localField": "name", "remoteField": "name",
                           "transformConfig": {"direction": "export"}}], local_type="document", defaults=[])
