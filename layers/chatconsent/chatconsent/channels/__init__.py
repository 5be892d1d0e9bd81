"""Messenger channels behind one interface: verify a request, parse it, send text/buttons/templates."""
