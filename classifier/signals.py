"""Detectors: domains and hosts, IP addresses, error texts, steps tried, subjects, secrets.

All patterns are linear (bounded repeats, no nested quantifiers): they run on untrusted text of
any size. Detectors return plain facts; the guide's "needed when" logic lives in the model.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from classifier.text import GENERIC_PREFIX, CleanTicket


def _holds_any(text: str, literals: tuple[str, ...]) -> bool:
    """any(literal in text for literal in literals), without a generator per call (2x quicker
    on short texts)."""
    for literal in literals:  # noqa: SIM110 - the loop is what saves the generator
        if literal in text:
            return True
    return False


class StartScan:
    """pattern.finditer(text) for a pattern that opens with \\b or a lookbehind, which `re` tries
    at every position of the text, run quicker: the pattern is tried only where a `starts`
    pattern, one that opens with a literal or a set of characters (re scans for those in C),
    finds a possible start.

    `starts` must match `lead` characters before every position where the pattern can match (it
    may match elsewhere too: the pattern decides). lead=0: it opens with the branches' leading
    literals. lead=1: it opens with the character before the match, e.g. "[^a-z0-9_]" and the
    words of "\\b(?:word|...)" (a word starts after no ASCII word character, and that set is
    quicker to scan for than \\W); the text's first position, with no character before it, is
    tried as well. From where the last match ended, the first possible start at which the
    pattern matches is where finditer's next match is (match() at a position sees the text
    before it, for \\b and lookbehinds). Only for patterns that match no empty string."""

    # Tries that find no match before the rest of the text is left to pattern.finditer: a text
    # full of possible starts ("1.1.1.1..." for an IPv4 address) costs no more than the plain
    # scan and this many calls from Python.
    MAX_MISSES = 32

    def __init__(self, pattern: re.Pattern[str], starts: str, lead: int = 0):
        self.pattern = pattern
        self.starts = re.compile(starts, pattern.flags)
        self.lead = lead

    def finditer(self, target: str) -> Iterator[re.Match[str]]:
        pattern, starts, lead = self.pattern, self.starts, self.lead
        position = misses = 0
        if lead:  # the first position: no character before it for `starts` to find
            match = pattern.match(target, 0)
            if match is not None:
                yield match
                position = match.end()
        while (start := starts.search(target, max(position - lead, 0))) is not None:
            at = start.start() + lead
            match = pattern.match(target, at)
            if match is None:
                position = at + 1
                misses += 1
                if misses > self.MAX_MISSES:
                    # no match opens between the last one's end and `position`: finditer from
                    # there finds the rest (it sees the text before `position`, as match() does)
                    yield from pattern.finditer(target, position)
                    return
            else:
                yield match
                position = match.end()  # > match.start(): no empty matches

    def search(self, target: str) -> re.Match[str] | None:
        return next(self.finditer(target), None)


def _split_branches(alternation: str) -> list[str]:
    """The top-level branches of a regex alternation ("a|b(?:c|d)|[|]" -> a, b(?:c|d), [|])."""
    branches: list[str] = []
    depth, begin, i, in_set = 0, 0, 0, False
    while i < len(alternation):
        char = alternation[i]
        if char == "\\":
            i += 2
            continue
        if in_set:
            in_set = char != "]"
        elif char == "[":
            in_set = True
            if alternation[i + 1 : i + 2] == "^":
                i += 1
            if alternation[i + 1 : i + 2] == "]":
                i += 1  # a "]" first in a set is a literal
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(alternation[begin:i])
            begin = i + 1
        i += 1
    branches.append(alternation[begin:])
    return branches


def _by_first_letter(alternation: str) -> str:
    """The same alternation with its branches grouped by their first letter ("al|an|b" ->
    "a(?:l|n)|b"), for a `starts` pattern: re checks each branch's first letter before trying
    it, so one check per letter instead of one per branch (1.6x quicker on long word lists). It
    matches at the same positions (branches that open with the same letter keep their order;
    those that do not open with a plain letter follow the groups)."""
    groups: dict[str, list[str]] = {}
    others: list[str] = []
    for branch in _split_branches(alternation):
        if branch[:1].isalnum() and branch[1:2] not in ("?", "*", "+", "{"):
            groups.setdefault(branch[0], []).append(branch[1:])
        else:
            others.append(branch)
    grouped = [f"{letter}(?:{'|'.join(rests)})" for letter, rests in groups.items()]
    return "|".join(grouped + others)


# `starts` (lead=1) for a Caseless "\b(?:words)": an ASCII non-word character (all \W ones
# among them) before one of the words.
def _after_word_break(words: str) -> str:
    return "[^a-z0-9_](?:" + _by_first_letter(words) + ")"


def _boundary_after_letter(pattern: str) -> str:
    """The pattern with each "(?<=\\bx)y" (a word boundary before the letter x just matched,
    then the letter y) written "y(?<=\\bxy)": the same test, made once y matched too, so that
    the branch opens with a literal, which re checks before it enters a branch (a lookbehind
    first is entered at every x). 1.2x quicker on the grouped word lists below."""
    return re.sub(r"\(\?<=\\b(\w)\)(\w)(?![?*+{])", r"\2(?<=\\b\1\2)", pattern)


class Caseless:
    """A case-insensitive pattern that runs fast: written in lower case and run on the lower-cased
    text (3-4x quicker than re.IGNORECASE), unless lower-casing would move offsets (rare letters
    such as 'İ'), where the IGNORECASE version runs on the text itself.

    `needs`: lower-case literals of which any match contains one; a lower-cased text holding
    none of them is not scanned (checked on the fast path only: IGNORECASE also matches look-alikes
    such as 'ſ' for 's' that lower-casing leaves alone). `hint`: the same for a short pattern
    every match holds (found by a quick scan where the pattern itself is slow to try).

    `starts` and `lead`: for a pattern that opens with a lookbehind or \\b, see StartScan; on
    the fast path the pattern is only tried where `starts` (on the lower-cased text) finds a
    possible start."""

    def __init__(
        self,
        pattern: str,
        needs: tuple[str, ...] = (),
        hint: str | None = None,
        starts: str | None = None,
        lead: int = 0,
    ):
        self.fast = re.compile(pattern)
        self.slow = re.compile(pattern, re.IGNORECASE)
        self.needs = needs
        self.hint = re.compile(hint) if hint else None
        self.scan = StartScan(self.fast, starts, lead) if starts else None

    def _hopeless(self, pattern: re.Pattern[str], target: str) -> bool:
        if pattern is not self.fast:
            return False
        if self.needs and not _holds_any(target, self.needs):
            return True
        return self.hint is not None and not self.hint.search(target)

    def _pick(self, text: str, lower: str | None) -> tuple[re.Pattern[str], str]:
        lower = text.lower() if lower is None else lower
        return (self.fast, lower) if len(lower) == len(text) else (self.slow, text)

    def finditer(self, text: str, lower: str | None = None) -> Iterator[re.Match[str]]:
        pattern, target = self._pick(text, lower)
        if self._hopeless(pattern, target):
            return iter(())
        if self.scan is not None and pattern is self.fast:
            return self.scan.finditer(target)
        return pattern.finditer(target)

    def search(self, text: str, lower: str | None = None) -> re.Match[str] | None:
        pattern, target = self._pick(text, lower)
        return pattern.search(target)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        pattern, target = self._pick(text, None)
        return pattern.fullmatch(target)


# ---------------------------------------------------------------- domains and hosts

_TLDS = (
    "be|eu|com|nl|fr|net|org|info|biz|io|co|shop|store|online|site|tech|app|dev|cloud|"
    "brussels|vlaanderen|gent|wallonie|lu|de|ch|uk|es|it|pt|at|me|pro|email|xyz|agency|studio|"
    "restaurant|cafe|bar|immo|legal|law|dental|health|care|art|design|media|events|club|travel|"
    "photography|fitness|coach|academy|school|today|world|green|bike|garden|farm|wine|beer"
)
_DOMAIN = Caseless(
    r"(?<![\w.@-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,6}(?:" + _TLDS + r")(?![\w-])",
    # the dot and TLD every match ends with: it opens with a literal, which re skips to (5x
    # quicker than the former "[a-z0-9]\.[a-z]", tried at every letter)
    hint=r"\.(?:" + _TLDS + r")(?![\w-])",
    # and tried only after a character that is no ASCII word character, dot, @ or hyphen (what
    # the lookbehind refuses holds them all), at a label, a dot and what follows every dot:
    # another label or the TLD (a label's letters run up to its dot: none of them is a dot)
    starts=r"[^a-z0-9_.@-][a-z0-9][a-z0-9-]{0,62}+\.[a-z0-9]",
    lead=1,
)
_EMAIL_DOMAIN = Caseless(
    r"(?<![\w.+-])[\w.+-]{1,64}+@((?:[a-z0-9-]{1,63}\.){1,6}(?:" + _TLDS + r"))(?![\w-])",
    needs=("@",),
    # after a character that is no ASCII word character, dot, plus or hyphen (what the lookbehind
    # refuses holds them all), the address up to its @
    starts=r"[^a-z0-9_.+-][\w.+-]{1,64}+@",
    lead=1,
)
# Placeholders, big third parties and the provider's own hosts name nothing of the customer's.
_NOT_CUSTOMER = re.compile(
    r"(?:^|\.)(?:example\.(?:com|org|net|be)|domain\.(?:com|be)|yourdomain\.\w+|mydomain\.\w+|"
    r"jouwdomein\.\w+|mijndomein\.\w+|votredomaine\.\w+|test\.(?:com|be)|"
    r"gmail\.com|googlemail\.com|google\.\w+|hotmail\.\w+|outlook\.\w+|live\.\w+|yahoo\.\w+|"
    r"icloud\.com|me\.com|apple\.com|microsoft\.com|office\.com|office365\.com|microsoftonline\.com|"
    r"skynet\.be|telenet\.be|proximus\.be|scarlet\.be|orange\.be|voo\.be|"
    r"wordpress\.(?:org|com)|wp\.com|joomla\.org|drupal\.org|prestashop\.com|magento\.com|"
    r"woocommerce\.com|facebook\.com|instagram\.com|linkedin\.com|youtube\.com|twitter\.com|x\.com|"
    r"bit\.ly|tinyurl\.com|goo\.gl|t\.co|letsencrypt\.org|cloudflare\.com|github\.com|"
    r"eth0\.me|whatismyip\.com|whatismyipaddress\.com|webcanyon\.eu|wetransfer\.com|"
    r"dropbox\.com|mollie\.com|stripe\.com|paypal\.com|php\.net|w3\.org|dnsbl\.info|"
    r"spamhaus\.org|mxtoolbox\.com|zoom\.us|teams\.microsoft\.com)$",
    re.IGNORECASE,
)
# A named server or hosting package: vps-12, srv03, "pakket Business", "hosting package Pro"
_HOST_WORDS = "vps srv server node web host cpanel plesk shared sh mail".split()
_PACKAGE_WORDS = "pakket package pack formule abonnement".split()
# a server's name with a tag or two before its number: vps-pro-03, srv-ant-12, node-be-2
_TAGGED_HOST_WORDS = "vps srv server node".split()
_NAMED_HOST = StartScan(
    re.compile(
        r"\b(?:" + "|".join(_HOST_WORDS) + r")[-_ ]?\d{1,4}\b"
        r"|\b(?:" + "|".join(_TAGGED_HOST_WORDS) + r")(?:-[a-z]{1,5}){1,2}-?\d{1,4}\b"
        r"|\b(?:" + "|".join(_PACKAGE_WORDS) + r")\s+[\"'«]?[A-Z][\w-]{2,30}",
    ),
    # after a non-word character, a host word and a digit or a package word and a space (2x
    # quicker than \b tried everywhere)
    starts="[^A-Za-z0-9_](?:"
    + _by_first_letter(
        "|".join(
            [
                *(w + r"[-_ ]?\d" for w in _HOST_WORDS),
                *(w + r"-[a-z]" for w in _TAGGED_HOST_WORDS),
                *(w + r"\s" for w in _PACKAGE_WORDS),
            ]
        )
    )
    + ")",
    lead=1,
)
# a server of the provider's that is the customer's own: named as a server and numbered
# (vps-214.webcanyon.eu, srv-ant-12, web12), not one of the shared service hosts (ns1, mx2,
# smtp1, mail3, webmail01, status2)
_PROVIDER_SERVER = re.compile(
    r"(?:(?:vps|srv|server|node|host|shared)[a-z0-9-]*?\d|web-?\d)[a-z0-9-]*\.webcanyon\.eu$"
)
_FILE_LIKE = re.compile(
    r"\.(?:php|html?|js|css|json|xml|txt|log|ini|conf|png|jpe?g|pdf|zip)$", re.I
)


def find_domains(text: str, lower: str | None = None) -> list[str]:
    """Customer domains and hostnames named in the text (e-mail domains included)."""
    lower = text.lower() if lower is None else lower
    found: list[str] = []
    for match in _EMAIL_DOMAIN.finditer(text, lower):
        found.append(match.group(1).lower())
    for match in _DOMAIN.finditer(text, lower):
        found.append(match.group(0).lower())
    seen: dict[str, None] = {}
    for domain in found:
        domain = domain.strip(".")
        if domain.startswith("www."):
            domain = domain[4:]
        if (
            (_NOT_CUSTOMER.search(domain) and not _PROVIDER_SERVER.match(domain))
            or _FILE_LIKE.search(domain)
            or "." not in domain
        ):
            continue
        seen.setdefault(domain, None)
    return list(seen)


def names_host(text: str) -> bool:
    return bool(_NAMED_HOST.search(text))


# ---------------------------------------------------------------- IP addresses

_IPV4 = StartScan(
    re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)"),
    starts=r"\d{1,3}\.\d",  # where an address opens: re skips to the digits
)
_IPV6 = re.compile(r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.I)
# What every match of each holds: a text without it is not scanned (both patterns open with a
# lookbehind, tried at every position; these open with a literal, which re skips to: "\.\d"
# rather than "\d\.\d", which re tried at every digit).
_IP_HINTS: tuple[tuple[StartScan | re.Pattern[str], re.Pattern[str]], ...] = (
    (_IPV4, re.compile(r"\.\d")),
    (_IPV6, re.compile(r":[0-9a-f]{0,4}:", re.I)),
)
_CUSTOMER_IP_CUE = re.compile(
    r"(?:\b(?:mijn|ons|onze|m'n|my|our|mon|notre|nos|publiek|public|publique|extern|external)\b"
    r"[^.\n]{0,40}\bip\b|\bip\b[^.\n]{0,30}\b(?:van (?:ons|mij|het kantoor|thuis|de zaak)|"
    r"kantoor|office|bureau|thuis|home|maison|from which|vanwaar|d'où|vanaf|from)\b|"
    r"\b(?:vanaf|from|depuis|van op|vanop)\s+(?:ip\s*)?$|eth0\.me|whatismyip|wat is mijn ip|"
    r"\bip\b\s*(?:adres|address|adresse)?\s*(?:is|est|:)\s*$)",
    re.IGNORECASE,
)
_SERVER_IP_CUE = re.compile(
    r"(?:\b(?:server|serveur|vps|host|hostname|a[- ]record|record|mx|wijst naar|points? to|"
    r"pointe vers|resolves? to|resolve|ping|traceroute|nslookup|dig|ssh|sftp|ftp|mysql|"
    r"connect(?:ing)? to|naar|to|vers)\b[^.\n]{0,25}$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class IpMention:
    address: str
    kind: str  # "customer", "server", "private", "unknown"


def find_ips(text: str) -> list[IpMention]:
    mentions: list[IpMention] = []
    for pattern, hint in _IP_HINTS:
        if not hint.search(text):
            continue
        for match in pattern.finditer(text):
            raw = match.group(0)
            try:
                address = ipaddress.ip_address(raw)
            except ValueError:
                continue
            if address.is_private or address.is_loopback or address.is_link_local:
                kind = "private"
            else:
                before = text[max(0, match.start() - 60) : match.start()]
                line_before = before.rsplit("\n", 1)[-1]
                if _CUSTOMER_IP_CUE.search(line_before) or _CUSTOMER_IP_CUE.search(before):
                    kind = "customer"
                elif _SERVER_IP_CUE.search(line_before):
                    kind = "server"
                else:
                    kind = "unknown"
            mentions.append(IpMention(str(address), kind))
    return mentions


# ---------------------------------------------------------------- error texts

# What follows a 4 or a 5 opening an HTTP or SMTP status (550 5.1.1: SMTP enhanced status).
_STATUS_45 = (
    r"(?<=\b[45])\d\d\s+(?:internal server error|bad gateway|service unavailable|"
    r"gateway time-?out|forbidden|not found|unauthorized|too many requests)|"
    r"(?<=\b[45])\d\d[ -][245]\.\d{1,2}\.\d{1,3}\b"
)
# Grouped by first character like _SECRET_WORD below (4x faster, the same matches). Every
# top-level branch must open with one literal character for re to skip to those characters: a
# set such as "[45]" makes re try the whole pattern at every position (hence "4(...)|5(...)";
# a test checks the structure).
_ERROR_TEXTS = (
    r"(?:"
    r"h(?:(?<=\bh)ttp\s*:?\s*[45]\d\d\b)|"
    r"e(?:(?<=\be)rror\s*:?\s*[45]\d\d\b|(?<=\be)rreur\s*:?\s*[45]\d\d\b|rr_[a-z_]{4,40}|"
    r"rror establishing a database connection|rreur lors de la connexion à la base|"
    r"rreur critique|rreur fatale|xception|(?<=\be)rror\s*(?:code|nr\.?|number)?\s*:?\s*\d{2,})|"
    r"f(?:(?<=\bf)out\s*:?\s*[45]\d\d\b|atal error|atale fout)|"
    r"c(?:(?<=\bc)ode\s*:?\s*[45]\d\d\b|"
    r"(?<=\bc)onnection\s+(?:timed out|time-?out|refused|refusée|reset|geweigerd|expirée?)\b|"
    r"(?<=\bc)onnexion\s+(?:timed out|time-?out|refused|refusée|reset|geweigerd|expirée?)\b|"
    r"ritical error|ertificate (?:has )?expired|ertificat (?:a )?expiré|ould not resolve)|"
    r"s(?:(?<=\bs)tatus\s*:?\s*[45]\d\d\b|tack trace|qlstate|pf (?:fail|softfail)|erver not found)|"
    r"4(?:" + _STATUS_45 + r")|5(?:" + _STATUS_45 + r")|"
    r"v(?:(?<=\bv)erbinding\s+(?:timed out|time-?out|refused|refusée|reset|geweigerd|expirée?)\b|"
    r"otre connexion n'est pas privée)|"
    r"t(?:(?<=\bt)imed out\b|raceback|oegang geweigerd|oo many redirects)|"
    r"n(?:et::err_[a-z_]{4,40}|on remis|o such host|xdomain)|"
    r"k(?:ritieke fout)|"
    r"p(?:arse error|ermission denied)|"
    r"u(?:ncaught|w verbinding is niet privé|ndeliverable)|"
    r"a(?:ccess denied|ccès refusé|uthentication fail\w*|uth(?:entication)? error|llowed memory)|"
    r"l(?:ogin failed)|"
    r"i(?:nvalid (?:credentials|certificate))|"
    r"r(?:edirected you too many times|elay access denied)|"
    r"y(?:our connection is not private)|"
    r"m(?:ail delivery (?:failed|subsystem)|ailbox (?:full|unavailable)|"
    r"emory size of \d+ bytes exhausted|aximum execution time)|"
    r"o(?:nbestelbaar)|"
    r"d(?:elivery status notification|ns_probe_\w+)|"
    r"0(?:(?<=\b0)x[0-9a-f]{6,8}\b)"
    r")"
)
_ERROR_TEXT = Caseless(_boundary_after_letter(_ERROR_TEXTS))
_QUOTED_ERROR = Caseless(
    r"[\"“«'‘][^\"”»'’\n]{0,120}\b(?:error|erreur|fout|failed|fail|échec|mislukt|denied|refused|"
    r"invalid|ongeldig|impossible|unable|cannot|could not|kan niet|kon niet|not found|"
    r"niet gevonden|introuvable|expired|verlopen|warning|waarschuwing|timeout|time-out)"
    r"[^\"”»'’\n]{0,120}[\"”»'’]",
)
_SCREENSHOT = Caseless(
    r"\b(?:screenshot|screen ?shot|schermafdruk|printscreen|print screen|capture d'écran|"
    r"capture)\b[^.\n]{0,60}\b(?:bijlage|bijgevoegd|attached|attach|joint|jointe|ci-joint|"
    r"toegevoegd|meegestuurd|en annexe)|\b(?:in bijlage|attached|ci-joint|en pièce jointe)\b"
    r"[^.\n]{0,40}\b(?:screenshot|schermafdruk|capture|foutmelding|error|erreur)",
    # the first branch names a screenshot ("screen" is in screenshot, screen shot, printscreen
    # and print screen), the second one that or an error
    needs=("screen", "schermafdruk", "capture", "foutmelding", "error", "erreur"),
    # both branches open with \b and a word: tried only after a non-word character there
    starts=_after_word_break(
        "screenshot|screen ?shot|schermafdruk|printscreen|print screen|capture d'écran|capture|"
        "in bijlage|attached|ci-joint|en pièce jointe"
    ),
    lead=1,
)


def find_error_texts(text: str, lower: str | None = None) -> list[str]:
    lower = text.lower() if lower is None else lower
    found = [m.group(0) for m in _ERROR_TEXT.finditer(text, lower)]
    found += [m.group(0) for m in _QUOTED_ERROR.finditer(text, lower)]
    found += [m.group(0) for m in _SCREENSHOT.finditer(text, lower)]
    return found


# ---------------------------------------------------------------- steps tried

_STEPS_WORDS = (
    r"al (?:geprobeerd|gedaan|getest|gecontroleerd|gereset|herstart|gecheckt)|"
    r"(?:heb|hebben|hadden|had) (?:ik|we|wij)?\s*(?:al|ook|reeds|zelf)\b|geprobeerd|getest|"
    r"herstart|opnieuw opgestart|heropgestart|cache (?:geleegd|gewist|leeggemaakt)|"
    r"gedeactiveerd|uitgeschakeld|uitgezet|gecontroleerd|nagekeken|gecheckt|gereset|"
    r"andere browser|incognito|ander netwerk|via 4g|via 5g|mobiele data|"
    r"already (?:tried|checked|restarted|cleared|disabled|reset)|tried|restarted|rebooted|"
    r"cleared (?:the )?(?:cache|cookies)|disabled|deactivated|checked|flushed|reinstalled|"
    r"different browser|another browser|other browser|incognito|private window|"
    r"déjà (?:essayé|testé|vérifié|redémarré|vidé|désactivé|fait)|essayé|testé|redémarré|"
    r"vidé (?:le|les) (?:cache|cookies)|désactivé|vérifié|réinitialisé|autre navigateur|"
    r"navigation privée|en 4g|"
    # more ways to tell a step: a noun or participle alone, word orders the above miss
    r"gewist|geleegd|leeggemaakt|gereboot|opnieuw geïnstalleerd|geherinstalleerd|"
    r"reboot(?:é|ed)?|redémarrage|relancé|vidé|purgé|réinstallé|"
    r"purged|"
    # an outcome told: something was done, and it did not help
    r"helpt niet|hielp niet|helpt niets|hielp niets|mocht niet baten|zonder (?:resultaat|succes)|"
    r"geen verschil|"
    r"n'a rien (?:changé|donné)|rien n'y fait|sans (?:succès|résultat)|"
    r"didn't help|did not help|didn't fix|did not fix|no luck|to no avail|without success|"
    r"made no difference|no difference"
)


def _whole_words(words: str) -> Caseless:
    """Any of the words (a regex alternation), as whole words in any case: a word of the list
    opens every match, so it is tried only after a non-word character (2x quicker)."""
    return Caseless(r"\b(?:" + words + r")\b", starts=_after_word_break(words), lead=1)


def _count(pattern: Caseless, text: str, lower: str | None) -> int:
    return sum(1 for _ in pattern.finditer(text, lower))


_STEPS = _whole_words(_STEPS_WORDS)


def count_steps_cues(text: str, lower: str | None = None) -> int:
    return _count(_STEPS, text, lower)


# ---------------------------------------------------------------- connection-level failures

_CONNECTION_WORDS = (
    r"time-?outs?|timed out|timeout|connection refused|verbinding geweigerd|connexion refusée|"
    r"reageert niet|antwoordt niet|geen (?:antwoord|reactie|verbinding)|onbereikbaar|"
    r"niet (?:meer )?bereikbaar|kan (?:niet|geen) (?:meer )?(?:verbinding|connectie|verbinden|"
    r"connecteren|inloggen via ssh)|unreachable|not reachable|no response|doesn't respond|"
    r"does not respond|not responding|can't connect|cannot connect|can not connect|"
    r"unable to connect|injoignable|inaccessible|ne répond (?:plus|pas)|impossible de (?:se )?"
    r"connecter|pas de réponse|geblokkeerd|blocked|bloqué|banned|gebanned|verbannen|"
    r"err_connection_\w+|err_timed_out|laadt (?:niet|eindeloos)|blijft laden|keeps loading|"
    r"charge (?:à l'infini|sans fin)|ping"
)
_CONNECTION = _whole_words(_CONNECTION_WORDS)


def count_connection_cues(text: str, lower: str | None = None) -> int:
    return _count(_CONNECTION, text, lower)


# The failure confirmed apart from the customer's own connection (the guide: then the customer's
# IP is not needed): other people or places, the provider's monitoring or status page. Not the
# customer's own test over mobile data, which the guide counts as a step tried.
_CONFIRMED_WORDS = (
    r"collega'?s|ook bij (?:klanten|collega'?s|anderen|iedereen|onze klanten)|andere locaties?|"
    r"klanten bellen|klanten melden|statuspagina|netwerkstatus|monitoring|"
    r"ligt niet aan (?:ons|onze)|niet aan onze (?:internet)?verbinding|"
    r"coll[eè]gues|d'autres (?:personnes|clients|sites|endroits)|nos clients (?:nous )?"
    r"(?:appellent|téléphonent|signalent)|page de statut|ce n'est pas (?:notre|ma) connexion|"
    r"depuis un autre (?:endroit|site|bureau)|"
    r"colleagues|other (?:people|locations|offices|customers)|status page|"
    r"not (?:just |only )?(?:our|my) (?:connection|line|office|network)|"
    r"customers (?:are calling|call|report|complain)|(?:a |another |different )provider|"
    r"uptime ?robot|pingdom"
)
_CONFIRMED = _whole_words(_CONFIRMED_WORDS)


def count_confirmed_cues(text: str, lower: str | None = None) -> int:
    return _count(_CONFIRMED, text, lower)


# ---------------------------------------------------------------- subjects

_GENERIC_WORDS = frozenset(
    """help hulp helpdesk aide assistance probleem problemen problème problèmes problem problems
    issue issues vraag vragen vraagje question questions urgent urgente dringend dringende asap
    spoed spoedig important belangrijk info information informatie informations ticket tickets
    support ondersteuning request demande aanvraag melding bericht message mail e-mail email
    website site webshop hosting server serveur contact geen onderwerp no subject sans objet
    objet onderwerp subject hallo hello hi bonjour dag goedemorgen hey please aub svp plz pls
    nogmaals again encore opnieuw toch nog still always altijd weer re fw fwd tr uw your votre
    je jullie vous you a het de la le les the een un une an of van for pour voor voor mijn my mon
    ma mes onze our notre nos en and et ok dringend!! update nieuws news klacht complaint
    plainte wat what quoi hoe how comment waarom why pourquoi zie see voir onder below ci-dessous
    hieronder dossier case nr no number numéro nummer ref reference référence""".split()
)
_WORDISH = re.compile(r"[^\W\d_]+", re.UNICODE)


def subject_is_generic(subject: str) -> bool:
    """True when the subject names no problem: empty, a reply prefix or only generic words."""
    subject = subject or ""
    # GENERIC_PREFIX opens with ^ (no MULTILINE) and matches no empty string: its one match, if
    # any, is at the start, and sub() would cut just that
    prefix = GENERIC_PREFIX.match(subject)
    words = _WORDISH.findall(subject[prefix.end() :] if prefix else subject)
    return not words or all(w.lower() in _GENERIC_WORDS for w in words)  # lowered up to a no


# ---------------------------------------------------------------- secrets

# A word that announces a secret; the secret is the first password-like token after it, in the
# same sentence ("le mot de passe root est : X", "the transfer code, it is: X", "login jan / X").
# Grouped by first letter (like _ERROR_TEXT): every top-level branch opens with a literal, so the
# scan jumps to those letters in C and tries one group there, 4x quicker than the flat list (the
# tests check it finds the same words as the flat list); a leading \b is written (?<=\bx), and
# moved behind the next letter by _boundary_after_letter.
_SECRET_WORDS = (
    r"(?:"
    r"p(?:as{1,2}w(?:or|ro|r|o)?[dt]s?|asscode|assphrase|(?<=\bp)wd\b|(?<=\bp)w\b|"
    r"(?<=\bp)ass\b|(?<=\bp)asw\b|aswoor?[dt]\w*|asswoord\w*|(?<=\bp)/w\b|in ?code|"
    r"(?<=\bp)in\b|rivate[ _-]?key\b|roduct[ _-]?key\b)|"
    r"w(?:achtwoo?r?d\w*|(?<=\bw)w\b|8woord|achtzin|pa[ _-]?key\b|ifi[ _-]?key\b|"
    r"i-fi[ _-]?key\b|(?:i-?fi|lan|pa2?)[ -]?code)|"
    r"m(?:ots?[ -]?de[ -]?pass?e?|(?<=\bm)dp\b|(?<=\bm)e connect(?:e|er|é)\b)|"
    r"c(?:(?<=\bc)ode pin\b|l[ée] (?:api|secr[eè]te|wpa|wi-?fi)|ode (?:wi-?fi|wpa2?)\b|"
    r"ode auth|ode d'authentification|odes? de secours|odes? de récupération|"
    r"ode de sécurité|ode de transfert|ode d'autorisation|redentials|"
    r"ode de déverrouillage|ode secret|ode d'accès|(?<=\bc)onnect(?:e|er|é)\b)|"
    r"s(?:(?<=\bs)ecret\b|ecret[ _-]?key\b|leutel|ecurity code|"
    r"(?<=\bs)e connect(?:e|er|é)\b|ign(?:ed|ing)? ?in\b)|"
    r"t(?:(?<=\bt)oken\b|ransfer ?code|oegangscode)|"
    r"j(?:(?<=\bj)eton\b)|"
    r"a(?:pi[ _-]?key|ccess[ _-]?key\b|uth[ -]?(?:code|info)|uthenticatiecode|"
    r"uthentication code|utorisatiecode|uthori[sz]ation code|ccess code|anmeld\w*)|"
    r"l(?:icense[ _-]?key\b|icence[ _-]?key\b|(?<=\bl)ogin\b|(?<=\bl)og(?:ged|ging)? ?in\b)|"
    r"n(?:etwork[ _-]?key\b)|"
    r"k(?:(?<!hardware k)(?<!usb k)(?<!security k)(?<=\bk)ey\s*[:=])|"
    r"b(?:ackup ?codes?|eveiligingscode|(?<=\bb)earer\b)|"
    r"h(?:erstelcodes?)|"
    r"r(?:ecovery codes?)|"
    r"v(?:eiligheidscode|erhuis(?:code|token))|"
    r"2(?:fa)|"
    r"e(?:(?<=\be)pp\b)|"
    r"o(?:verdrachtscode|ntgrendel\w*)|"
    r"i(?:dentifiants?|nloggegevens|nlogcode|nloggen|(?<=\bi)nlog\w*)|"
    r"g(?:ebruikersnaam)|"
    r"u(?:sername|tilisateur|nlock code)"
    r")"
)
_SECRET_WORD = Caseless(_boundary_after_letter(_SECRET_WORDS))
MAX_ANNOUNCEMENTS = 200
_WINDOW = 90  # characters after the announcing word that may hold the secret
_WINDOW_END = re.compile(r"\n\s*\n")  # a secret may follow in the next sentence, not paragraph
_CANDIDATE = re.compile(r"[^\s\"'«»“”‘’`()\[\]<>,;=:][^\s\"'«»“”‘’`()\[\]<>,;]{3,79}")
_PIN_WORD = re.compile(r"pin|code|ontgrendel|unlock|déverrouill|2fa", re.IGNORECASE)
_PASSWORD_WORD = re.compile(
    r"pass|wacht|paswoord|w8woord|mdp|mots?[ -]?de[ -]?pass|\bww\b|\bpw|\bp/w", re.IGNORECASE
)
_PUBLIC = re.compile(r"publi(?:c|eke?|que)\W*$", re.IGNORECASE)
# "user / secret" or "user@domain: secret" written as a pair, the secret with a digit and a symbol
# (a lookahead, so that "kijken: jan@x.be / Tulp!2026" is tried at "jan@x.be" too)
_PAIR = (
    r"(?=(?P<user>[\w.+-]{2,64}+(?:@[\w.-]{2,100}+)?)"
    r"(?:\s{0,3}(?P<sep>[/|]|::?)\s{0,3}|[ \t]{1,3}-{1,2}>?[ \t]{1,3})"
    r"(?P<secret>(?=[^\s]{0,79}[\d!#$%&*+?@^~|])[^\s\"'<>,;\\]{4,80})(?=\s|$|[,;]))"
)
_CREDENTIAL_PAIR = re.compile(r"(?<![^\s(\[,;:>\"'])" + _PAIR)
# Its matches after the text's first position, found with the character before them: re
# skips to those characters instead of trying the lookbehind at every position (1.2x quicker).
# The matches are empty and this pattern's are one character wide, so it finds every one.
_CREDENTIAL_PAIR_AFTER = re.compile(r"[\s(\[,;:>\"']" + _PAIR)


def _credential_pairs(text: str) -> Iterator[re.Match[str]]:
    """The matches of _CREDENTIAL_PAIR.finditer(text), with the same groups."""
    first = _CREDENTIAL_PAIR.match(text)
    if first is not None:
        yield first
    yield from _CREDENTIAL_PAIR_AFTER.finditer(text)


# a strong secret shape: a letter, a digit and a symbol ("X7#kP9qL2!mR", "AB12-xy!9-KL")
_STRONG = re.compile(
    r"(?=[^\s]{0,79}\d)(?=[^\s]{0,79}[^\W\d_])(?=[^\s]{0,79}[!#$%&*+?@^~|])\S{6,80}"
)
# who a pair belongs to: "admin / X", "root / X", "jan@x.be - X" need no symbol in the secret
_LOGIN_USER = re.compile(
    r"(?:admin|administrator|administrateur|beheer|beheerder|root|webmaster|user|gebruiker|"
    r"utilisateur|login|editor|redacteur|ftp|sftp|ssh|plesk|cpanel|deploy|[\w.+-]+@[\w-]+\.[\w.-]+)",
    re.IGNORECASE,
)
# reference numbers written as pairs: "ticket : #INC0048812", "order / WC-2024-118273"
_REFERENCE = re.compile(
    r"ticket\w*|order\w*|bestel\w*|commande|factu\w*|invoice\w*|ref\w*|r[ée]f[ée]rence|"
    r"num[ée]ro|nummer|nr|no|dossier|case|sku|art\w*|serie\w*|s[ée]rie|tracking|suivi",
    re.IGNORECASE,
)
_CONNECTION_STRING = re.compile(
    r"\b[a-z][a-z0-9+.-]{1,15}://[^\s:/@]{0,64}:(?P<secret>[^\s@/]{1,128})@", re.IGNORECASE
)
_ENV_SECRET = re.compile(
    r"\b[A-Z0-9_]{0,40}(?:PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_KEY|APIKEY|AUTH_KEY|_PASS|_KEY|SALT)"
    r"[A-Z0-9_]{0,20}[ \t]*[=:][ \t]*[\"']?(?P<secret>[^\s\"']{3,200})"
)
_CODE_SECRET = re.compile(
    r"(?:define\s*\(\s*['\"][A-Z_]{0,20}(?:PASSWORD|KEY|SALT|SECRET)[A-Z_]{0,20}['\"]\s*,\s*|"
    r"['\"][a-z]{0,12}_?(?:password|passwd|pass|pwd|secret|"
    r"api[_-]?key|token|auth[_-]?token|access[_-]?token)['\"]\s*(?:=>|:|=)\s*|"
    r"\$\w{0,20}(?:pass|pwd|password|secret|token)\w{0,10}\s*=\s*|"
    r"\b[a-z][a-z0-9]{0,15}_(?:pass|passwd|password|pwd|secret|token)\s{0,3}[=:]\s{0,3})"
    r"['\"](?P<secret>[^'\"\n]{3,200})['\"]",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"(?P<secret>\b(?:ghp_[A-Za-z0-9]{20,60}|gh[ousr]_[A-Za-z0-9]{20,60}|sk_(?:live|test)_[A-Za-z0-9]{10,99}|"
    r"rk_live_[A-Za-z0-9]{10,99}|xox[abpr]-[A-Za-z0-9-]{10,99}|AKIA[0-9A-Z]{16}|"
    r"sk-[A-Za-z0-9_-]{20,120}|glpat-[A-Za-z0-9_-]{20,60}|"
    r"(?<=Basic )[A-Za-z0-9+/]{12,200}={0,2}|\$(?:apr1|2[aby]|1|5|6)\$[./A-Za-z0-9$]{8,120}|"
    r"(?:[a-z]{2,8}_)?(?:live|test|prod|tok|token|key|secret)_[A-Za-z0-9]{12,60}|"
    r"eyJ[A-Za-z0-9_-]{8,400}\.[A-Za-z0-9_-]{8,400}\.[A-Za-z0-9_-]{8,400}))"
)
_MYSQL_FLAG = re.compile(
    r"\b(?:mysql(?:dump|admin)?|sshpass)\b[^\n]{0,120}?\s(?:-p|--password[= ])['\"]?"
    r"(?P<secret>[^\s'\"]{3,80})"
)
# "example" values: DB_PASSWORD=your_password_here, mysql://USER:PASSWORD@HOST, -p<password>
_PLACEHOLDER = re.compile(
    r"[<{\[].*|\$\{.*|%\w+%|(?:your|jouw|uw|votre|ton)[_-]?\w*|\w*_(?:here|hier|ici)|"
    r"\w*(?:placeholder|example|exemple|voorbeeld)\w*|"
    r"pass(?:word)?|passwd|pwd|wachtwoord|paswoord|mot_?de_?passe|mdp|secret|geheim|"
    r"changeme|change_?me|x{3,}|\.{3,}|…|\?+",
    re.IGNORECASE,
)
# a password-like token announced after it: "Kermis*Stoet8 is het wachtwoord van de ftp"
_SECRET_BEFORE_WORD = Caseless(
    r"(?<![^\s\"'«“‘(])(?P<secret>[^\s\"'«»“”‘’`()]{4,80}+)[\"'»”’]?\s+(?:is|was|est|c'est|=)\s+"
    r"(?:het|de|le|the|mijn|my|mon|ons|onze|notre|our)?\s*"
    r"(?:nieuwe |new |nouveau |oude |old |ancien )?(?:password|wachtwoord|paswoord|mot de passe)",
    needs=("password", "wachtwoord", "paswoord", "mot de passe"),
)
# Literals of which every match of a pattern holds one (as written: the patterns are case-sensitive
# or the literals have no letters); a text without any cannot match and is not scanned.
_NEEDS = {
    "connection_string": ("://",),
    "env": ("PASS", "PWD", "SECRET", "TOKEN", "KEY", "SALT"),
    "code": ("'", '"'),
    "token": ("_", "$", "xox", "AKIA", "sk-", "glpat-", "Basic ", "eyJ"),
}
# _CODE_SECRET is case-insensitive and opens with a quote (or "define", "$", a word) tried at
# every quote in French and English prose; each of its branches names the secret with one of
# these words (password/passwd contain "pass", api_key/auth_token/... "key" or "token"), so a
# text whose lower-cased form holds none of them cannot match (see _may_hold for the letters
# IGNORECASE matches that lower-casing does not produce).
_CODE_WORDS = ("pass", "pwd", "secret", "key", "token", "salt")
# Every branch of _CODE_SECRET puts right before the quote that opens the secret a comma
# (define), "=>", ":" or "=" and maybe spaces: a quote in prose seldom follows one of these.
_CODE_HINT = re.compile(r"[,>:=]\s*['\"]")
# What every _TOKEN match holds (as _NEEDS["token"] has it, but the underscore and the dollar
# with what follows them in every branch that has them: 10 letters or digits after an
# underscore, a hash's "$2y$"); the set of "_" and "$" opens it, which re skips to.
_TOKEN_LITERALS = ("xox", "AKIA", "sk-", "glpat-", "Basic ", "eyJ")
_TOKEN_HINT = re.compile(r"_[A-Za-z0-9]{10}|\$(?:apr1|2[aby]|1|5|6)\$")
# Every _CREDENTIAL_PAIR match holds its separator ("/", "|", ":" or "::", or a dash after a
# space or tab: " -", " --", " ->") and right after it what the pattern asks of the secret: a
# text without this is not scanned. From the separator's first character on, it is the
# pattern's own text (":?" for "::", "-?>?" for the rest of a dash, the same spaces, the secret's
# lookahead and its first 4 characters), so every match holds a match of it. Most ':' and '/' in
# prose and links fail it; it opens with a set, which re skips to (the pattern itself opens with
# a lookbehind, tried at every position). Its lookahead reads up to 80 characters after every
# separator: on a long run of them ("a:a:a:...") 10x the pair scan itself, so a text longer than
# _PAIR_HINT_MAX (few tickets are) is only checked for one of the _PAIR_SEPARATORS.
_PAIR_HINT_MAX = 2_000
_PAIR_SEPARATORS = ("/", "|", ":", " -", "\t-")
_PAIR_HINT = re.compile(
    r"[/|:-](?:(?<=[/|:]):?\s{0,3}|(?<=-)-?>?[ \t]{1,3})"
    r"(?=[^\s]{0,79}[\d!#$%&*+?@^~|])[^\s\"'<>,;\\]{4}"
)
# Characters that re.IGNORECASE matches to an ASCII letter while str.lower() does not turn them
# into that letter: 'İ' (lower-cased to "i" and a combining dot) and 'ı' match "i", 'ſ' matches
# "s" (every code point was tried; a test tries them again).
_ODD_CASE = ("\u0130", "\u0131", "\u017f")


def _may_hold(text: str, lower: str, literals: tuple[str, ...]) -> bool:
    """False only if no case-insensitive (re.IGNORECASE) match of any literal is in the text:
    a literal's letters then appear in the lower-cased text as they are, unless the text holds
    one of the _ODD_CASE letters."""
    return _holds_any(lower, literals) or _holds_any(text, _ODD_CASE)


_PRIVATE_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z ]{0,20}PRIVATE KEY(?: BLOCK)?-----")
_PRIVATE_KEY_END = re.compile(r"-----END [A-Z ]{0,20}PRIVATE KEY(?: BLOCK)?-----")

# Words that follow "password is/:" without being one ("my password is wrong").
_NOT_A_SECRET = frozenset(
    """vergeten kwijt fout verkeerd incorrect ongeldig verlopen gewijzigd veranderd aangepast
    gereset juist correct wrong invalid expired changed reset forgotten forgot lost incorrecte
    incorrect oublié perdu expiré changé modifié réinitialisé faux correct ok okay niet not pas
    werkt works marche nodig needed needs nécessaire vereist required requis wijzigen changer
    change resetten reset aanpassen veranderen opnieuw again encore nieuw new nouveau nouvelle
    sterk strong fort zwak weak faible ingesteld set défini aangemaakt created créé
    hetzelfde same même manager managers vault kluis reset-link resetlink link lien
    ontvangen received reçu gekregen sturen send envoyer via per par door by with met avec
    field veld champ vak box policy beleid politique too te al goed good bon bonne leeg empty
    vide blocked geblokkeerd bloqué locked vergrendeld short kort court long lang simple simpel
    eenvoudig moeilijk difficult complex complexe unknown onbekend inconnu missing ontbreekt
    manquant bad slecht mauvais sent verstuurd envoyé updated bijgewerkt mis filled ingevuld
    rempli valid geldig valide accepted aanvaard accepté refused geweigerd refusé rejected
    afgewezen rejeté different anders autre other andere hidden verborgen caché masked
    gemaskeerd masqué encrypted versleuteld chiffré safe veilig sûr sécurisé secure generated
    gegenereerd généré automatic automatisch automatique random willekeurig aléatoire""".split()
)
_NOT_SECRET_SHAPE = re.compile(
    r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+|\d{1,3}(?:\.\d{1,3}){3}|0x[0-9a-f]+|"
    r"1password|lastpass|bitwarden|keepass\w*|dashlane|\*+|x{4,}|•+|2fa\S*|"
    r"[a-z0-9._+-]+@[a-z0-9-]+\.[a-z0-9.-]*|"
    r"[\w-]+\.(?:php|html?|js|css|json|xml|txt|log|ini|conf|png|jpe?g|pdf|zip|exe|dmg)|"
    r"ssh-(?:rsa|ed25519|dss|ecdsa)\S*|v?\d+(?:\.\d+)+\w*|\d{4}-\d\d-\d\d[t\s]\d\d:\d\d\S*|\d+(?:[/:-]\d+)+|[1-5]\d\d-\w+|v=\w+.*|\S*::\S*|\d+(?:st|nd|rd|th|e|de|ste|ème)|"
    r"(?:php|mysql|http|https|ipv[46]|utf|win|windows|mac|macos|ios|android|office|ubuntu|debian|"
    r"centos|wp|joomla|drupal|outlook|iphone|galaxy|pixel)[\d.]+(?:-\w+)?",
    re.IGNORECASE,
)
_STOP_VALUE = frozenset(
    """de het een van voor en of is in op te je jij u uw mijn ons onze the a an of for and or to my
    your our is in on la le les un une des du de et ou pour mon ma mes notre votre est dans sur
    that dat die this dit ce cette qui wie welke which was it dit zijn were are been have heb
    hebben niet geen no pas plus nog still nu now toujours also ook aussi mais maar but
    celui celle ceux dezelfde hetzelfde zelfde same même trouwens overigens btw anyway
    d'ailleurs""".split()
)


