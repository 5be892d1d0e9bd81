"""The payload of the quick-reply button that stops marketing: shared by what sends it and what reads it.

Campaign messages and agents' marketing templates carry it (with the campaign's id, for campaigns);
``chatconsent.inbound.dispatch`` recognises it when tapped. A module of its own so that the senders
(``broadcast``, ``agents``) do not import the inbound package, which the queue functions never use.
"""

from __future__ import annotations

# Campaign messages carry a quick-reply button with this payload and the campaign's id: tapped, marketing stops.
MARKETING_STOP_BUTTON = "marketing:stop:"
