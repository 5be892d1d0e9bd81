"""The admin API's request and answer models: the OpenAPI document's schemas and the bodies' validation.

Loaded by the admin function on its first request (and before a SnapStart snapshot, and by its
``openapi_app()``): the function starts without pydantic and routes on ``routeKey``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatconsent.rights_desk import Closing, RequestType


class ConsentView(BaseModel):
    purposes: dict[str, str] = Field(description="State per purpose: pending, active, withdrawn or lapsed")
    ledger_entries: int
    ledger_verified: bool
    ledger_starts_at: int


class MessageView(BaseModel):
    at: int
    direction: Literal["in", "out"]
    kind: str
    text: str | None
    button: str | None
    media: dict[str, Any] | None = Field(description="Media metadata only (type, id, MIME type, size)")
    template: str | None
    status: str | None = Field(description="Delivery status of an outbound message")
    expires_at: int


class ConversationSummaryView(BaseModel):
    subject: str
    last_activity: int
    last_inbound_at: int | None
    messages_in: int
    channel: str = Field(description="The messenger the person is reached on (whatsapp, apple, telegram)")
    window_open: bool = Field(
        description="Free text may be sent now: within the 24-hour window on a channel that has one (WhatsApp),"
        " always on one without (Apple Messages for Business, Telegram)"
    )


class ConversationList(BaseModel):
    conversations: list[ConversationSummaryView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class ConversationView(BaseModel):
    messages: list[MessageView]


class TemplateReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    parameters: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(default_factory=list, max_length=10)


class ReplyBody(BaseModel):
    """Free text (within the 24-hour window) or a configured template (at any time)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=4096)
    template: TemplateReply | None = None
    reply_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="The client's id for this reply: sending it again with the same id queues nothing more",
    )

    @model_validator(mode="after")
    def _one_of(self) -> ReplyBody:
        if (self.text is None) == (self.template is None):
            raise ValueError("send either text or template")
        return self


class ReplyQueued(BaseModel):
    reply_id: str = Field(description="The reply's id (the client's, or a new one)")
    status: Literal["queued", "queued_before"] = Field(
        description="queued: it will be sent in a moment; queued_before: a reply with this id was queued already"
    )


class WithdrawalBody(BaseModel):
    """The purposes to withdraw; none given withdraws every purpose (and blocks re-contact)."""

    model_config = ConfigDict(extra="forbid")

    purposes: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]] | None = Field(
        default=None, min_length=1, max_length=10
    )


class WithdrawalDone(BaseModel):
    withdrawn: list[str] = Field(description="Purposes that changed; empty when nothing was active or pending")


class ErasureReceipt(BaseModel):
    erased: dict[str, int] = Field(description="Items erased per kind; the data key is shredded")


class AuditEntry(BaseModel):
    at: int
    actor: str = Field(description="The IAM principal that acted; data_subject: the person downloaded their copy")
    action: str = Field(description="The route, e.g. DELETE /admin/subjects/{subject}")
    subject_ref: str | None = Field(description="Keyed hash of the subject (not the pseudonym), if any")
    status: int


class AuditDay(BaseModel):
    day: str
    entries: list[AuditEntry]


FreeText = Annotated[str, Field(min_length=1, max_length=2000)]


class RightsRequestBody(BaseModel):
    """A request as it arrived: the person's number (any notation), its type and arrival date, and how
    their identity was checked (personal data: sealed, shown only in the request's own view)."""

    model_config = ConfigDict(extra="forbid")

    type: RequestType
    address: str = Field(min_length=3, max_length=40, description="The person's number, e.g. +49 151 2345678")
    channel: Literal["whatsapp"] = "whatsapp"
    received_on: date = Field(description="The day the request arrived (ISO 8601 date)")
    identity_check: FreeText


class ExtensionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: date = Field(description="The new deadline: at most two months after the first one")
    reason: FreeText


class ClosureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Closing
    reason: FreeText | None = Field(default=None, description="Required for a refusal (told to the person)")


class RightsRequestSummary(BaseModel):
    request_id: str
    type: str
    subject: str
    received_on: str
    due_on: str = Field(description="The Art. 12(3) deadline (extended, once, if status is extended)")
    latest_on: str = Field(description="The furthest an extension may go")
    status: str = Field(description="open, extended, done or refused")
    overdue: bool


class RightsRequestView(RightsRequestSummary):
    registered_at: int
    registered_by: str
    identity_check: str | None
    extended_at: int | None
    extension_reason: str | None
    closed_at: int | None
    closing_reason: str | None
    subject_known: bool | None = Field(default=None, description="At registration: whether anything is stored")


class RightsRequestList(BaseModel):
    requests: list[RightsRequestSummary] = Field(description="Open requests, nearest deadline first")
