"""The webhook builder's pages (/webhooks, /webhooks/incoming/<id>, /webhooks/outgoing/<id>).

Server-rendered, Hebrew first, htmx for the parts that refresh (preview, placeholders,
test panels, log rows). Every page reads and writes through the API's own serializers and
services (``webhooks.incoming.services``, ``webhooks.outgoing.services`` and selectors), so
the rules live once; the pages only turn form fields into the API's input shape
(:mod:`.forms`) and results into HTML. Roles as the API: members read, owners and admins
change (a member's POST answers 403).

- :mod:`.common` - the signed-in membership, the role check, error lists;
- :mod:`.forms` - form fields → the API's input (and back, to re-show a form);
- :mod:`.index` - the list of both kinds;
- :mod:`.incoming` / :mod:`.outgoing` - one page each, with its fragments;
- :mod:`.logs` - log rows, one log's detail, replay (both kinds).
"""
