"""The special-category detector: health information (Art. 9) and bank data get stricter handling.

Health: rules over it/de/en word forms, run on every text whatever its language (a message's language
is not known here, and people mix them). Three kinds of rule, each tuned for recall, since a miss
keeps health data without an Art. 9 basis and a false alarm only asks the person a question:

- *terms* that name health on their own (conditions, symptoms, medication, treatment, pregnancy,
  disabilities, hospital stays), found also inside German compounds ("Erdnussallergie");
- *personal* words that are health only when a person is in the clause ("I was sick", "mein Sohn
  ist krank", "sono malata"), so "sick deal", "der Drucker ist krank" and "è malata?" about a plant
  do not count;
- *negative context* in the same clause that cancels a match: a thing or an animal as the subject
  ("my printer is sick", "il mio gatto è allergico"), an audience rather than a person ("cookbook
  for diabetics", "ricette per celiaci"), product names ("pregnancy test", "Blutdruckmessgerät"),
  business and technical senses ("payment operation", "Operation fehlgeschlagen", computer "virus",
  weather "depressione atlantica").

No lemmatizer: the vocabulary is small and closed, so inflections are spelled out in the patterns
(``allerg(?!en)`` covers allergy, allergies, allergic, Allergie, allergisch, allergia, allergico …),
which costs nothing at cold start. The corpus and figures: ``tests/data/health_corpus.jsonl``,
``bench/detector.py``.

Bank data is an IBAN whose mod-97 check holds or a card number whose Luhn check holds, so ordinary
numbers (order ids, phone numbers) do not count.
"""

from __future__ import annotations

import re
from enum import StrEnum


class SpecialCategory(StrEnum):
    HEALTH = "health"
    BANK = "bank"


def _umlauts(pattern: str) -> str:
    """German spelled with or without umlauts (phones and foreign keyboards write "ue" for "ü")."""
    return pattern.replace("ä", "(?:ä|ae)").replace("ö", "(?:ö|oe)").replace("ü", "(?:ü|ue)")


def _compile(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_umlauts(a)})" for a in alternatives), re.IGNORECASE)