@dataclass(frozen=True)
class SecretSpan:
    start: int
    end: int
    kind: str


def _shaped(bare: str) -> bool:
    """A secret's shape: 6 characters or more, a letter, and a digit or a symbol. A value of
    letters only (most words) has no digit and no symbol, one of digits only no letter (no
    character is both a letter and a digit, and letters are no symbols): neither is shaped, and
    their characters are not looked at one by one."""
    return (
        len(bare) >= 6
        and not bare.isalpha()
        and not bare.isdigit()
        and any(c.isalpha() for c in bare)
        and (
            any(c.isdigit() for c in bare)
            or any(not c.isalnum() and c not in "-._'/" for c in bare)
        )
    )


def _looks_like_secret(value: str, allow_digits: bool = False) -> bool:
    """A token that reads as a password, code or key, not as a word, name, address or error."""
    bare = value.strip(".,;:!?)(]")
    lower = bare.lower()
    if len(bare) < 4 or lower in _NOT_A_SECRET or lower in _STOP_VALUE:
        return False
    if allow_digits and _DIGIT_GROUPS.fullmatch(bare):
        return True  # a PIN or backup code: 4471, 8471-2293
    shaped = _shaped(bare)
    digits = bare.isdigit()
    if not shaped and not digits:
        return False  # the checks below only say no, but to a secret's shape or to digits
    if _NOT_SECRET_SHAPE.fullmatch(bare) or _DOMAIN.fullmatch(bare):
        return False
    if _CUT_EMAIL.fullmatch(bare) or _PLACEHOLDER.fullmatch(bare) or _DESCRIBED.search(lower):
        return False
    if _ASSIGNMENT.match(bare):
        return False  # "DB_USER=raad_events", "space=212": a setting, the secret is its value
    if digits:
        return allow_digits and 4 <= len(bare) <= 8  # a PIN after "pincode", "code PIN"
    if bare.endswith("@") or bare.startswith(("/", "~", "@")) or bare.count("/") >= 2:
        return False  # a cut e-mail address or a file path
    return shaped


