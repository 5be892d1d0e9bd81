"""Everything a webhook delivers: opt-in codes and answers, rights words, messages, statuses.

=================  ===============================================================
module             what
=================  ===============================================================
``service``        :class:`InboundService`: a delivery's items in order, the dispatch
``dispatch``       :func:`role_of`: what a message means (the dispatch order)
``optin_steps``    the code arrives; the yes or no to the opt-in question
``rights_words``   STOP, HELP, DATA, DELETE and the erasure answer
``special``        the Art. 9 question for quarantined health data, and its answer
``conversation``   ordinary messages under consent: kept, sealed
``unknown``        senders without consent: at most one info reply a day
``parts``          what the steps work with; one message being handled (``Turn``)
``outcomes``       :class:`Outcome`, one per item, counted as metrics
=================  ===============================================================
"""

from __future__ import annotations

from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import InboundParts
from chatconsent.inbound.service import InboundService

__all__ = ["InboundParts", "InboundService", "Outcome"]
