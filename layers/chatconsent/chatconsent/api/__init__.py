"""What the API handlers share about HTTP: bounded raw bodies and one way to answer an error.

The domain never imports this package: it raises :mod:`chatconsent.errors` by meaning, and
:mod:`chatconsent.api.errors` maps each kind to one status code for every handler. Import from the
modules: :mod:`chatconsent.api.body` loads nothing of Powertools (the webhook's lean path uses it),
:mod:`chatconsent.api.errors` loads the event handler.
"""