_QUOTES = "\"'«»“”‘’`"
_ASSIGNMENT = re.compile(r"[A-Z][A-Z0-9_]{1,40}[=:]|[a-z_]{2,20}=")
_CUT_EMAIL = re.compile(r"[a-z0-9._+-]+@[a-z-]*")  # case-sensitive: "info@bakkerij"
_DESCRIBED = re.compile(r"-?(?:teken|tekens|caract[eè]re?s?|characters?|chars?|cijfers?|digits?)$")
_HASH_WORD = re.compile(r"\b(?:md5|sha-?(?:1|256|512)?|hash|checksum|fingerprint)\b", re.I)
_HEX_HASH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}")
_DIGIT_GROUPS = re.compile(r"\d{4,8}|\d{3,6}(?:-\d{3,6}){1,3}")
# right after a password word: a quoted passphrase ('mijn hond heet Bruno') ...
_QUOTED_PHRASE = re.compile(
    r"^[^\n.?!]{0,30}?(?:^|(?<=[\s:=(]))[\"'«“‘]\s?(?P<v>[^\W_][^\"'»”’\n]{2,59}?)\s?[\"'»”’]"
)
# ... or one plain word after a link ("het wachtwoordje is appelsien", "Mot de passe :\nlapin",
# "het paswoord van info@ is geraniums en ...", "le mot de passe est le même qu'avant : lapin")
_LINKED_WORD = re.compile(
    r"^(?P<pre>[^\n.,;:!?=]{0,50}?)(?::\s{0,3}|=[ \t]{0,3}|[ \t]-{1,2}>?[ \t]{1,3}|"
    r"(?<=[ \t])(?:is|est|c'est|was|blijft|reste)[ \t]+)"
    r"(?:(?:just|gewoon|simpelweg|simplement|maintenant|nu|now|dus|donc|toujours|still)[ \t]+)?"
    r"(?P<v>[^\W\d_][\w-]{4,39}(?:[!#$%&*@+]{1,3}(?![\w-]))?)(?=[\s.,;!?)(]|$)"
)
_EARLIER_LINK = re.compile(
    r"(?<![\w'])(?:is|est|c'est|was|blijft|reste)(?![\w'])"
    r"(?!\s+(?:(?:le |la )?m[êe]me|hetzelfde|dezelfde|the same|identi))|\s-{1,2}>?\s"
)
_PARENTHESIS = re.compile(r"[ \t]{0,3}(?:\([^)\n]{0,40}\)[ \t]{0,3})?")
# after a longer lead-in the word must end its clause: "... is geraniums en het werkt niet"
_CLAUSE_END = re.compile(
    r"[ \t]*(?:[.,;!?()\n]|$)|[ \t]+(?:en|and|et|maar|mais|but|want|car|omdat|because)\b"
)
_LINKED_DIGITS = re.compile(
    r"^[ \t]{0,3}(?::\s{0,3}|=[ \t]{0,3}|[ \t](?:is|est|c'est|was)[ \t]+)"
    r"(?P<v>\d{6,12})(?=[\s.,;!?)]|$)"
)
_PARTICIPLE = re.compile(
    r"[^\W\d_]{0,8}ge[^\W\d_]{3,}[dt]|(?:be|ver|her|ont)[^\W\d_]{3,}[dt]|"
    r"[^\W\d_]{3,}(?:ed|é|ée|és|ées)"
)
_DESCRIPTION = re.compile(
    r"\b(?:bevat\w*|contains?|contient|contenir|minstens|minimaal|at least|au moins|moet|"
    r"must|doit|should|zou|heeft|has|a|met een|with an?|avec une?|zonder|without|sans)\b",
    re.IGNORECASE,
)
# a conjunction opening another clause between the password word and the link
# (not "car", "while" or "want": English nouns and verbs as well, "the password for the car
# site is ...")
_OTHER_CLAUSE = re.compile(r"\b(?:maar|but|mais|omdat|because|terwijl|alors que|parce que)\b", re.I)
_SENTENCE_START = re.compile(r"[.!?]\s")
_BACKUP_WORD = re.compile(r"backup|recovery|herstel|secours|récupération", re.IGNORECASE)
_CODE_GROUP = re.compile(r"(?=[a-z]{0,9}\d)(?=\d{0,9}[a-z])[0-9a-z]{4,10}", re.IGNORECASE)
# names glued together the way passwords are: Tractor_Rood, Vlaai.Limburg, DeGoudenLeeuw
_CAPITALISED_PARTS = re.compile(
    r"[A-Z][a-zà-ÿ]{2,20}(?:[_.+*#&-][A-Z][a-zà-ÿ]{2,20}){1,4}|[A-Z][a-zà-ÿ]{1,20}(?:[A-Z][a-zà-ÿ]{1,20}){2,4}"
)
_PRODUCT_NAMES = frozenset(
    """phpmyadmin keepassxc mysqlworkbench mailchimpforwoocommerce""".split()
)
_PHONE = re.compile(r"(?:\+\d{2}|0)\d{1,3}(?:[ ./-]?\d{2,3}){3,4}(?!\d)")
_RESET_URL = re.compile(r"://|reset|herstel|r[ée]initiali|verif|confirm|activat", re.IGNORECASE)
_ERRORISH = re.compile(
    r"invalid|incorrect|wrong|fout|ongeldig|erreur|error|failed|mislukt|échoué|denied|geweigerd",
    re.IGNORECASE,
)


