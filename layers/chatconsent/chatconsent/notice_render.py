"""Renders the Art. 13 GDPR notice from the configuration (run by ``make notices``, not at runtime).

The retention section is generated from the retention plan, so the notice cannot drift from what
the purge does. Rendered texts are committed and immutable per version; the ledger records their hash.
"""

from __future__ import annotations

from datetime import timedelta

from chatconsent.config import BusinessConfig, Language

_T: dict[str, dict[Language, str]] = {
    "title": {
        "en": "Privacy notice for chatting with {controller}",
        "de": "Datenschutzhinweise für den Chat mit {controller}",
        "it": "Informativa privacy per la chat con {controller}",
    },
    "version": {
        "en": "Version {version}",
        "de": "Version {version}",
        "it": "Versione {version}",
    },
    "summary_h": {"en": "In short", "de": "Kurz gesagt", "it": "In breve"},
    "summary": {
        "en": "We message you only on the channel you choose and only for the purposes you tick. "
        "You can withdraw at any time by writing STOP in the chat.",
        "de": "Wir schreiben Ihnen nur über den gewählten Kanal und nur zu den Zwecken, die Sie "
        "ankreuzen. Sie können jederzeit widerrufen, indem Sie STOPP in den Chat schreiben.",
        "it": "Le scriviamo solo sul canale che sceglie e solo per le finalità che seleziona. "
        "Può revocare il consenso in qualsiasi momento scrivendo STOP nella chat.",
    },
    "controller_h": {"en": "Controller", "de": "Verantwortlicher", "it": "Titolare del trattamento"},
    "dpo_h": {
        "en": "Data protection officer",
        "de": "Datenschutzbeauftragter",
        "it": "Responsabile della protezione dei dati",
    },
    "purposes_h": {
        "en": "Purposes and legal basis",
        "de": "Zwecke und Rechtsgrundlage",
        "it": "Finalità e base giuridica",
    },
    "basis_consent": {
        "en": "consent, Art. 6(1)(a) GDPR",
        "de": "Einwilligung, Art. 6 Abs. 1 lit. a DSGVO",
        "it": "consenso, art. 6, par. 1, lett. a GDPR",
    },
    "basis_explicit_consent": {
        "en": "explicit consent, Art. 9(2)(a) GDPR",
        "de": "ausdrückliche Einwilligung, Art. 9 Abs. 2 lit. a DSGVO",
        "it": "consenso esplicito, art. 9, par. 2, lett. a GDPR",
    },
    "data_h": {"en": "What we process", "de": "Welche Daten wir verarbeiten", "it": "Quali dati trattiamo"},
    "data": {
        "en": "Your messenger identifier (e.g. phone number), the messages you send us and their "
        "timestamps, and the record of your consent. We do not store profile names or pictures.",
        "de": "Ihre Messenger-Kennung (z. B. Telefonnummer), die Nachrichten, die Sie uns senden, "
        "deren Zeitpunkte und den Nachweis Ihrer Einwilligung. Profilnamen und -bilder speichern "
        "wir nicht.",
        "it": "Il suo identificativo di messaggistica (ad es. numero di telefono), i messaggi che ci "
        "invia con i relativi orari e la prova del suo consenso. Non conserviamo nomi o immagini "
        "del profilo.",
    },
    "recipients_h": {"en": "Recipients", "de": "Empfänger", "it": "Destinatari"},
    "transfer_h": {
        "en": "Transfers to third countries",
        "de": "Übermittlung in Drittländer",
        "it": "Trasferimenti verso paesi terzi",
    },
    "transfer_none": {
        "en": "No transfer to third countries.",
        "de": "Keine Übermittlung in Drittländer.",
        "it": "Nessun trasferimento verso paesi terzi.",
    },
    "retention_h": {"en": "How long we keep data", "de": "Speicherdauer", "it": "Periodo di conservazione"},
    "retention_intro": {
        "en": "Every item has a deletion date; a daily job deletes what is due.",
        "de": "Jedes Element hat ein Löschdatum; ein täglicher Lauf löscht, was fällig ist.",
        "it": "Ogni elemento ha una data di cancellazione; un processo giornaliero elimina ciò che è scaduto.",
    },
    "starts_creation": {"en": "from creation", "de": "ab Erstellung", "it": "dalla creazione"},
    "starts_last_contact": {
        "en": "from the last contact",
        "de": "ab dem letzten Kontakt",
        "it": "dall'ultimo contatto",
    },
    "starts_receipt": {"en": "from receipt", "de": "ab Eingang", "it": "dalla ricezione"},
    "starts_last_consent_event": {
        "en": "after the consent ends",
        "de": "nach Ende der Einwilligung",
        "it": "dopo la fine del consenso",
    },
    "starts_withdrawal": {"en": "from withdrawal", "de": "ab Widerruf", "it": "dalla revoca"},
    "starts_window_start": {"en": "from its start", "de": "ab Beginn", "it": "dall'inizio"},
    "validity": {
        "en": "A consent is valid for at most {period}; after that we ask you to renew it.",
        "de": "Eine Einwilligung gilt höchstens {period}; danach bitten wir Sie um Erneuerung.",
        "it": "Il consenso vale al massimo {period}; poi le chiediamo di rinnovarlo.",
    },
    "rights_h": {"en": "Your rights", "de": "Ihre Rechte", "it": "I suoi diritti"},
    "rights": {
        "en": "You have the right of access (Art. 15), rectification (Art. 16), erasure (Art. 17), "
        "restriction (Art. 18), data portability (Art. 20) and objection (Art. 21). You may "
        "withdraw your consent at any time with effect for the future (Art. 7(3)); the lawfulness "
        "of processing before the withdrawal is not affected. Write STOP, INFO, DATA or DELETE "
        "in the chat, or contact us.",
        "de": "Sie haben das Recht auf Auskunft (Art. 15), Berichtigung (Art. 16), Löschung "
        "(Art. 17), Einschränkung (Art. 18), Datenübertragbarkeit (Art. 20) und Widerspruch "
        "(Art. 21). Sie können Ihre Einwilligung jederzeit mit Wirkung für die Zukunft widerrufen "
        "(Art. 7 Abs. 3); die Rechtmäßigkeit der Verarbeitung bis zum Widerruf bleibt unberührt. "
        "Schreiben Sie STOPP, INFO, DATEN oder LÖSCHEN in den Chat oder kontaktieren Sie uns.",
        "it": "Ha diritto di accesso (art. 15), rettifica (art. 16), cancellazione (art. 17), "
        "limitazione (art. 18), portabilità (art. 20) e opposizione (art. 21). Può revocare il "
        "consenso in qualsiasi momento con effetto per il futuro (art. 7, par. 3); la liceità del "
        "trattamento precedente non è pregiudicata. Scriva STOP, INFO, DATI o CANCELLA nella chat "
        "oppure ci contatti.",
    },
    "complaint": {
        "en": "You have the right to lodge a complaint with a supervisory authority, for example: {authority} ({url}).",
        "de": "Sie haben das Recht auf Beschwerde bei einer Aufsichtsbehörde, zum Beispiel: {authority} ({url}).",
        "it": "Ha il diritto di proporre reclamo a un'autorità di controllo, ad esempio: {authority} ({url}).",
    },
    "required_h": {
        "en": "Is providing data required?",
        "de": "Besteht eine Pflicht zur Bereitstellung?",
        "it": "Il conferimento dei dati è obbligatorio?",
    },
    "required": {
        "en": "No. Providing your data is voluntary and not required by law or contract; without "
        "it we cannot chat with you on the messenger, and you can reach us by e-mail instead.",
        "de": "Nein. Die Bereitstellung ist freiwillig und weder gesetzlich noch vertraglich "
        "vorgeschrieben; ohne sie können wir nicht per Messenger mit Ihnen chatten, Sie "
        "erreichen uns dann per E-Mail.",
        "it": "No. Il conferimento è facoltativo e non è previsto dalla legge o da un contratto; "
        "senza di esso non possiamo chattare con lei tramite messenger, ma può scriverci per "
        "e-mail.",
    },
    "automated": {
        "en": "We make no automated decisions, including profiling, about you.",
        "de": "Es findet keine automatisierte Entscheidungsfindung einschließlich Profiling statt.",
        "it": "Non prendiamo decisioni automatizzate, compresa la profilazione, che la riguardino.",
    },
}

