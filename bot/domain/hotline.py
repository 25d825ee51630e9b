"""When people answer the hotline (and so take handoffs at once), and how to say the hours."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_DAYS = ["mo", "di", "mi", "do", "fr", "sa", "so"]
_HOURS = re.compile(
    r"(?P<first>\w\w)\s*-\s*(?P<last>\w\w)\s+"
    r"(?P<oh>\d{1,2}):(?P<om>\d{2})\s*-\s*(?P<ch>\d{1,2}):(?P<cm>\d{2})"
)


@dataclass(frozen=True)
class HotlineHours:
    """When people answer: weekdays (0 = Monday) and opening hours."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    opens: dt.time = dt.time(8, 0)
    closes: dt.time = dt.time(20, 0)

    @classmethod
    def parse(cls, text: str) -> HotlineHours:
        """Hours as operators write them: `Mo-Sa 08:00-20:00`, `Mo-So 00:00-24:00`."""
        match = _HOURS.fullmatch(text.strip().lower())
        if not match or match["first"] not in _DAYS or match["last"] not in _DAYS:
            raise ValueError(f"hotline hours must look like 'Mo-Sa 08:00-20:00', got {text!r}")
        first, last = _DAYS.index(match["first"]), _DAYS.index(match["last"])
        if last < first:
            raise ValueError(f"hotline days must run forwards (Mo-Sa), got {text!r}")
        try:
            opens = dt.time(int(match["oh"]), int(match["om"]))
            closes = (
                dt.time.max
                if (match["ch"], match["cm"]) == ("24", "00")
                else dt.time(int(match["ch"]), int(match["cm"]))
            )
        except ValueError as error:
            raise ValueError(f"hotline hours have an impossible time: {text!r}") from error
        return cls(tuple(range(first, last + 1)), opens, closes)

    def __str__(self) -> str:
        """The operators' notation again (`Mo-Sa 08:00-20:00`)."""
        closes = "24:00" if self.closes == dt.time.max else self.closes.strftime("%H:%M")
        first, last = _DAYS[self.days[0]].title(), _DAYS[self.days[-1]].title()
        return f"{first}-{last} {self.opens.strftime('%H:%M')}-{closes}"

    def is_open(self, now: dt.datetime) -> bool:
        return now.weekday() in self.days and self.opens <= now.time() < self.closes

    def next_opening(self, now: dt.datetime) -> dt.datetime:
        """The next moment people answer (now, if open)."""
        if self.is_open(now):
            return now
        day = now.date()
        if now.weekday() in self.days and now.time() < self.opens:
            return dt.datetime.combine(day, self.opens, now.tzinfo)
        for offset in range(1, 8):
            candidate = day + dt.timedelta(days=offset)
            if candidate.weekday() in self.days:
                return dt.datetime.combine(candidate, self.opens, now.tzinfo)
        raise ValueError("hotline hours have no open day")


_DAY_NAMES = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "tr": ("Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"),
}
# Turkish "from ... to ...": the suffixes follow the day's last vowel (Pazartesiden, Salıya)
_FROM_TR = ("den", "dan", "dan", "den", "dan", "den", "dan")
_TO_TR = ("ye", "ya", "ya", "ye", "ya", "ye", "a")


def _clock(time: dt.time) -> str:
    """8:00 as "8", 8:30 as "8:30", the end of the day as "24"."""
    if time == dt.time.max:
        return "24"
    return f"{time.hour}" if time.minute == 0 else f"{time.hour}:{time.minute:02d}"


def spoken_hours(hours: HotlineHours, language: str) -> str:
    """The hotline hours as a voice says them: "Montag bis Samstag von 8 bis 20 Uhr"."""
    first, last = hours.days[0], hours.days[-1]
    opens, closes = _clock(hours.opens), _clock(hours.closes)
    all_day = (opens, closes) == ("0", "24")
    names = _DAY_NAMES["tr" if language == "tr" else "de"]
    if language == "tr":
        if len(hours.days) == 7:
            days = "her gün"
        elif first == last:
            days = names[first]
        else:
            days = f"{names[first]}{_FROM_TR[first]} {names[last]}{_TO_TR[last]}"
        return f"{days} 24 saat" if all_day else f"{days} saat {opens} ile {closes} arası"
    if len(hours.days) == 7:
        days = "täglich"
    elif first == last:
        days = names[first]
    else:
        days = f"{names[first]} bis {names[last]}"
    return f"{days} rund um die Uhr" if all_day else f"{days} von {opens} bis {closes} Uhr"