# Words that name health by themselves; those without "\b" in front are found inside German compounds too.
_TERMS = _compile(
    # allergies and intolerances ("allergen" is a label word, not a person's allergy)
    r"allerg(?!en)\w*", r"intoleran\w*", r"\bintolleran\w*", r"unverträglich\w*", r"\bvertrage\s+(?:kein\w*|nicht)\b",
    r"\bcan'?t\s+(?:tolerate|digest)\b", r"\bcoeliac\w*", r"\bceliac\w*", r"zöliak\w*", r"\bceliach\w*",
    # conditions
    r"asthma\w*", r"\basma\b", r"diabet\w*", r"\bepile(?:p|ss)\w*", r"\bcancer\b", r"\bcancro\b", r"krebs\w*",
    r"\btumou?re?\w*", r"\bleuk(?:a|ä|e)mi\w*", r"\bleucemi\w*", r"\bmigr(?:ai|ä|a)ne?\w*", r"\bemicrani\w*",
    r"kopfschmerz\w*", r"\bheadaches?\b(?!\s+of\b)", r"\bcefale\w*", r"\barthri\w*", r"\barthros\w*", r"\bartros\w*",
    r"\bartrit\w*", r"\brheuma\w*", r"\breumat\w*", r"\bgicht\b", r"\bpsoria\w*", r"schuppenflechte\b", r"\beczema\w*",
    r"ekzem\w*", r"\bneurodermitis\b", r"\bdermatit\w*", r"\bdement\w*", r"\bdemenz\w*", r"\balzheimer\w*",
    r"\bparkinson\w*", r"\bsclerosi\w*", r"sklerose\b", r"(?-i:\bMS\b)(?!\s+(?:office|word|excel|teams|edge))",
    r"\bstrokes?\b(?!\s+of\b)", r"schlaganfall\w*", r"\bictus\b", r"infarkt\w*", r"\binfart\w*",
    r"\bheart\s+(?:attack|condition|problem|disease|failure|surgery)\w*",
    r"\bherz(?:problem|krank|fehler|schwäche|rhythmus)\w*", r"\bproblemi\s+(?:di|al)\s+cuore\b", r"\bcardiopati\w*",
    r"\bhypertension\b", r"\bipertension\w*", r"bluthochdruck\w*", r"\b(?:high|low)\s+blood\s+pressure\b",
    r"\bpressione\s+(?:alta|bassa)\b", r"\bmy\s+blood\s+(?:pressure|sugar)\b", r"\bblutzucker(?!mess)\w*",
    r"\bglicemi\w*", r"(?-i:\bIBS\b)", r"reizdarm\w*", r"\bcolon\s+irritabile\b", r"\bcrohn\w*", r"\bcolit\w*",
    r"\bkolitis\b", r"\bgastrit\w*", r"\breflu(?:x|sso)\b", r"\bsodbrennen\b", r"\bheartburn\b", r"\bsciatica\b",
    r"\bischias\w*", r"bandscheibe\w*", r"\bernia\b", r"\bhernia\w*", r"\bslipped\s+disc\b", r"(?-i:\bADH[DS]\b)",
    r"\bautis\w*", r"\bautist\w*", r"\bdyslex\w*", r"\blegasthen\w*", r"\bdisless\w*", r"\bdown[- ]syndrom\w*",
    r"\bsindrome\s+di\s+down\b", r"\bcovid\w*",
    r"\b(?:habe|hat|hatte|hatten|ho|ha|avuto|have|has|had|got)\s+(?:\w+\s+)?corona\b", r"\bthrombo\w*", r"\btrombos\w*",
    r"\bheuschnupfen\b", r"\bhay\s?fever\b", r"\bchicken\s?pox\b", r"\bwindpocken\b", r"\bvaricella\b", r"\bmeasles\b",
    r"\bmasern\b", r"\bmorbillo\b", r"\bmumps\b", r"\bbipolar\w*", r"\bschizo\w*", r"\bdisorder\b", r"\bthyroid\w*",
    r"schilddrüse\w*", r"\btiroid\w*", r"\bosteopor\w*", r"\bfibromyalg\w*", r"\bfibromialg\w*", r"\bendometrio\w*",
    r"\blupus\b", r"\ban(?:a)?emi[ac]\w*", r"\banämie\b", r"\bobes\w*", r"\badipositas\b", r"\bincontinen\w*",
    r"\binkontinen\w*", r"(?-i:\bHIV\b)", r"(?-i:\bAIDS\b)", r"\bhepatit\w*", r"\bepatit\w*", r"\btinnitus\b",
    r"\bacufen\w*", r"\bglau[ck]om\w*", r"\bcatara\w*", r"\bkatarakt\w*", r"\bgrauer\s+star\b", r"\bmacula\w*",
    r"\bapn(?:o)?ea\b", r"\bschlafapnoe\b", r"\binsomni\w*", r"\binsonni\w*", r"\bschlaflosigkeit\b", r"\bconcussion\b",
    r"\bgehirnerschütterung\b", r"\bcommozione\s+cerebrale\b", r"\bpneumonia\b", r"\bpolmonit\w*", r"\bbronchit\w*",
    r"\btransplant\w*", r"\btrapiant\w*", r"\bimpf(?:ung|termin|reaktion)\w*", r"\bgeimpft\b", r"\bvaccin\w*",
    r"\bbooster\b", r"\bcoronavirus\b", r"\bpositiv\w*\s+(?:auf|for|al|alla|a)\s+(?:corona|covid)\b",
    r"\btested\s+positive\b", r"\bpositiv\s+getestet\b", r"\bquarant\w*", r"\bflu\b", r"\bgrippe\b", r"\binfluenza\b",
    r"\bfever\w*", r"fieber\w*", r"\bfebbre\b", r"\berkält\w*", r"\braffreddor\w*", r"\binfe(?:ction|ktion|zione)\w*",
    r"\bentzündung\w*", r"\binfiammazion\w*",
    # symptoms
    r"\bnause\w*", r"\bvomit\w*", r"\bthr(?:ew|ow|own)\s+up\b", r"\bübergeben\b", r"\berbrech\w*",
    r"\bdiarr(?:h)?o?e\w*", r"\bdurchfall\w*", r"\bdizz\w*", r"schwindel(?:ig|anfall|gefühl)\w*", r"\bvertigin\w*",
    r"\brash\b", r"ausschlag\b", r"\bsfogo\b", r"\bitch\w*", r"\bjuck\w*", r"\bprurit\w*", r"\bswollen\b",
    r"\bgeschwollen\w*", r"schmerz(?!ensgeld|lich)\w*", r"\bdolor[ei]\b", r"\bdolorant\w*",
    r"\b(?:back|tooth|stomach|ear|tummy|neck)\s?aches?\b",
    r"\bmal\s+di\s+(?:testa|schiena|pancia|stomaco|denti|gola|orecchi\w*)\b", r"\bmigraine\b", r"\bcramps?\b",
    r"\bkrämpfe\b", r"\bcramp[io]\b", r"\b(?:bad|sore|stiff)\s+(?:back|knee|neck|shoulder|hip)s?\b",
    r"\brücken(?:problem|leiden)\w*", r"\bzitter\w*", r"\btremor\w*", r"\btreman[oa]\b",
    r"\bmi\s+(?:è|e')\s+venut[oa]\b",
    r"\bmir\s+(?:ist|war|wird|wurde)\s+(?:so\s+|sehr\s+)?(?:schlecht|übel|schwindelig)\b",
    r"\bwurde\s+mir\s+(?:schlecht|übel)\b", r"\bübel\s+geworden\b",
    r"\b(?:sto|stavo|stare|stata|stato|sentit[oa])\s+(?:molto\s+)?(?:male|peggio)\b",
    r"\bnot\s+feeling\s+(?:well|great|good)\b", r"\bunwell\b", r"\bfeeling\s+(?:really\s+)?(?:low|down|rough)\b",
    # mental health
    r"\bdepress\w*", r"\banxiety\b", r"\bangst(?:störung|zustände|attacke)\w*", r"\bansi[ae]\b", r"\bansios\w*",
    r"\bpanic\s+attacks?\b", r"panikattacke\w*", r"\battacc\w+\s+di\s+panico\b", r"\bburn-?out\b",
    r"\bmental\s+health\b", r"\bmentally\b", r"\bpsychisch\w*", r"\bseelisch\w*", r"\bpsych(?:iatr|olog|other)\w*",
    r"\bpsich(?:iatr|olog|iatr)\w*", r"\bthera(?:pist|peut)\w*", r"\bterapi[ae]\b", r"\bterapeut\w*",
    r"\beating\s+disorder\b", r"\bessstörung\w*", r"\banoress\w*", r"\banorex\w*", r"\bbulimi\w*",
    r"\bgi[uù]'?\s+di\s+morale\b", r"\besaurimento\b", r"(?-i:\bPTSD\b)", r"(?-i:\bOCD\b)", r"\bzwangsstörung\w*",
    r"\btrauma\w*", r"\bsuicid\w*", r"\bsuizid\w*",
    # pregnancy, birth, fertility, breastfeeding
    r"\bpregnan\w*+(?!\s+(?:tests?|pillow|kit)\b)", r"\bschwanger(?!schaftstest)\w*", r"\bincinta\b",
    r"(?<!test di )(?<!test per la )\bgravidanz\w*", r"\bexpecting\s+(?:a\s+baby|twins|our|my|a\s+boy|a\s+girl)\b",
    r"\berwarten\s+(?:\w+\s+){0,3}(?:ein\s+)?(?:baby|kind|zwillinge)\b", r"\baspett\w*\s+un\s+(?:bambin|bimb|figli)\w*",
    r"\bdolce\s+attesa\b", r"\bc-section\b", r"\bcaesarean\w*", r"\bcesarean\w*", r"\bkaiserschnitt\w*", r"\bcesareo\b",
    r"\bentbindung\w*", r"\b(?:il|del|al|dal|dopo\s+il|prima\s+del)\s+parto\b", r"\bmiscarriage\w*", r"\bfehlgeburt\w*",
    r"\baborto\b", r"(?-i:\bIVF\b)", r"(?-i:\bPMA\b)", r"\bkinderwunsch\w*", r"\bprocreazione\s+assistita\b",
    r"\bfecondazione\b", r"\bfertility\b", r"\bbreast-?feed\w*", r"\bich\s+stille\b",
    r"\bstille\s+(?:noch|gerade|mein\w*)\b", r"\bstillzeit\b", r"\bstillend\w*",
    r"\ballatt(?:o|ando|are\s+(?:il|la|mi))\b", r"\b(?:in|durante\s+l')\s*allattamento\b", r"\bmorning\s+sickness\b",
    # disabilities and aids
    r"\bwheelchair\w*", r"\brollstuhl\w*", r"\bsedia\s+a\s+rotelle\b", r"\brollator\w*", r"\bcrutch\w*", r"\bkrücke\w*",
    r"\bstampell\w*", r"\bdeaf\w*", r"\bgehörlos\w*", r"\bhard\s+of\s+hearing\b", r"\bschwerhörig\w*", r"\bipoudent\w*",
    r"\bcolou?r[- ]?blind\w*", r"\bfarbenblind\w*", r"\bdaltonic\w*", r"\bnon\s+vedent\w*", r"\bipovedent\w*",
    r"\bsehbehindert\w*", r"\bvisually\s+impaired\b", r"\bdisab(?:led|ility|ilities)\b", r"behindert\w*",
    r"behinderung\w*", r"\bdisabil\w*", r"\bhandicap\w*", r"\binvalidit\w*", r"\bhearing\s+aids?\b", r"\bhörgerät\w*",
    r"\bapparecchi\w*\s+acustic\w*", r"\bprosthe\w*", r"\b(?:hip|knee|joint|shoulder)\s+replacement\b",
    r"\b(?:hüft|knie|schulter)gelenk\w*", r"\bkünstliche\w*\s+\w*gelenk\w*", r"prothese\w*", r"\bprotesi\b",
    r"\bpacemaker\b", r"herzschrittmacher\w*", r"\bstoma\b", r"\bcan'?t\s+(?:walk|stand|bend|see|hear|lift|grip)\b",
    r"\bkann\s+(?:\w+\s+){0,3}nicht\s+(?:\w+\s+)?(?:laufen|gehen|stehen|bücken|sehen|hören|heben|greifen)\b",
    r"\bnon\s+(?:riesco|posso)\s+(?:a\s+)?(?:camminare|piegarmi|stare\s+in\s+piedi|vedere|sentire|sollevare)\b",
    r"\bbroken?\s+(?:my\s+|his\s+|her\s+)?(?:arm|leg|wrist|ankle|hip|foot|hand|finger|rib|collarbone)s?\b",
    r"\b(?:arm|bein|hand|fuß|knöchel|hüfte|handgelenk|rippe|finger|schlüsselbein|zeh)\w*\s+(?:\w+\s+)?gebrochen\b",
    r"(?:arm|bein|knochen|hüft|rippen)bruch\w*",
    r"\brott[oa]\s+(?:il|la|l')\s*(?:braccio|gamba|polso|caviglia|anca|piede|mano|dito|costola)\b", r"\bfrattur\w*",
    r"\bfracture\w*", r"\binjur\w*", r"\bverletz\w*", r"\binfortun\w*", r"\bferit[oa]\b",
    r"\b(?:since|after)\s+the\s+accident\b", r"\bhad\s+an\s+accident\b", r"\bseit\s+dem\s+unfall\b",
    r"\bhatte\s+einen\s+unfall\b", r"\b(?:dopo\s+l'|ho\s+avuto\s+un\s*)incidente\b",
    # medication, treatment, care
    r"\bmedication\w*", r"\bmeds\b", r"\bmedicine(?:s)?\b(?!\s+cabinet)", r"\bmedikament\w*", r"\bmedicinal[ei]\b",
    r"\bfarmac[oi]\b", r"\bprescri\w*", r"\bärztlich\w*",
    r"\b(?:e-|kassen|privat)?rezept(?:pflichtig)?\s+(?:vom|von\s+der|vom\s+)?\s*(?:arzt|ärztin)\b", r"\bauf\s+rezept\b",
    r"\bricetta\s+medica\b", r"\binsulin\w*", r"\banticoagul\w*", r"\bblood\s+thinners?\b", r"\bblutverdünn\w*",
    r"\bwarfarin\b", r"\bmarcumar\b", r"\bcoumadin\b", r"\bantidepress\w*", r"\bantibioti\w*", r"\bantibiotik\w*",
    r"\b[ck]ortison\w*", r"\bcortisone\b", r"\binhaler\b", r"\binhalator\w*", r"\binalator\w*", r"\bpainkiller\w*",
    r"\bschmerzmittel\w*", r"\bantidolorific\w*", r"\bantista?mini\w*", r"\bantihista\w*", r"\bchemo\w*",
    r"\bradiotherap\w*", r"\bbestrahlung\w*", r"\bradioterapi\w*", r"\bdialy\w*", r"\bdialisi\b", r"\bphysio\w*",
    r"\bfisioterap\w*", r"\bkranken?gymnastik\b", r"\breha\b", r"\brehab\w*", r"\briabilitazion\w*",
    r"\bsurger(?:y|ies)\b", r"\bsurgical\s+(?:procedure|removal)\b", r"\bchirurgic\w*", r"\bop(?:erated|eriert)\b",
    r"(?-i:-OP\b)", r"(?-i:\bOP\b)", r"\boperation\w*", r"\boperazion[ei]\b",
    r"\bintervento\s+(?:chirurgico|al|alla|alle|ai|agli|all')", r"\boperat[oa]\s+(?:al|alla|alle|ai|agli|all')",
    r"\bhospital\w*+(?![- ]?(?:grade|bed))", r"krankenhaus\w*", r"\bklinik\w*", r"\bospedal\w*", r"\bricover\w*",
    r"(?-i:\bA&E\b)", r"\bemergency\s+(?:room|department)\b", r"notaufnahme\b", r"\bnotarzt\w*",
    r"\bpronto\s+soccorso\b", r"\bambulance\b", r"\bkrankenwagen\b", r"\brettungswagen\b", r"\bambulanza\b",
    r"\bcare\s+home\b", r"\bnursing\s+home\b", r"\bpflegeheim\w*", r"\baltenheim\w*", r"\bpflegegrad\w*",
    r"(?-i:\bRSA\b)", r"\bcasa\s+di\s+riposo\b", r"\bhospi[cz]\w*",
    r"\b(?:blood\s+test|x-ray|MRI|MRT|mammogra\w*|biopsy|biopsi\w*|ultraschall|ecografia|risonanza|radiografia)\b",
    r"krankheit\w*", r"\Bkrank\b", r"\bkrankgeschrieben\b", r"\bkrankschreibung\b", r"\bkrankmeldung\b",
    r"\bkrankenschein\b", r"\bkrankenkasse\b", r"\berkrank\w*", r"\bmalatti[ae]\b", r"\bin\s+mutua\b",
    r"\bsick\s?(?:leave|note|day|ness)\w*", r"\boff\s+sick\b", r"\bcardiolog\w*", r"\bkardiolog\w*", r"\bdermatolog\w*",
    r"\bneurolog\w*", r"\boncolog\w*", r"\bonkolog\w*", r"\bgyn(?:a)?ecolog\w*", r"\bgynäkolog\w*", r"\bginecolog\w*",
    r"\borthopäd(?:e|in|en)\b", r"\borthop(?:a)?edist\w*", r"\bl\'ortopedico\b",
)  # fmt: skip

