"""chatconsent: consent-first customer messaging over WhatsApp and other messengers (GDPR-grade).

The package is the domain and data access shared by every function; it knows nothing about
Lambda but whether it runs there, to keep the collector out of a function's init (``startup``).
"""

from chatconsent.startup import pause_collection

pause_collection()  # in Lambda only, until the wiring is built: see chatconsent.startup
