"""What the product says in the chat, in it/de/en."""

from __future__ import annotations

from chatconsent.config import BusinessConfig, Language

_TEXTS: dict[str, dict[Language, str]] = {
    "prefill": {
        "en": "Hello! I would like to receive messages from {controller}. My code: {code}",
        "de": "Hallo! Ich möchte Nachrichten von {controller} erhalten. Mein Code: {code}",
        "it": "Ciao! Desidero ricevere messaggi da {controller}. Il mio codice: {code}",
    },
    "confirm_question": {
        "en": "Please confirm: may {controller} message you here for: {purposes}? Privacy notice: {notice_url}",
        "de": "Bitte bestätigen Sie: Darf {controller} Ihnen hier schreiben für: {purposes}? "
        "Datenschutzhinweise: {notice_url}",
        "it": "Confermi: {controller} può scriverle qui per: {purposes}? Informativa privacy: {notice_url}",
    },
    "button_yes": {"en": "Yes, I agree", "de": "Ja, einverstanden", "it": "Sì, acconsento"},
    "button_no": {"en": "No", "de": "Nein", "it": "No"},
    "activated": {
        "en": "Thank you, your consent is recorded. Write STOP at any time to withdraw it.",
        "de": "Danke, Ihre Einwilligung ist erfasst. Schreiben Sie jederzeit STOPP, um sie zu widerrufen.",
        "it": "Grazie, il suo consenso è registrato. Scriva STOP in qualsiasi momento per revocarlo.",
    },
    "declined": {
        "en": "All right: we will not message you, and your request has been discarded.",
        "de": "In Ordnung: Wir schreiben Ihnen nicht, Ihre Anfrage wurde verworfen.",
        "it": "Va bene: non le scriveremo e la sua richiesta è stata eliminata.",
    },
    "already_active": {
        "en": "You have already agreed to this. Write STOP at any time to withdraw.",
        "de": "Sie haben dem bereits zugestimmt. Schreiben Sie jederzeit STOPP, um zu widerrufen.",
        "it": "Ha già acconsentito. Scriva STOP in qualsiasi momento per revocare.",
    },
    "answer_buttons": {
        "en": "Please answer with the buttons above (yes or no).",
        "de": "Bitte antworten Sie mit den Schaltflächen oben (ja oder nein).",
        "it": "Risponda con i pulsanti qui sopra (sì o no).",
    },
    "withdrawn": {
        "en": "Your consent is withdrawn: {controller} will not message you again. "
        "To start again, opt in here: {widget_url}",
        "de": "Ihre Einwilligung ist widerrufen: {controller} schreibt Ihnen nicht mehr. "
        "Für einen Neustart melden Sie sich hier an: {widget_url}",
        "it": "Il suo consenso è revocato: {controller} non le scriverà più. "
        "Per ricominciare si iscriva qui: {widget_url}",
    },
    "help": {
        "en": "{controller} ({controller_email}). Privacy notice: {notice_url} Write STOP to withdraw your consent.",
        "de": "{controller} ({controller_email}). Datenschutzhinweise: {notice_url} "
        "Schreiben Sie STOPP, um Ihre Einwilligung zu widerrufen.",
        "it": "{controller} ({controller_email}). Informativa privacy: {notice_url} "
        "Scriva STOP per revocare il consenso.",
    },
    "access": {
        "en": "We store about you: {summary}. For a complete copy (Art. 15 GDPR) write to {controller_email}.",
        "de": "Wir speichern über Sie: {summary}. Eine vollständige Kopie (Art. 15 DSGVO) erhalten Sie "
        "über {controller_email}.",
        "it": "Conserviamo su di lei: {summary}. Per una copia completa (art. 15 GDPR) scriva a {controller_email}.",
    },
    "erase_question": {
        "en": "Delete everything we store about you? This cannot be undone.",
        "de": "Alles löschen, was wir über Sie speichern? Das kann nicht rückgängig gemacht werden.",
        "it": "Cancellare tutto ciò che conserviamo su di lei? L'operazione è irreversibile.",
    },
    "erased": {
        "en": "Done: everything we stored about you is deleted.",
        "de": "Erledigt: Alles, was wir über Sie gespeichert hatten, ist gelöscht.",
        "it": "Fatto: tutto ciò che conservavamo su di lei è stato cancellato.",
    },
    "erase_cancelled": {
        "en": "All right, nothing was deleted.",
        "de": "In Ordnung, es wurde nichts gelöscht.",
        "it": "Va bene, non è stato cancellato nulla.",
    },
    "special_question": {
        "en": "Your message contains health information. May we process it to advise you ({purpose})? "
        "This is your explicit consent under Art. 9(2)(a) GDPR, and you can withdraw it at any time. "
        "If you say no or do not answer within {period}, the message is deleted. Privacy notice: {notice_url}",
        "de": "Ihre Nachricht enthält Gesundheitsangaben. Dürfen wir sie zu Ihrer Beratung verarbeiten "
        "({purpose})? Das ist Ihre ausdrückliche Einwilligung nach Art. 9 Abs. 2 lit. a DSGVO, jederzeit "
        "widerruflich. Sagen Sie nein oder antworten Sie nicht binnen {period}, wird die Nachricht gelöscht. "
        "Datenschutzhinweise: {notice_url}",
        "it": "Il suo messaggio contiene dati sanitari. Possiamo trattarli per consigliarla ({purpose})? "
        "È il suo consenso esplicito ai sensi dell'art. 9, par. 2, lett. a GDPR, revocabile in qualsiasi "
        "momento. Se risponde no o non risponde entro {period}, il messaggio viene cancellato. "
        "Informativa privacy: {notice_url}",
    },
    "button_consent": {"en": "Yes, I consent", "de": "Ja, ich willige ein", "it": "Sì, acconsento"},
    "button_discard": {"en": "No, delete it", "de": "Nein, löschen", "it": "No, cancellalo"},
    "special_granted": {
        "en": "Thank you: your explicit consent is recorded, and we can now look at your message.",
        "de": "Danke: Ihre ausdrückliche Einwilligung ist erfasst, wir können Ihre Nachricht nun bearbeiten.",
        "it": "Grazie: il suo consenso esplicito è registrato e ora possiamo esaminare il suo messaggio.",
    },
    "special_declined": {
        "en": "All right: the message with health information is deleted. Please write without it.",
        "de": "In Ordnung: Die Nachricht mit Gesundheitsangaben ist gelöscht. Bitte schreiben Sie ohne diese.",
        "it": "Va bene: il messaggio con dati sanitari è stato cancellato. Ci scriva senza di essi.",
    },
    "button_delete": {"en": "Yes, delete", "de": "Ja, löschen", "it": "Sì, cancella"},
    "button_keep": {"en": "No, keep", "de": "Nein, behalten", "it": "No, conserva"},
    "info": {
        "en": "Hello! {controller} can only reply after you opt in here: {widget_url} Privacy notice: {notice_url}",
        "de": "Hallo! {controller} kann erst antworten, nachdem Sie sich hier angemeldet haben: "
        "{widget_url} Datenschutzhinweise: {notice_url}",
        "it": "Ciao! {controller} può rispondere solo dopo la sua iscrizione qui: {widget_url} "
        "Informativa privacy: {notice_url}",
    },
}


class Replies:
    def __init__(self, config: BusinessConfig) -> None:
        self._config = config

    def language(self, language: str | None) -> Language:
        if language in ("de", "en", "it"):
            return language  # type: ignore[return-value]
        return self._config.default_language

    def text(self, key: str, language: str | None, **values: str) -> str:
        lang = self.language(language)
        base = str(self._config.public_base_url).rstrip("/")
        return _TEXTS[key][lang].format(
            controller=self._config.controller.name,
            controller_email=self._config.controller.email,
            notice_url=self._config.notice_url(lang),
            widget_url=f"{base}/widget",
            **values,
        )

    def purposes(self, purpose_ids: tuple[str, ...] | list[str], language: str | None) -> str:
        lang = self.language(language)
        return ", ".join(self._config.purpose(p).title[lang] for p in purpose_ids)