# Words that are health only when a person is in the clause (slang and things use them too).
_PERSONAL = _compile(
    r"\bsick\b(?!\s+(?:of|and\s+tired|deal|price|offer))", r"\bill\b(?!-)", r"\bkrank(?:e|er|es|en)?\b",
    r"\bmalat[oaie]\b", r"\bpoorly\b", r"\bblind\b(?!\s+(?:date|spot))", r"\bcie(?:c|ch)[oaie]\b", r"\bsord[oaie]\b",
    r"\btaub\b", r"\bcough\w*", r"\bhusten\b", r"\btosse\b", r"\bpain\b(?!\s+(?:au|in\s+the))", r"\bvirus\b",
    r"\bmagen-darm\w*", r"\b(?:a|an|the)\s+(?:high\s+)?temperature\b(?!\s+(?:of|setting|range|control))",
    r"\b(?:have|has|had|got|caught|with)\s+a\s+(?:bad\s+|nasty\s+|heavy\s+)?cold\b",
    r"\b(?:my|his|her|our|the)\s+(?:gp|doctor|doctor's|consultant|midwife)\b",
    r"\bdoctor\s+(?:said|told|says|advised)\b",
    r"\b(?:mein\w*|unser\w*|beim|vom|zum|zur)\s+(?:haus|zahn|frauen|kinder|augen|haut|hno-)?ärzt(?:in)?\w*",
    r"\barzt\s+(?:hat|sagt|meint)\b", r"\bhebamme\b",
    r"\b(?:mio|mia|il|dal|del)\s+medico\b(?!\s+(?:di\s+base\s+)?(?:studio|grade))", r"\bcertificato\s+medico\b",
    r"\bvisita\s+(?:medica|specialistica)\b", r"\bostetric\w*", r"\bscan\b", r"\bkilling\s+me\b",
    r"\bhurts?\b(?!\s+(?:my\s+)?(?:wallet|budget|feelings|business))", r"\bweh\b", r"\btut\s+weh\b", r"\bfa\s+male\b",
)  # fmt: skip