_UNITS: dict[Language, tuple[str, str, str, str, str, str]] = {
    "en": ("day", "days", "hour", "hours", "year", "years"),
    "de": ("Tag", "Tage", "Stunde", "Stunden", "Jahr", "Jahre"),
    "it": ("giorno", "giorni", "ora", "ore", "anno", "anni"),
}
_MINUTES: dict[Language, tuple[str, str]] = {
    "en": ("minute", "minutes"),
    "de": ("Minute", "Minuten"),
    "it": ("minuto", "minuti"),
}


def format_period(period: timedelta, language: Language) -> str:
    day, days, hour, hours, year, years = _UNITS[language]
    if period.days >= 365 and period.days % 365 == 0 and not period.seconds:
        n = period.days // 365
        return f"{n} {year if n == 1 else years}"
    if period.days and not period.seconds:
        n = period.days
        return f"{n} {day if n == 1 else days}"
    if period.total_seconds() % 3600:
        n = round(period.total_seconds() / 60)
        minute, minutes = _MINUTES[language]
        return f"{n} {minute if n == 1 else minutes}"
    n = round(period.total_seconds() / 3600)
    return f"{n} {hour if n == 1 else hours}"


def render_notice(config: BusinessConfig, language: Language) -> str:
    """The exact notice text for ``language``: Markdown, newline-terminated, deterministic."""

    def t(key: str, **values: str) -> str:
        return _T[key][language].format(**values)

    c = config.controller
    lines = [
        f"# {t('title', controller=c.name)}",
        "",
        t("version", version=config.notice_version),
        "",
        f"## {t('summary_h')}",
        "",
        t("summary"),
        "",
        f"## {t('controller_h')}",
        "",
        f"{c.name}, {c.address}, {c.email}" + (f", {c.website}" if c.website else ""),
        "",
        f"## {t('dpo_h')}",
        "",
        f"{config.dpo.name}, {config.dpo.address}, {config.dpo.email}",
        "",
        f"## {t('purposes_h')}",
        "",
    ]
    for purpose in config.purposes:
        basis = t(f"basis_{purpose.legal_basis}")
        lines.append(f"- **{purpose.title[language]}** (`{purpose.id}`): {purpose.description[language]} ({basis})")
    lines += ["", f"## {t('data_h')}", "", t("data"), "", f"## {t('recipients_h')}", ""]
    for recipient in config.recipients:
        lines.append(f"- {recipient.name}: {recipient.role[language]} ({recipient.country})")
    lines += ["", f"## {t('transfer_h')}", ""]
    transfers = [r for r in config.recipients if r.transfer_basis]
    if transfers:
        for recipient in transfers:
            assert recipient.transfer_basis is not None
            lines.append(f"- {recipient.name}: {recipient.transfer_basis[language]}")
    else:
        lines.append(t("transfer_none"))
    lines += ["", f"## {t('retention_h')}", "", t("retention_intro"), ""]
    for retention in config.retention.values():
        period = format_period(retention.period, language)
        lines.append(f"- {retention.description[language]}: {period} {t(f'starts_{retention.starts}')}")
    lines += [
        "",
        t("validity", period=format_period(config.consent_validity, language)),
        "",
        f"## {t('rights_h')}",
        "",
        t("rights"),
        "",
        t(
            "complaint",
            authority=config.supervisory_authority.name,
            url=str(config.supervisory_authority.website),
        ),
        "",
        f"## {t('required_h')}",
        "",
        t("required"),
        "",
        t("automated"),
        "",
    ]
    return "\n".join(lines)