def _quoted_word(window: str, candidate: re.Match[str]) -> bool:
    """A plain word in quotes right after the announcing word: 'wachtwoord "zonnebloem"'."""
    start, end = candidate.start(), candidate.end()
    word = candidate.group(0).lower()
    return (
        start <= 25
        and start > 0
        and end < len(window)
        and window[start - 1] in _QUOTES
        and window[end] in _QUOTES
        and len(word) >= 5
        and word not in _NOT_A_SECRET
        and word not in _STOP_VALUE
        and not re.fullmatch(r"[A-Z][A-Z0-9_]+", candidate.group(0))  # a constant, e.g. DB_PASS
    )


def _announced_secrets(text: str, word: re.Match[str]) -> list[SecretSpan]:
    """The password-like tokens (at most 3) in the window after a word that announces a secret."""
    if _PUBLIC.search(text[max(0, word.start() - 12) : word.start()]):
        return []  # a public key is no secret
    run = text[max(0, word.start() - 200) : word.start()].rsplit(None, 1)
    if run and not text[word.start() - 1].isspace() and _RESET_URL.search(run[-1]):
        return []  # "reset?token=..." in a password-reset link
    backup = bool(_BACKUP_WORD.search(word.group(0)))
    window = text[word.end() : word.end() + (_WINDOW * 4 if backup else _WINDOW)]
    stop = _WINDOW_END.search(window)
    if stop and not window[: stop.start()].rstrip(" \t=-").endswith(":"):
        window = window[: stop.start() + 1]  # the secret, if any, is in this paragraph
    # else: "wachtwoord:", "het wachtwoord staat hieronder:" announce the next paragraph
    pin_like = bool(_PIN_WORD.search(word.group(0)))
    password_word = bool(_PASSWORD_WORD.search(word.group(0)))
    found: list[SecretSpan] = []
    late: SecretSpan | None = None  # a plain word after a lead-in, if nothing better turns up
    if password_word:
        phrase = _QUOTED_PHRASE.match(window)
        constant = phrase and re.fullmatch(r"[A-Z][A-Z0-9_]+", phrase.group("v"))
        if phrase and not constant and not _ERRORISH.search(phrase.group("v")):
            value = phrase.group("v")
            if value.lower() not in _NOT_A_SECRET and value.lower() not in _STOP_VALUE:
                start = word.end() + phrase.start("v")
                found.append(SecretSpan(start, start + len(value), "password"))
        linked = _LINKED_WORD.match(window)
        if linked and not found and _plain_word_secret(window, linked):
            start = word.end() + linked.start("v")
            span = SecretSpan(start, start + len(linked.group("v")), "password")
            if _PARENTHESIS.fullmatch(linked.group("pre")):
                found.append(span)  # right after the word: "wachtwoord: lapin"
            else:
                late = span  # "wachtwoord van de Plesk:\nvdbroeck\nMolen#Wiek55": the latter
        digits = _LINKED_DIGITS.match(window)
        if digits and not found and not _PHONE.match(window, digits.start("v")):
            start = word.end() + digits.start("v")
            found.append(SecretSpan(start, start + len(digits.group("v")), "password"))
    # Each check below only turns a candidate down, and none has side effects: the costlier
    # ones (the hash word near the announcing word, the description in the sentence) are made
    # only for a candidate that every other check lets through, so the same ones are taken.
    hash_context: bool | None = None  # looked up at the first hex hash
    for candidate in _CANDIDATE.finditer(window):
        value = candidate.group(0).rstrip(".,:;)")
        if _HEX_HASH.fullmatch(value):
            if hash_context is None:
                near = text[max(0, word.start() - 40) : word.end() + _WINDOW]
                hash_context = bool(_HASH_WORD.search(near))
            if hash_context:
                continue  # an md5/sha checksum of a file, not a key
        start = word.end() + candidate.start()
        phone = _PHONE.match(text, start) if pin_like else None
        if phone and phone.end() > start + len(value):
            continue  # a phone number: "gsm-nummer voor de 2FA sms: 0478 12 34 56"
        if not (
            (backup and _CODE_GROUP.fullmatch(value))
            or (password_word and _quoted_word(window, candidate))
            or (password_word and _capitalised(value))
            or _looks_like_secret(value, allow_digits=pin_like)
        ):
            continue
        if not pin_like:
            sentence = _SENTENCE_START.split(window[: candidate.start()])[-1]
            if _DESCRIPTION.search(sentence):
                continue  # "het wachtwoord bevat een €-teken"
        found.append(SecretSpan(start, start + len(value), "password"))
        if len(found) >= (12 if backup else 3):  # an old and a new password, backup codes
            break
    return found or ([late] if late else [])