# Someone in the clause: pronouns, family and friends (all three languages; Italian drops the pronoun,
# so its first-person verb forms count too).
_PERSON = _compile(
    r"\b(?:i|i'm|i've|i'd|me|my|myself|we|we're|our|us|he|she|him|his|her|they|their)\b",
    r"\b(?:ich|mir|mich|mein\w*|wir|uns|unser\w*|er|ihm|ihr|sein\w*)\b",
    r"\b(?:io|mi|me|mio|mia|miei|mie|sono|ero|sto|stavo|ho|avevo|noi|ci|nostr[oaie]|lui|lei|suo|sua)\b",
    r"\b(?:son|daughter|husband|wife|partner|mum|mom|mother|dad|father|baby|toddler|child|children|kids?|grand\w+|"
    r"brother|sister|friend|colleague|neighbou?r|aunt|uncle|nephew|niece|boyfriend|girlfriend)s?\b",
    r"\b(?:sohn|tochter|mann|frau|partner\w*|mutter|mama|vater|papa|kind\w*|baby|oma|opa|bruder|schwester|"
    r"freund\w*|kolleg\w*|nachbar\w*|tante|onkel|enkel\w*|kleine[rn]?)\b",
    r"\b(?:figli[oae]?|marito|moglie|compagn[oa]|madre|mamma|padre|pap[àa]|bambin[oaie]|bimb[oa]|piccol[oa]|nonn[oa]|"
    r"fratello|sorella|amic[oaih]e?|collega|vicin[oa]|zi[oa]|nipote)\b",
)  # fmt: skip

