"""A real OAuth 2.0 authorization server (django-oauth-toolkit) for the tests.

It is a separate, tiny Django project run as a subprocess on 127.0.0.1 with its
own SQLite database: it never imports the hub's settings. ``start()`` returns a
handle with its base URL, client credentials and helpers.
"""