def _capitalised(value: str) -> bool:
    """Names glued together the way passwords are (not a product's name)."""
    bare = value.rstrip("!?")
    return (
        bool(_CAPITALISED_PARTS.fullmatch(bare))
        and value.lower().rstrip("!?") not in _PRODUCT_NAMES
    )


def _plain_word_secret(window: str, linked: re.Match[str]) -> bool:
    """A plain word after a password word and a link is the password unless it reads as an
    account of it ("is verlopen", "is stored hashed", "=your_password_here")."""
    value = linked.group("v")
    lower = value.lower().rstrip("!#$%&*@+")
    if lower in _NOT_A_SECRET or lower in _STOP_VALUE or _PARTICIPLE.fullmatch(lower):
        return False
    if _PLACEHOLDER.fullmatch(value) or _DESCRIPTION.search(linked.group("pre")):
        return False
    if _EARLIER_LINK.search(linked.group("pre")):
        return False  # the first link decides: "is Fiets&Bel77 en de user is jan_ftp"
    if _OTHER_CLAUSE.search(linked.group("pre")):
        return (
            False  # the link is another clause's: "wachtwoord gereset maar Outlook blijft zeuren"
        )
    if window[linked.end("v") : linked.end("v") + 1] == "?":
        return False  # a question about it: "my password is WordPress-related?"
    if _PARENTHESIS.fullmatch(linked.group("pre")):
        return True  # "wachtwoord: lapin", "paswoord (met kleine letters) is appelsien"
    return bool(_CLAUSE_END.match(window, linked.end("v")))