# A thing or an animal as the clause's subject before the match, with no person after it.
_THING = _compile(
    r"\b(?:printer|laptop|computer|pc|phone|app|software|website|site|plant|houseplant|cat|dog|kitten|puppy|pet|"
    r"horse|deal|price|offer|delivery|parcel|package|order|system|server|battery|car|tyres?)s?\b",
    r"(?:drucker|laptop|computer|handy|software|webseite|pflanze|katze|kater|hund|welpe|pferd|haustier|"
    r"preis|angebot|lieferung|paket|bestellung|system|server|akku|reifen)\b", r"\bauto\b",
    r"\b(?:stampante|portatile|computer|telefono|cellulare|app|software|sito|pianta|gatt[oa]|can[ei]|cucciol[oa]|"
    r"cavallo|offerta|prezzo|sconto|consegna|pacco|ordine|sistema|server|batteria|macchina|gomme)\b",
)  # fmt: skip

# An audience or a remedy, not a person: "for diabetics", "für Allergiker", "per celiaci", "caramelle per la tosse".
_AUDIENCE = re.compile(r"\b(?:for|für|fuer|per|gegen|contro|anti)[- ](?:la\s+|il\s+|le\s+|i\s+|gli\s+)?$", re.I)
_AUDIENCE_WORD = _compile(
    r"diabeti(?:cs|ker|ci|che)\b",
    r"c(?:o)?eliacs\b",
    r"celiaci\b",
    r"zöliakie-?betroffene",
    r"allergiker\b",
    r"allergic(?:i|he)\b",
    r"asthmatic?(?:s|ker|i)\b",
    r"asmatici\b",
    r"tosse",
    r"cough",
    r"husten",
    r"migrä",
    r"headache",
    r"kopfschmerz",
    r"erkältung",
    r"raffreddore",
    r"schwangere\b",
    r"pregnant\s+women",
)

