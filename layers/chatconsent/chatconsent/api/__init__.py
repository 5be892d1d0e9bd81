"""What the API handlers share about HTTP: bounded raw bodies and one way to answer an error.

The domain never imports this package: it raises :mod:`chatconsent.errors` by meaning, and
:mod:`chatconsent.api.answers` maps each kind to one status code for every handler. Import from the
modules: :mod:`chatconsent.api.body`, :mod:`chatconsent.api.answers` and :mod:`chatconsent.api.requests`
load nothing of Powertools or pydantic at import (every API function routes on ``routeKey`` with
them), :mod:`chatconsent.api.errors` loads the event handler (the declarations of the OpenAPI document),
:mod:`chatconsent.api.optin_models`, :mod:`chatconsent.api.campaign_models` and
:mod:`chatconsent.api.admin_models` pydantic (each API's models, loaded on its first request).
"""