# Follow-ups that give a secret without naming it: "Sorry, vergeten: het is Turnen4ever!",
# "je l'ai changé en Printemps2024!", "the code the registrar needs is 9Xq!2mLw#T".
_FOLLOW_UP = Caseless(
    r"(?P<its>(?<![\w'])(?:het is|'t is|it's|it is|c'est|dat is|here it is|voilà|voici|"
    r"(?:het|de) (?:juiste|goede|correcte)(?: is)?|the (?:right|correct) one is|"
    r"(?:le|la) bon(?:ne)? (?:est|c'est))\b[ \t]*:?[ \t]*)"
    r"|(?P<changed>\b(?:chang[ée]e?|changed|veranderd|gewijzigd|aangepast|modifi[ée]e?|"
    r"gereset|ingesteld|gezet|set|reset)[ \t]+(?:(?:it|het|'t|hem|him|them)[ \t]+)?"
    r"(?:to|in|en|naar|op|into)[ \t]+)"
    r"|(?P<code>\bcodes?\b)",
    # A character that is no ASCII word character (every branch opens after \b or after neither
    # a word character nor an apostrophe: after a \W one, or at the text's start), then each
    # branch's leading literal, grouped by first letter: "het " opens "het is" and "het juiste",
    # a changed-word is followed by a space or tab. The lookbehinds and \b are left out, which
    # only adds starts. re skips to the non-word characters: 4x quicker than trying everywhere.
    starts=r"[^a-z0-9_](?:h(?:et (?:is|juiste|goede|correcte)|ere it is)|'t is|"
    r"i(?:t's|t is|ngesteld[ \t])|c(?:'est|hang|ode)|d(?:at is|e (?:juiste|goede|correcte))|"
    r"v(?:oilà|oici|eranderd[ \t])|the (?:right|correct) one is|l[ea] bon|"
    r"g(?:ewijzigd|ereset|ezet)[ \t]|aangepast[ \t]|modifi|set[ \t]|reset[ \t])",
    lead=1,
)
_SECRET_CONTEXT = re.compile(
    r"pass|wacht|paswo|mdp|mot de passe|\bww\b|\bpw\b|login|inlog|identifiant|credential|"
    r"vergeten|forgot|oubli",
    re.IGNORECASE,
)
_TRANSFER_CONTEXT = re.compile(
    r"verhui|transf|domein|domaine|domain|registrar|epp|auth|hoster|h[ée]bergeur|provider",
    re.IGNORECASE,
)
_CODE_QUOTED = re.compile(r"^[^\n.?!\"'«“‘]{0,50}[\s:][\"'«“‘](?P<v>[\w-]{6,60})[\"'»”’]")
_REFERENCE_SHAPE = re.compile(r"#?[A-Z]{2,6}[-/]?\d[\d/-]{3,}[A-Z]?")
_MESSAGE_WORDS = re.compile(
    r"error|erreur|fout|fail|échec|impossible|unable|cannot|can't|kan niet|niet mogelijk|"
    r"invalid|ongeldig|incorrect|denied|geweigerd|refus",
    re.IGNORECASE,
)


