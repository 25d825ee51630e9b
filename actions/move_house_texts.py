"""The texts of a move: its summary, read back before the customer confirms and kept
as the receipt afterwards, and the name of a meter as customers see it.

Each line is a response of domain/move_house.yml (`utter_move_line_*`,
`utter_move_label_*`) in the customer's language, filled in here; the chat
shows the lines one below the other, the phone says them as sentences.
"""

from __future__ import annotations

from typing import Any

from actions.common import commodity_label, response_text
from bot.domain import i18n
from bot.domain.services import moves
from bot.domain.services.meter_readings import Meter

UNITS = {"m3": "m³"}


def filled(domain: dict[str, Any], response: str, language: str, **values: str) -> str:
    return response_text(domain, response, language).format(**values)


def unit_label(unit: str) -> str:
    return UNITS.get(unit, unit)


def meter_label(meter: moves.ContractOutcome | Meter, domain: dict[str, Any], language: str) -> str:
    """ "Strom (Zählernummer 1ESY1160300381)", or just the commodity without a number."""
    commodity = commodity_label(domain, meter.commodity, language)
    if not meter.meter_number:
        return commodity
    return filled(
        domain,
        "utter_move_label_meter",
        language,
        commodity=commodity,
        meter_number=meter.meter_number,
    )


def summary_lines(
    preview: moves.MovePreview,
    domain: dict[str, Any],
    language: str,
    reference: str | None = None,
) -> list[str]:
    """The move as the customer reads it back, line by line (the receipt starts with
    its reference)."""
    request = preview.request
    date = i18n.date(request.move_date, language)
    lines = []
    if reference:
        lines.append(filled(domain, "utter_move_line_reference", language, reference=reference))
    kind = response_text(domain, f"utter_move_kind_{request.kind}", language)
    lines.append(filled(domain, "utter_move_line_kind", language, kind=kind))
    lines.append(filled(domain, "utter_move_line_date", language, date=date))
    lines.append(
        filled(domain, "utter_move_line_new_address", language, address=request.new_address.line())
    )
    if preview.final_bill_address is not None:
        lines.append(
            filled(
                domain,
                "utter_move_line_final_bill",
                language,
                address=preview.final_bill_address.line(),
            )
        )
    if request.newcomer is not None:
        lines.append(
            filled(
                domain,
                "utter_move_line_newcomer",
                language,
                name=request.newcomer.name,
                birth_date=i18n.date(request.newcomer.birth_date, language),
                contact=request.newcomer.contact,
            )
        )
    for contract in preview.contracts:
        lines.append(
            filled(
                domain,
                f"utter_move_line_contract_{contract.outcome}",
                language,
                commodity=commodity_label(domain, contract.commodity, language),
                contract_number=contract.contract_number,
                date=date,
            )
        )
    for contract in preview.contracts:
        meter = meter_label(contract, domain, language)
        if contract.reading is None:
            lines.append(filled(domain, "utter_move_line_reading_missing", language, meter=meter))
        else:
            lines.append(
                filled(
                    domain,
                    "utter_move_line_reading",
                    language,
                    meter=meter,
                    value=i18n.number(contract.reading, language),
                    unit=unit_label(contract.unit),
                )
            )
    return [_capitalised(line, language) for line in lines]


def _capitalised(line: str, language: str) -> str:
    """A line that starts with a commodity ("elektrik ...") starts with a capital."""
    first = line[:1]
    upper = "İ" if first == "i" and language == "tr" else first.upper()
    return upper + line[1:]


def joined(lines: list[str], voice: bool) -> str:
    """Lines for the chat; sentences for the phone, where line breaks are not heard."""
    return " ".join(f"{line}." for line in lines) if voice else "\n".join(lines)
