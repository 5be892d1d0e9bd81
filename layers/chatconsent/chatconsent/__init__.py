"""chatconsent: consent-first customer messaging over WhatsApp and other messengers (GDPR-grade).

The package is the domain and data access shared by every function; it knows nothing about Lambda.
"""