def _secret_context(before: str, cue: re.Match[str]) -> bool:
    """A password word before a follow-up cue or in it."""
    return bool(_SECRET_CONTEXT.search(before) or _SECRET_CONTEXT.search(cue.group(0)))


def _follow_up_secret(text: str, cue: re.Match[str]) -> SecretSpan | None:
    """The secret right after a follow-up cue, when the shape or the context says it is one."""
    rest = text[cue.end() : cue.end() + _WINDOW]
    before = text[max(0, cue.start() - 200) : cue.start()]
    if cue.group("code"):
        for candidate in _CANDIDATE.finditer(rest[:70]):
            value = candidate.group(0).rstrip(".,:;)")
            if _STRONG.fullmatch(value) and not _REFERENCE_SHAPE.fullmatch(value):
                start = cue.end() + candidate.start()
                return SecretSpan(start, start + len(value), "code")
        # a quoted word after a transfer code: "code om het domein te verhuizen is 'boter-hammen'"
        phrase = _CODE_QUOTED.match(rest)
        if phrase and _TRANSFER_CONTEXT.search(before[-60:] + rest[: phrase.start("v")]):
            start = cue.end() + phrase.start("v")
            return SecretSpan(start, start + len(phrase.group("v")), "code")
        return None
    # A password word in the context is asked for last in each test below (the tests have no
    # side effects): _SECRET_CONTEXT, tried at every position of 200 characters, is most of the
    # time spent here, and most cues are turned down before it ("het is niet ...").
    if cue.group("its"):
        phrase = _QUOTED_PHRASE.match(rest)
        if phrase and phrase.start("v") <= 3 and not _MESSAGE_WORDS.search(phrase.group("v")):
            value = phrase.group("v")
            words = value.lower().split()
            if (
                len(words) <= 5
                and words[0] not in _STOP_VALUE
                and not _SECRET_WORD.search(value)
                and _secret_context(before, cue)
            ):
                start = cue.end() + phrase.start("v")
                return SecretSpan(start, start + len(value), "password")
    first = _CANDIDATE.match(rest)
    if not first:
        return None
    value = first.group(0).rstrip(".,:;)")
    if _REFERENCE_SHAPE.fullmatch(value) or not _looks_like_secret(value):
        return None
    if _STRONG.fullmatch(value) or _secret_context(before, cue):
        start = cue.end() + first.start()
        return SecretSpan(start, start + len(value), "password")
    return None


def find_secrets(text: str, lower: str | None = None) -> list[SecretSpan]:
    """Character spans of secrets (passwords, PINs, auth codes, tokens, keys) in the text."""
    lower = text.lower() if lower is None else lower
    spans: list[SecretSpan] = []
    for kind, pattern in (
        ("connection_string", _CONNECTION_STRING),
        ("env", _ENV_SECRET),
        ("code", _CODE_SECRET),
        ("token", _TOKEN),
    ):
        if not _holds_any(text, _NEEDS[kind]):
            continue  # the pattern cannot match: skip its scan
        if kind == "code" and not (_may_hold(text, lower, _CODE_WORDS) and _CODE_HINT.search(text)):
            continue  # a quote but no password word or no assignment: nothing to scan
        if kind == "token" and not (_holds_any(text, _TOKEN_LITERALS) or _TOKEN_HINT.search(text)):
            continue  # an underscore or a dollar, but no token after it
        for match in pattern.finditer(text):
            value = match.group("secret")
            if kind in ("env", "code") and value.lower() in {"null", "none", "''", "changeme"}:
                continue
            if not value.strip("*xX•") or _PLACEHOLDER.fullmatch(value):
                continue  # masked or an example: mysql://user:********@host, =<password>
            if (
                kind == "env"
                and text[match.start("secret") - 1] in " \t"
                and (value.lower() in _STOP_VALUE or value.lower() in _NOT_A_SECRET)
            ):
                continue  # "DB_PASSWORD= maar leeg": no value, the sentence goes on
            spans.append(SecretSpan(match.start("secret"), match.end("secret"), kind))
    if len(text) <= _PAIR_HINT_MAX:
        pairs = _PAIR_HINT.search(text) is not None
    else:
        pairs = _holds_any(text, _PAIR_SEPARATORS)
    for match in _credential_pairs(text) if pairs else ():
        value = match.group("secret").rstrip(".,;:)")
        user = match.group("user")
        if _REFERENCE.fullmatch(user) or value.startswith("#") or _DOMAIN.search(value):
            continue  # "ticket : #INC0048812"
        # "jan / Geheim#12" needs a symbol; "admin / Pl3sk-Beh33r", "jan@x.be - Velo2026" not
        known_user = match.group("sep") not in (":", "::") and _LOGIN_USER.fullmatch(user)
        if _looks_like_secret(value) and (known_user or _STRONG.fullmatch(value)):
            start = match.start("secret")
            spans.append(SecretSpan(start, start + len(value), "password"))
    for count, match in enumerate(_SECRET_WORD.finditer(text, lower)):
        if count >= MAX_ANNOUNCEMENTS:
            break  # a flood of "password" words: the first ones decide, the time stays bounded
        spans.extend(_announced_secrets(text, match))
    for count, match in enumerate(_FOLLOW_UP.finditer(text, lower)):
        if count >= MAX_ANNOUNCEMENTS:
            break
        follow_up = _follow_up_secret(text, match)
        if follow_up:
            spans.append(follow_up)
    for match in _SECRET_BEFORE_WORD.finditer(text, lower):
        value = text[match.start("secret") : match.end("secret")]
        if _looks_like_secret(value):
            spans.append(SecretSpan(match.start("secret"), match.end("secret"), "password"))
    for match in _MYSQL_FLAG.finditer(text) if ("mysql" in text or "sshpass" in text) else ():
        if _PLACEHOLDER.fullmatch(match.group("secret")):
            continue
        spans.append(SecretSpan(match.start("secret"), match.end("secret"), "password"))
    # every match opens with "-----BEGIN ": a text without it is not scanned
    for begin in _PRIVATE_KEY_BEGIN.finditer(text) if "-----BEGIN " in text else ():
        end = _PRIVATE_KEY_END.search(text, begin.end())
        stop = end.end() if end else min(len(text), begin.end() + 4000)
        spans.append(SecretSpan(begin.start(), stop, "private_key"))
    return _merge(spans)


