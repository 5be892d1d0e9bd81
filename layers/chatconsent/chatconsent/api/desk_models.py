"""The desk API's bodies and answers (``functions/desk``), as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

MAX_TEXT = 4096  # WhatsApp's limit for a text message's body
PurposeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]


class DeskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Me(BaseModel):
    user: str = Field(description="The signed-in user's e-mail address or user name")
    groups: list[str] = Field(description="The desk's groups among the user's: agents, privacy")
    can: dict[str, bool] = Field(description="reply, withdraw, privacy: what the page may offer")


class DeskWindow(BaseModel):
    applies: bool = Field(description="False for a channel without a service window")
    open: bool = Field(description="Free text may be sent now")
    closes_at: int | None = Field(description="When the window closes (or closed); null: the person never wrote")


class DeskInboxEntry(BaseModel):
    subject: str
    alias: str = Field(description="A short stable alias of the person (never any part of the number)")
    channel: str
    last_activity: int
    last_inbound_at: int | None
    unanswered: bool = Field(description="The person wrote last")
    purposes: dict[str, str] = Field(description="State per purpose: pending, active, withdrawn or lapsed")
    window: DeskWindow


class DeskInbox(BaseModel):
    conversations: list[DeskInboxEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class DeskMedia(BaseModel):
    type: str | None = None
    mime_type: str | None = None
    size: int | None = None


class DeskMessageView(BaseModel):
    at: int
    direction: Literal["in", "out"]
    kind: str
    text: str | None
    media: DeskMedia | None = Field(description="Media as metadata only")
    template: str | None
    status: Literal["queued", "sent", "delivered", "read", "failed"] | None
    hidden: Literal["special_category"] | None = Field(
        description="special_category: health data held back until the person gives explicit consent"
    )


class DeskTemplateOption(BaseModel):
    name: str
    language: str
    category: str
    purpose: str = Field(description="The purpose whose consent the template needs")
    parameters: int = Field(description="How many body parameters it takes")
    allowed: bool
    refusal: str | None = Field(description="purpose_not_consented or restricted, when not allowed")


class DeskReplyOptions(BaseModel):
    text_allowed: bool
    refusal: str | None = Field(description="no_consent, window_closed, withdrawn or restricted")
    templates: list[DeskTemplateOption]


class DeskConversationView(BaseModel):
    subject: str
    alias: str
    channel: str
    purposes: dict[str, str]
    window: DeskWindow
    messages: list[DeskMessageView]
    reply: DeskReplyOptions


class DeskTemplateReply(DeskBody):
    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    parameters: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(default_factory=list, max_length=10)


class DeskReplyBody(DeskBody):
    """Free text (within the service window) or a configured template (at any time, under its purpose's consent)."""

    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    template: DeskTemplateReply | None = None
    reply_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="The page's id for this reply: sent again with the same id, nothing more is queued",
    )

    @model_validator(mode="after")
    def _one_of(self) -> DeskReplyBody:
        if (self.text is None) == (self.template is None):
            raise ValueError("send either text or template")
        return self


class DeskReplyQueued(BaseModel):
    reply_id: str
    status: Literal["queued", "queued_before"]


class DeskRefusal(BaseModel):
    error: str
    refusal: str = Field(description="no_consent, window_closed, purpose_not_consented, withdrawn or restricted")


class DeskWithdrawalBody(DeskBody):
    purposes: list[PurposeId] | Literal["all"] = Field(description='The purposes to withdraw, or "all"')
    confirm: StrictBool = Field(default=False, description="Must be true: the agent confirmed")

    @model_validator(mode="after")
    def _some(self) -> DeskWithdrawalBody:
        if isinstance(self.purposes, list) and not 1 <= len(self.purposes) <= 10:
            raise ValueError('purposes: between 1 and 10, or "all"')
        return self


class DeskWithdrawn(BaseModel):
    withdrawn: list[str] = Field(description="Purposes that changed; empty when nothing was active or pending")


class DeskProofEntry(BaseModel):
    seq: int
    at: int
    event: str
    purpose: str
    notice_version: str
    source: str
    hash: str


class DeskLedger(BaseModel):
    verified: bool
    entries: list[DeskProofEntry]


class DeskNotice(BaseModel):
    version: str
    language: str
    text: str


class DeskProofView(BaseModel):
    subject: str
    alias: str
    purposes: dict[str, str]
    ledger: DeskLedger
    notices: list[DeskNotice] = Field(description="The notice versions the ledger refers to, with their text")


class DeskErasureBody(DeskBody):
    confirm: str = Field(min_length=1, max_length=32, description="The person's alias, typed")


class DeskErasureReceipt(BaseModel):
    erased: dict[str, int] = Field(description="Items erased per kind; the data key is shredded")


class DeskAuditEntry(BaseModel):
    at: int
    actor: str = Field(description="desk:<user>, an IAM principal, or data_subject")
    action: str
    subject_ref: str | None
    status: int


class DeskAuditDay(BaseModel):
    day: str
    entries: list[DeskAuditEntry]


def media_view(media: dict[str, Any] | None) -> DeskMedia | None:
    """Only the metadata fields, whatever else the stored media record holds."""
    if media is None:
        return None
    size = media.get("size")
    return DeskMedia(
        type=media.get("type"),
        mime_type=media.get("mime_type"),
        size=int(size) if isinstance(size, int | float) and not isinstance(size, bool) else None,
    )
