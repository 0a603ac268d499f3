"""The project's translation catalogs agree with each other and with what is compiled.

Django merges every catalog of a language into one: LOCALE_PATHS first, then the apps in
INSTALLED_APPS order, the first catalog holding a msgid wins. A msgid (with the same msgctxt)
translated differently in two catalogs is therefore dead text in all but one, and the page
shows whichever wins — a word that needs two Hebrew renderings needs two contexts
(``pgettext`` / ``{% translate ... context ... %}``), not two catalogs."""

from __future__ import annotations

import ast
import gettext
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

Key = tuple[str | None, str]  # (msgctxt, msgid)


def project_catalogs() -> list[Path]:
    """The django.po files Django loads that the project owns (LOCALE_PATHS and the project's apps)."""
    base = Path(settings.BASE_DIR).resolve()
    dirs = [Path(p) for p in settings.LOCALE_PATHS] + [Path(app.path) / "locale" for app in apps.get_app_configs()]
    found: list[Path] = []
    for directory in dirs:
        directory = directory.resolve()
        if not directory.is_relative_to(base) or ".venv" in directory.parts:
            continue
        for po in sorted(directory.glob("*/LC_MESSAGES/django.po")):
            if po not in found:
                found.append(po)
    return found


def read_po(path: Path) -> dict[Key, str | tuple[str, ...]]:
    """The translated, non-fuzzy entries of a .po file: (msgctxt, msgid) -> msgstr, or the
    msgstr[0..n] forms of a plural. The header (msgid "") is left out."""
    entries: dict[Key, str | tuple[str, ...]] = {}
    entry: dict[str, str] = {}
    fuzzy = False
    field = ""

    def close() -> None:
        nonlocal entry, fuzzy
        if "msgid" in entry and entry["msgid"] and not fuzzy:
            forms = tuple(entry[k] for k in sorted(entry, key=lambda k: (len(k), k)) if k.startswith("msgstr"))
            if all(forms):  # msgfmt leaves out an entry with any form untranslated
                key = (entry.get("msgctxt"), entry["msgid"])
                assert key not in entries, f"{path}: {key} twice"
                entries[key] = forms if "msgid_plural" in entry else forms[0]
        entry, fuzzy = {}, False

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#~"):  # a blank line ends an entry; obsolete ones are not compiled
            if not line:
                close()
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                if "msgid" in entry:
                    close()
                fuzzy = True
            continue
        if line.startswith('"'):
            entry[field] += ast.literal_eval(line)
            continue
        field, _, value = line.partition(" ")
        if field in ("msgctxt", "msgid") and "msgid" in entry and any(k.startswith("msgstr") for k in entry):
            close()  # an entry begins without a blank line before it
        entry[field] = ast.literal_eval(value)
    close()
    return entries


def test_the_project_has_catalogs_to_check():
    catalogs = {str(p.relative_to(settings.BASE_DIR)) for p in project_catalogs()}
    assert {"locale/he/LC_MESSAGES/django.po", "integrations/locale/he/LC_MESSAGES/django.po",
            "webhooks/locale/he/LC_MESSAGES/django.po", "core/locale/he/LC_MESSAGES/django.po"} <= catalogs


def test_one_msgid_in_one_context_has_one_translation_across_the_catalogs():
    by_language: dict[str, list[Path]] = defaultdict(list)
    for po in project_catalogs():
        by_language[po.parent.parent.name].append(po)
    conflicts = []
    for pos in by_language.values():
        read = {po: read_po(po) for po in pos}
        for first, second in combinations(pos, 2):
            for key in sorted(read[first].keys() & read[second].keys(), key=lambda k: (k[0] or "", k[1])):
                if read[first][key] != read[second][key]:
                    conflicts.append((key, str(first.relative_to(settings.BASE_DIR)), read[first][key],
                                      str(second.relative_to(settings.BASE_DIR)), read[second][key]))
    assert conflicts == [], "\n".join(map(repr, conflicts))


def test_the_reader_finds_a_conflict_and_ignores_fuzzy_and_untranslated_entries(tmp_path):
    """The check above can fail: a msgid with another msgstr in the same context is read as such."""
    po = tmp_path / "django.po"
    po.write_text('msgid ""\nmsgstr ""\n"Language: he\\n"\n\n'
                  'msgid "Sent"\nmsgstr "נשלחה"\n\n'
                  'msgctxt "count"\nmsgid "Sent"\nmsgstr ""\n"נשלחו"\n\n'
                  '#, fuzzy\nmsgid "Failed"\nmsgstr "נכשל"\n\n'
                  'msgid "Received"\nmsgstr ""\n\n'
                  'msgid "%(n)d call"\nmsgid_plural "%(n)d calls"\nmsgstr[0] "קריאה"\nmsgstr[1] "%(n)d קריאות"\n',
                  encoding="utf-8")
    assert read_po(po) == {(None, "Sent"): "נשלחה", ("count", "Sent"): "נשלחו",
                           (None, "%(n)d call"): ("קריאה", "%(n)d קריאות")}


@pytest.mark.parametrize("po", project_catalogs(), ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_the_compiled_catalog_is_the_po_file(po):
    """Django reads the .mo: a .po edited without ``msgfmt -o django.mo django.po`` changes nothing."""
    with po.with_suffix(".mo").open("rb") as mo:
        compiled = dict(gettext.GNUTranslations(mo)._catalog)
    compiled.pop("", None)  # the header
    expected: dict[str | tuple[str, int], str] = {}
    for (context, msgid), translation in read_po(po).items():
        key = msgid if context is None else f"{context}\x04{msgid}"
        if isinstance(translation, tuple):
            expected.update({(key, n): form for n, form in enumerate(translation)})
        else:
            expected[key] = translation
    assert compiled == expected