def _merge(spans: list[SecretSpan]) -> list[SecretSpan]:
    if len(spans) < 2:
        return spans  # nothing to sort or to merge (most texts hold no secret)
    merged: list[SecretSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = SecretSpan(last.start, max(last.end, span.end), last.kind)
        else:
            merged.append(span)
    return merged


REDACTED = "[REDACTED]"


def redact(text: str, spans: list[SecretSpan] | None = None) -> str:
    """The text with every secret replaced by [REDACTED]."""
    spans = find_secrets(text) if spans is None else spans
    out: list[str] = []
    cursor = 0
    for span in spans:
        out.append(text[cursor : span.start])
        out.append(REDACTED)
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


# ---------------------------------------------------------------- a second issue

_SECOND_ISSUE_WORDS = (
    r"ook nog|nog iets|nog een (?:vraag|vraagje|ander|probleem)|daarnaast|verder nog|"
    r"los daarvan|tweede (?:vraag|punt|probleem)|andere vraag|en nog|ps\b|p\.s\.|"
    r"nu ik (?:jullie|u|je) toch|als (?:ik|ge|je|jullie) toch bezig|tussendoor|daarbovenop|"
    r"trouwens|apart daarvan|aparte vraag|"
    r"iets anders|ander punt|(?:twee|drie|paar|enkele) (?:dingen|dingetjes|vragen|vraagjes|zaken)|"
    r"also|another (?:question|issue|thing)|separate(?:ly)?|on another note|unrelated|"
    r"second(?:ly)? |by the way|btw|while i'm at it|while i have you|while i'm here|"
    r"one more (?:thing|question)|oh and|additionally|in addition|on a different note|"
    r"(?:two|three|a few|a couple of) (?:things|questions|requests)|"
    r"autre (?:question|chose|problème)|par ailleurs|aussi|en plus|deuxième|"
    r"sans rapport|petite question|tant que j['’]y suis|pendant que j['’]y suis|"
    r"tant qu['’]on y est|j['’]en profite|par la même occasion|d['’]autre part|"
    r"encore une (?:question|chose)|(?:deux|trois|quelques) (?:choses|questions|demandes)"
)
_SECOND_ISSUE = Caseless(
    r"\b(?:" + _SECOND_ISSUE_WORDS + r")\b",
    starts=_after_word_break(_SECOND_ISSUE_WORDS),
    lead=1,
)
# A sentence or line that opens with "and"/"also": how a second request is usually tacked on
# ("En kan de factuur ...", "Et je souhaite ...", "Also, ...", "Ook: ...").
_ADDED_WORDS = (
    r"(?:en|et|and|ook|aussi|also|verder|bovendien|daarnaast|"
    r"également|"
    r"de plus|in addition)\b"
)
_ADDED_SENTENCE = Caseless(r"(?m)(?:^[ \t]{0,8}|[.!?][ \t]{1,4})" + _ADDED_WORDS)
# Its matches after the text's start, each found from the newline before it when it opens a
# line: the pattern opens with a set of characters (newline, . ! ?), which re skips to, instead
# of ^ tried at every position. One match of either for each of the other (a match of either
# ends with a letter, so a newline opening the next one is never inside the last one): the same
# count, from the same position on.
_ADDED_AFTER = Caseless(r"[\n.!?](?:(?<=\n)[ \t]{0,8}|(?<=[.!?])[ \t]{1,4})" + _ADDED_WORDS)
_ENUMERATION = StartScan(
    re.compile(r"^\s*(?:\d[.)]|[-*•])\s+\S", re.MULTILINE),
    # a line opens after a newline (or at the text's start, which StartScan tries): re skips
    # to the newlines instead of trying ^ at every position
    starts=r"\n\s*(?:\d[.)]|[-*•])\s+\S",
    lead=1,
)


def count_second_issue_cues(text: str, lower: str | None = None) -> int:
    return sum(1 for _ in _SECOND_ISSUE.finditer(text, lower)) + min(
        3, sum(1 for _ in _ENUMERATION.finditer(text))
    )


# a subject that joins two subjects: "VPS traag + vraag over factuur" (not "&": company names)
_JOINED_SUBJECT = re.compile(r"\S\s+\+\s+\S")


def subject_joins(subject: str) -> bool:
    return bool(_JOINED_SUBJECT.search(subject))


def count_added_sentences(text: str, lower: str | None = None) -> int:
    """How many matches _ADDED_SENTENCE.finditer finds (counted with _ADDED_AFTER)."""
    pattern, target = _ADDED_SENTENCE._pick(text, lower)
    after = _ADDED_AFTER.fast if pattern is _ADDED_SENTENCE.fast else _ADDED_AFTER.slow
    first = pattern.match(target)  # at the text's start: no newline before it
    position = 0 if first is None else first.end()
    return (first is not None) + len(after.findall(target, position))  # no groups: one a match


# ---------------------------------------------------------------- all signals of a ticket


# What each of Signals.features() says, for explanations ("signal: steps tried").
SIGNAL_LABELS = {
    "sig_domain": "a domain",
    "sig_named_host": "a named server or package",
    "sig_ip_customer": "the customer's IP",
    "sig_ip_server": "a server IP",
    "sig_ip_unknown": "an IP address",
    "sig_ip_private": "a private IP",
    "sig_error": "error texts",
    "sig_steps": "steps tried",
    "sig_connection": "connection failure",
    "sig_confirmed": "confirmed elsewhere",
    "sig_generic_subject": "generic subject",
    "sig_secret": "a secret",
    "sig_second_issue": "cues of a second issue",
    "sig_paragraphs": "paragraphs",
    "sig_questions": "questions",
    "sig_question_paragraphs": "paragraphs with a question",
    "sig_added_sentences": "sentences added after a sign-off",
}


@dataclass
class Signals:
    domains: list[str] = field(default_factory=list)
    named_host: bool = False
    ips: list[IpMention] = field(default_factory=list)
    error_texts: list[str] = field(default_factory=list)
    steps_cues: int = 0
    connection_cues: int = 0
    confirmed_cues: int = 0
    generic_subject: bool = False
    secret_spans: list[SecretSpan] = field(default_factory=list)
    second_issue_cues: int = 0
    paragraphs: int = 0
    questions: int = 0
    question_paragraphs: int = 0
    added_sentences: int = 0

    @property
    def has_server_or_domain(self) -> bool:
        return bool(self.domains) or self.named_host or any(ip.kind == "server" for ip in self.ips)

    @property
    def has_customer_ip(self) -> bool:
        return any(ip.kind == "customer" for ip in self.ips)

    def features(self) -> dict[str, float]:
        """Numeric features for the model (stable names; SIGNAL_LABELS names them for people)."""
        kinds = [ip.kind for ip in self.ips]
        return {
            "sig_domain": float(bool(self.domains)),
            "sig_named_host": float(self.named_host),
            "sig_ip_customer": float("customer" in kinds),
            "sig_ip_server": float("server" in kinds),
            "sig_ip_unknown": float("unknown" in kinds),
            "sig_ip_private": float("private" in kinds),
            "sig_error": min(3.0, float(len(self.error_texts))) / 3,
            "sig_steps": min(3.0, float(self.steps_cues)) / 3,
            "sig_connection": min(3.0, float(self.connection_cues)) / 3,
            "sig_confirmed": min(2.0, float(self.confirmed_cues)) / 2,
            "sig_generic_subject": float(self.generic_subject),
            "sig_secret": float(bool(self.secret_spans)),
            "sig_second_issue": min(3.0, float(self.second_issue_cues)) / 3,
            "sig_paragraphs": min(6.0, float(self.paragraphs)) / 6,
            "sig_questions": min(4.0, float(self.questions)) / 4,
            "sig_question_paragraphs": min(3.0, float(self.question_paragraphs)) / 3,
            "sig_added_sentences": min(3.0, float(self.added_sentences)) / 3,
        }


def detect_signals(ticket: CleanTicket) -> Signals:
    """Signals of a cleaned ticket. Information in quoted mails counts as given (the guide), so
    domains, IPs and errors are looked for in the whole text; cues of what the customer did or
    wants are looked for in their own words only. Secret spans come from the raw text (the
    Analyzer finds them before redacting), not from here."""
    own = f"{ticket.subject}\n{ticket.own}"
    full_lower, own_lower, own_only_lower = ticket.full.lower(), own.lower(), ticket.own.lower()
    paragraphs = ticket.own.split("\n\n")
    return Signals(
        domains=find_domains(ticket.full, full_lower),
        named_host=names_host(ticket.full),
        ips=find_ips(ticket.full),
        error_texts=find_error_texts(ticket.full, full_lower),
        steps_cues=count_steps_cues(own, own_lower),
        connection_cues=count_connection_cues(own, own_lower),
        confirmed_cues=count_confirmed_cues(own, own_lower),
        generic_subject=subject_is_generic(ticket.subject),
        second_issue_cues=count_second_issue_cues(ticket.own, own_only_lower)
        + subject_joins(ticket.subject),
        # 4 words or more: split(None, 3) makes a 4th piece only for a 4th word
        paragraphs=sum(1 for part in paragraphs if len(part.split(None, 3)) >= 4),
        questions=ticket.own.count("?"),
        question_paragraphs=sum(1 for part in paragraphs if "?" in part),
        added_sentences=count_added_sentences(ticket.own, own_only_lower),
    )
