"""The studio's integration pages: ``catalog`` (/integrations) and ``settings`` (/integrations/<id>)."""
