"""What renewal asks about, decided without I/O: cycles, the notice versions' order, who re-confirms.

A renewal ask is about one validity period (``lapse:<its end>``); a re-confirmation about one
notice version (``notice:<version>``). A consent is marked with the cycle it was last asked about,
so each is asked once. A consent given under a notice version older than a version marked
``material`` (purposes or recipients changed) in the configuration is re-confirmed at the person's
next contact; a clarifying version asks nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from chatconsent.config import BusinessConfig
from chatconsent.consent_state import ConsentRecord, ConsentState, RenewalRequest, SubjectState
from chatconsent.notices import NoticeRegistry


def cycle_of(record: ConsentRecord) -> str:
    """What a renewal ask is about: this validity period (its end)."""
    return f"lapse:{record.expires_at}"


def notice_cycle(version: str) -> str:
    return f"notice:{version}"


def publication_order(notices: NoticeRegistry) -> list[str]:
    """Published notice versions, oldest first (by the day each was published, then by version)."""
    published = notices.manifest.get("published", {})
    assert isinstance(published, dict)
    return sorted(notices.versions(), key=lambda v: (str(published.get(v, "")), v))


def needs_reconfirmation(config: BusinessConfig, order: Sequence[str], consented_under: str) -> bool:
    """Whether a consent given under ``consented_under`` must be re-confirmed: a material version was
    published after it, up to the current one. Clarifying versions ask nothing."""
    current = config.notice_version
    if consented_under == current or not consented_under:
        return False
    if consented_under not in order or current not in order:
        return config.is_material(current)
    later = order[order.index(consented_under) + 1 : order.index(current) + 1]
    return any(config.is_material(version) for version in later)


def reconfirmation_due(config: BusinessConfig, order: Sequence[str], state: SubjectState) -> tuple[ConsentRecord, ...]:
    """The active consents to ask about at this contact (none while a question is open)."""
    if state.renewal_request is not None or state.pending is not None:
        return ()
    cycle = notice_cycle(config.notice_version)
    return tuple(
        record
        for record in state.consents.values()
        if record.state is ConsentState.ACTIVE
        and record.renewal_asked != cycle
        and needs_reconfirmation(config, order, record.notice_version)
    )


def new_request(
    kind: str, records: Sequence[ConsentRecord], cycle: str, notice: tuple[str, str, str], now: int, method: str
) -> RenewalRequest:
    version, language, sha256 = notice
    return RenewalRequest(
        nonce=uuid.uuid4().hex[:16],
        kind=kind,
        purposes={r.purpose: r.rev for r in records},
        cycle=cycle,
        language=language,
        notice_version=version,
        notice_sha256=sha256,
        asked_at=now,
        method=method,
    )