# Senses that are not health: a match of the first pattern is cancelled by the second in the same clause.
_SENSES = (
    (  # business "operation", a payment, a complaint being handled
        _compile(r"operat", r"operaz", r"(?-i:\bOP\b)", r"behandlung", r"treatment"),
        _compile(
            r"\b(?:payment|transaction|transfer|operations?\s+team|failed|banking?|complaint|invoice|refund|card|account)\b",
            r"(?:zahlung|überweisung|transaktion|fehlgeschlagen|abgebrochen|buchung|reklamation|rechnung|karte|konto)\w*",
            r"\b(?:pagamento|bancari[ao]|bonifico|transazione|a\s+premi|commerciale|fallit[ao]|annullat[ao]|reclamo|carta|conto)\b",
        ),
    ),
    (  # a computer virus or infection
        _compile(r"virus", r"infe[ckz]"),
        _compile(
            r"\b(?:antivirus|malware|laptop|computer|pc|handy|telefono|portatile|phone|app|software|trojan\w*|"
            r"hacker|website|webseite|sito|email|e-mail|file|datei)\b"
        ),
    ),
    (  # weather "depressione"
        _compile(r"depress"),
        _compile(
            r"\b(?:atlantic[ao]?|meteo|barometric[oa]|ciclonic[oa]|perturbazion\w+|maltempo|pioggia|sul\s+nord|"
            r"al\s+nord|al\s+sud|in\s+arrivo|weather|wetter|tief(?:druck)?gebiet|economic|wirtschaft\w*)\b"
        ),
    ),
    (  # a product, a costume or a picture, not a person's care
        _compile(r"doctor", r"ärzt", r"arzt", r"medico", r"scan", r"hospital", r"klinik"),
        _compile(r"\b(?:costume|kostüm\w*|toy|spielzeug|giocattolo|grade|studio|praxis|practice)\b"),
    ),
)
_CLAUSE = re.compile(r"[^.!?;,:\n()]+")


