"""What the API handlers share about HTTP: bounded raw bodies and one way to answer an error.

The domain never imports this package: it raises :mod:`chatconsent.errors` by meaning, and
:mod:`chatconsent.api.answers` maps each kind to one status code for every handler. Import from the
modules: :mod:`chatconsent.api.body` and :mod:`chatconsent.api.answers` load nothing of Powertools
or pydantic (the webhook's and the opt-in's lean paths use them), :mod:`chatconsent.api.errors`
loads the event handler (the resolver's exception handlers), :mod:`chatconsent.api.optin_models`
pydantic (the opt-in API's models).
"""
