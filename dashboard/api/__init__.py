"""The JSON API under /api/v1/: personal tokens (`tokens.py`), the request wrapper that
authenticates them and turns refusals and engine errors into JSON (`auth.py`), the handlers
(one module per resource family), and the one table of routes (`routes.py`) that both the
URLs and the OpenAPI description are made from, so they cannot drift apart."""