def _cancelled(clause: str, match: re.Match[str]) -> bool:
    before = clause[: match.start()]
    if _AUDIENCE.search(before) and _AUDIENCE_WORD.match(match.group(0)):
        return True
    things = list(_THING.finditer(before))
    if things and not _PERSON.search(before[things[-1].end() :]):
        return True
    word = match.group(0)
    return any(sense.search(word) and other.search(clause) for sense, other in _SENSES)


def _health_in_clause(clause: str) -> bool:
    for match in _TERMS.finditer(clause):
        if not _cancelled(clause, match):
            return True
    if _PERSON.search(clause):
        return any(not _cancelled(clause, match) for match in _PERSONAL.finditer(clause))
    return False


def mentions_health(text: str) -> bool:
    """Whether the text states something about a person's physical or mental health (it/de/en)."""
    normalised = text.replace("’", "'").replace("`", "'")
    return any(_health_in_clause(m.group(0)) for m in _CLAUSE.finditer(normalised))


# An IBAN's start (country, check digits) anywhere, in any case, grouped by spaces or dashes.
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")
_IBAN_SEPARATORS = " -"
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def iban_valid(candidate: str) -> bool:
    iban = candidate.replace(" ", "").replace("-", "").upper()
    if not 15 <= len(iban) <= 34:
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def luhn_valid(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def contains_iban(text: str) -> bool:
    """Whether some run of characters from an IBAN-like start passes the mod-97 check.

    Every length from 15 to 34 is tried, so words after the IBAN ("… BIC COBADEFFXXX") do not hide it.
    """
    for start in _IBAN_START.finditer(text):
        chars: list[str] = []
        for char in text[start.start() :]:
            if char in _IBAN_SEPARATORS:
                continue
            if not char.isascii() or not char.isalnum() or len(chars) == 34:
                break
            chars.append(char)
            if len(chars) >= 15 and iban_valid("".join(chars)):
                return True
    return False


def mask_cards(text: str) -> tuple[str, int]:
    """``text`` with every valid card number replaced by its last four digits (``•••• 1111``), and how many.

    Card numbers are never stored: a message keeps only what identifies the card to the person.
    """
    masked = 0

    def mask(match: re.Match[str]) -> str:
        nonlocal masked
        if not luhn_valid(match.group(0)):
            return match.group(0)
        masked += 1
        return "•••• " + "".join(c for c in match.group(0) if c.isdigit())[-4:]

    return _CARD.sub(mask, text), masked


def detect(text: str) -> frozenset[SpecialCategory]:
    found = set()
    if mentions_health(text):
        found.add(SpecialCategory.HEALTH)
    if contains_iban(text) or any(luhn_valid(m.group(0)) for m in _CARD.finditer(text)):
        found.add(SpecialCategory.BANK)
    return frozenset(found)
