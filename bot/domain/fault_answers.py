"""What customers answer to the fault desk's questions, read from their words.

What failed (Strom, kein Wasser, Heizung kalt, Laterne, elektrik, su,
kalorifer, sokak lambası), whether the neighbours are affected too ("nur
bei mir", "die ganze Straße", "komşularda da"), and a telephone number to
call back. Like bot/domain/parsing.py, each function finds a value or
returns None.
"""

from __future__ import annotations

import re

from bot.domain.parsing import parse_commodity
from bot.domain.text import fold

#: what the fault desk answers for (bot/domain/services/faults.py)
STREET_LIGHT = "street_light"
HOME, AREA, UNKNOWN = "home", "area", "unknown"

_STREET_LIGHT = re.compile(
    r"laterne|strassenlampe|strassenbeleuchtung|strassenlicht|beleuchtung|sokak lamba|lamba"
    r"|aydinlatma|direk"
)
_HEATING = re.compile(
    r"heizung|heizkorper|warmwasser|warmes wasser|kalorifer|petek|isitma|sicak su"
)
_POWER = re.compile(r"licht|dunkel|steckdose|sicherung|isik|karanlik|priz|sigorta")
# Scope: the customer's home only, or more (neighbours, the street, the area).
_AREA = re.compile(
    r"nachbar|ganze[nrs]? (strasse|haus|viertel|siedlung|gegend|stadtteil|block)|alle[n]? "
    r"|auch die anderen|ganze|strasse|viertel|komsu|herkes|tum |butun |sokak|mahalle|bina"
)
_HOME = re.compile(r"nur (bei )?(mir|uns)|nur meine|nur unsere|sadece (ben|biz|bizim|benim)|yalniz")
_UNKNOWN = re.compile(r"weiss (ich )?nicht|keine ahnung|unklar|bilmiyorum|emin degil|bilmem")
_PHONE = re.compile(r"(?<![\d])(\+|00)?\d[\d /-]{4,20}\d(?![\d])")


def fault_commodity(text: str) -> str | None:
    """What failed: a commodity, or a street light (heating is district heating)."""
    folded = fold(text)
    if _STREET_LIGHT.search(folded):
        return STREET_LIGHT
    named = parse_commodity(text)
    if named:
        return named
    if _HEATING.search(folded):
        return "district_heating"
    if _POWER.search(folded):
        return "electricity"
    return None


def affected(text: str) -> str | None:
    """Whether only the customer's home is affected (`home`), more (`area`), or they
    do not know (`unknown`)."""
    folded = fold(text)
    if _UNKNOWN.search(folded):
        return UNKNOWN
    if _HOME.search(folded):
        return HOME
    if _AREA.search(folded):
        return AREA
    return None


def callback_number(text: str) -> str | None:
    """A telephone number to call back (national or international, 6 to 15 digits)."""
    match = _PHONE.search(text)
    if match is None:
        return None
    digits = re.sub(r"\D", "", match.group(0))
    if not 6 <= len(digits) <= 15:
        return None
    return re.sub(r"\s+", " ", match.group(0)).strip()
