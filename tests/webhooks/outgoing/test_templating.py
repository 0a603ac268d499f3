"""Outgoing payload templates (contract C7): the result is always valid JSON.

Pure tests: no Django, no database.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest

from webhooks.templating import (
    MAX_TEMPLATE_BYTES,
    TemplateError,
    build_context,
    placeholders,
    render_template,
    validate_template,
)


def _context(**entity: Any) -> dict[str, Any]:
    return build_context(
        entity=entity,
        entity_type="project",
        entity_id="p-1",
        event="created",
        tenant_id="t-1",
        timestamp="2025-01-02T03:04:05Z",
    )


def test_build_context_exposes_documented_names() -> None:
    # given / when
    ctx = _context(title="Villa")
    # then
    assert ctx == {
        "entity": {"title": "Villa"},
        "entityType": "project",
        "entityId": "p-1",
        "event": "created",
        "tenantId": "t-1",
        "timestamp": "2025-01-02T03:04:05Z",
    }


def test_bare_placeholders_become_json_values() -> None:
    # given
    template = (
        '{"title": {{entity.title}}, "budget": {{entity.budget}}, "active": {{entity.active}},'
        ' "tags": {{entity.tags}}, "client": {{entity.client}}, "none": {{entity.none}}}'
    )
    ctx = _context(
        title="Villa",
        budget=1250.5,
        active=True,
        tags=["a", "b"],
        client={"name": "Dana", "id": 7},
        none=None,
    )
    # when
    out = render_template(template, ctx)
    # then
    assert out == (
        '{"title": "Villa", "budget": 1250.5, "active": true, "tags": ["a", "b"],'
        ' "client": {"name": "Dana", "id": 7}, "none": null}'
    )


def test_top_level_fields_render() -> None:
    # given
    template = (
        '{"e": "{{entityType}}.{{event}}", "id": {{entityId}}, "t": {{tenantId}}, "at": "{{timestamp}}"}'
    )
    # when
    out = render_template(template, _context())
    # then
    assert json.loads(out) == {
        "e": "project.created",
        "id": "p-1",
        "t": "t-1",
        "at": "2025-01-02T03:04:05Z",
    }


def test_in_string_placeholders_are_escaped_text() -> None:
    # given
    template = '{"text": "Project {{entity.title}} costs {{entity.budget}} ({{entity.active}})"}'
    ctx = _context(title='The "Big" \\ one', budget=42, active=False)
    # when
    out = render_template(template, ctx)
    # then
    assert out == '{"text": "Project The \\"Big\\" \\\\ one costs 42 (false)"}'
    assert json.loads(out) == {"text": 'Project The "Big" \\ one costs 42 (false)'}


def test_hebrew_is_kept_as_is_both_bare_and_in_string() -> None:
    # given
    template = '{"title": {{entity.title}}, "msg": "פרויקט חדש: {{entity.title}}"}'
    # when
    out = render_template(template, _context(title="וילה בהרצליה"))
    # then
    assert out == '{"title": "וילה בהרצליה", "msg": "פרויקט חדש: וילה בהרצליה"}'


def test_newlines_tabs_and_control_characters_are_escaped() -> None:
    # given
    title = "line1\nline2\tTab\r\x00\x1f\u2028end"
    template = '{"a": {{entity.title}}, "b": "<{{entity.title}}>"}'
    # when
    out = render_template(template, _context(title=title))
    # then
    assert "\n" not in out and "\x00" not in out and "\x1f" not in out
    assert json.loads(out) == {"a": title, "b": f"<{title}>"}


def test_nulls_and_missing_paths() -> None:
    # given
    template = (
        '{"bare_null": {{entity.x}}, "bare_missing": {{entity.nope.deeper}}, "s": "[{{entity.x}}][{{nope}}]"}'
    )
    # when
    out = render_template(template, _context(x=None))
    # then
    assert out == '{"bare_null": null, "bare_missing": null, "s": "[][]"}'


def test_objects_and_lists_inside_strings_are_compact_json_text() -> None:
    # given
    template = '{"s": "data={{entity.client}} tags={{entity.tags}}"}'
    ctx = _context(client={"name": 'D"a', "n": [1, None]}, tags=["ש"])
    # when
    out = render_template(template, ctx)
    # then
    assert json.loads(out) == {"s": 'data={"name":"D\\"a","n":[1,null]} tags=["ש"]'}


def test_list_indexes_and_whitespace_inside_braces() -> None:
    # given
    template = '{"first": {{ entity.attendees.0.email }}, "second": "{{entity.attendees.1.email}}", "x": {{entity.attendees.5.email}}}'
    ctx = _context(attendees=[{"email": "a@x.co"}, {"email": "b@x.co"}])
    # when
    out = render_template(template, ctx)
    # then
    assert out == '{"first": "a@x.co", "second": "b@x.co", "x": null}'


def test_numbers_inside_strings_use_json_text() -> None:
    # given
    template = '{"s": "{{entity.i}}|{{entity.f}}|{{entity.big}}|{{entity.neg}}"}'
    # when
    out = render_template(template, _context(i=3, f=0.1, big=10**20, neg=-2.5))
    # then
    assert json.loads(out) == {"s": "3|0.1|100000000000000000000|-2.5"}


def test_template_with_its_own_escaped_quotes_keeps_string_tracking() -> None:
    # given: the literal text contains an escaped quote before the placeholder,
    # so the placeholder is still inside the string
    template = '{"s": "say \\"hi\\" to {{entity.name}}", "n": {{entity.name}}}'
    # when
    out = render_template(template, _context(name='Bo"b'))
    # then
    assert out == '{"s": "say \\"hi\\" to Bo\\"b", "n": "Bo\\"b"}'


def test_escaped_backslash_before_closing_quote_ends_the_string() -> None:
    # given: "a\\" is a complete string, so the following placeholder is bare
    template = '{"a": "x\\\\", "b": {{entity.v}}}'
    # when
    out = render_template(template, _context(v="q"))
    # then
    assert out == '{"a": "x\\\\", "b": "q"}'


def test_placeholder_in_a_key_string() -> None:
    # given
    template = '{"{{entityType}}_id": {{entityId}}}'
    # when / then
    assert render_template(template, _context()) == '{"project_id": "p-1"}'


def test_triple_braces_keep_literal_braces_around_the_value() -> None:
    # given
    template = '{"s": "{{{entity.n}}}"}'
    # when / then
    assert render_template(template, _context(n=5)) == '{"s": "{5}"}'


def test_nested_json_structure_closing_braces_are_not_placeholders() -> None:
    # given
    template = '{"a": {"b": {"c": {{entity.v}}}}}'
    # when / then
    assert render_template(template, _context(v=[1])) == '{"a": {"b": {"c": [1]}}}'


def test_non_json_python_values_render_safely() -> None:
    # given
    template = '{"d": {{entity.d}}, "nan": {{entity.nan}}, "s": "{{entity.d}}/{{entity.nan}}", "sur": "{{entity.sur}}"}'
    ctx = _context(d=Decimal("12.50"), nan=math.nan, sur="\ud800")
    # when
    out = render_template(template, ctx)
    # then
    assert json.loads(out) == {"d": "12.50", "nan": None, "s": "12.50/null", "sur": "\ud800"}
    assert out.encode("utf-8")  # lone surrogate escaped, so the body can be sent as UTF-8


def test_whole_template_may_be_a_single_bare_placeholder() -> None:
    # given / when
    out = render_template("{{entity}}", _context(a=1, b="ב"))
    # then
    assert out == '{"a": 1, "b": "ב"}'


@pytest.mark.parametrize(
    "value",
    ['"', "\\", '\\"', "}}", "{{x}}", '", "injected": "1', "\n", "\x7f", "", None, 0, [], {}],
)
def test_any_value_yields_valid_json_with_same_shape(value: Any) -> None:
    # given
    template = '{"bare": {{entity.v}}, "s": "<{{entity.v}}>", "k": 1}'
    # when
    parsed = json.loads(render_template(template, _context(v=value)))
    # then
    assert set(parsed) == {"bare", "s", "k"}
    assert parsed["bare"] == value
    assert parsed["k"] == 1


def test_placeholders_lists_unique_paths_in_order() -> None:
    # given
    template = '{"a": {{ entity.title }}, "b": "{{event}} {{entity.title}}", "c": {{entity.x.0.y}}}'
    # when / then
    assert placeholders(template) == ["entity.title", "event", "entity.x.0.y"]


def test_valid_template_has_no_errors() -> None:
    assert validate_template('{"title": {{entity.title}}, "s": "{{event}}"}') == []


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{"a": {{entity.title}', ["unclosed '{{' at position 6"]),
        ('{"a": "x}}"}', ["unmatched '}}' at position 8"]),
        (
            '{"a": {{ 1bad }}}',
            [
                "invalid placeholder '{{ 1bad }}' at position 6: expected a dot path like "
                "'entity.title' or 'entity.attendees.0.email'"
            ],
        ),
        (
            '{"a": {{entity..title}}}',
            [
                "invalid placeholder '{{entity..title}}' at position 6: expected a dot path like "
                "'entity.title' or 'entity.attendees.0.email'"
            ],
        ),
        (
            '{"a": {{}}}',
            [
                "invalid placeholder '{{}}' at position 6: expected a dot path like "
                "'entity.title' or 'entity.attendees.0.email'"
            ],
        ),
        ("", ["template is empty"]),
    ],
)
def test_structural_errors_are_reported(template: str, expected: list[str]) -> None:
    assert validate_template(template) == expected


@pytest.mark.parametrize(
    ("template", "detail"),
    [
        ('{"a": 1,}', "Expecting property name enclosed in double quotes (line 1, column 9)"),
        ("{ {{entity.k}}: 1 }", "Expecting property name enclosed in double quotes (line 1, column 3)"),
        ('{"a": {{entity.x}} {{entity.y}}}', "Expecting ',' delimiter (line 1, column 12)"),
        ('{"a": "unterminated}', "Unterminated string starting at (line 1, column 7)"),
        ("not json", "Expecting value (line 1, column 1)"),
    ],
)
def test_templates_that_are_not_json_are_rejected(template: str, detail: str) -> None:
    # when
    errors = validate_template(template)
    # then
    assert errors == [f"template is not valid JSON once placeholders are replaced by sample values: {detail}"]


def test_render_raises_template_error_with_messages() -> None:
    # when
    with pytest.raises(TemplateError) as info:
        render_template('{"a": {{entity.title}', _context(title="x"))
    # then
    assert info.value.errors == ["unclosed '{{' at position 6"]
    assert str(info.value) == "unclosed '{{' at position 6"


def test_size_limit_in_utf8_bytes() -> None:
    # given: a template exactly at the limit, and one byte over (Hebrew letters are 2 bytes)
    filler_at_limit = "a" * (MAX_TEMPLATE_BYTES - len('{"a": ""}'))
    at_limit = '{"a": "' + filler_at_limit + '"}'
    over = '{"a": "' + "א" * ((MAX_TEMPLATE_BYTES + 1 - 11) // 2) + 'ab"}'
    # when / then
    assert len(at_limit.encode()) == MAX_TEMPLATE_BYTES
    assert validate_template(at_limit) == []
    assert len(over.encode()) == MAX_TEMPLATE_BYTES + 1
    assert validate_template(over) == [
        f"template is {MAX_TEMPLATE_BYTES + 1} bytes; the maximum is {MAX_TEMPLATE_BYTES} bytes"
    ]
    with pytest.raises(TemplateError):
        render_template(over, _context())
