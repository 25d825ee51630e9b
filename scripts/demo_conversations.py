"""Play the README's self-service demo conversations and measure their containment.

    python -m scripts.demo_conversations [--url http://localhost:5005] [--quiet]

Needs the service running (`make run`) with the demo data. Each conversation of
the README's self-service table is sent, one message at a time, over the REST
webhook, in German and in Turkish, under a new sender id. A conversation is
contained when no reply hands it to a person; the announced supply block hands
off on purpose (the statutory avoidance agreement needs a person), so it
counts against containment as it would on the dashboard.

The demo data change as the conversations run (readings, mandates, a deferral
once a year), so the figures are those of a fresh `make run`; a second run
finds some requests refused by the rules, which is then what it measures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Conversation:
    """One demo request in one language: what the customer types, in order."""

    request: str
    language: str
    messages: tuple[str, ...]


def _date(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).strftime("%d.%m.%Y")


def conversations() -> list[Conversation]:
    """The README's self-service table, German and Turkish."""
    return [
        Conversation(
            "submit_meter_reading",
            "de",
            ("Zählerstand melden", "10000025 44137 21.06.1983", "Strom", "47.350"),
        ),
        Conversation(
            "submit_meter_reading",
            "tr",
            (
                "sayaç okumamı bildirmek istiyorum",
                "10000028 44139 03.12.1986",
                "sonu 0436 olan",
                "otuz beş bin yüz",
            ),
        ),
        Conversation(
            "change_bank_details",
            "de",
            (
                "Ich möchte meine Bankverbindung ändern",
                "10000025 44137 21.06.1983",
                "DE02 1203 0000 0000 2020 51",
                "Claudia Neumann",
                "ja",
            ),
        ),
        Conversation(
            "change_bank_details",
            "tr",
            (
                "neue IBAN'ım var",
                "10000028 44139 03.12.1986",
                "DE89 3704 0044 0532 0130 00",
                "Hatice Kaya",
                "evet",
            ),
        ),
        Conversation(
            "move_house",
            "de",
            (
                "Ich ziehe um",
                "Ich ziehe innerhalb des Versorgungsgebiets um",
                "10000025 44137 21.06.1983",
                _date(14),
                "Rüttenscheider Straße 5a, 45130 Essen",
                "habe ich noch nicht",
                "habe ich noch nicht",
                "ja",
            ),
        ),
        Conversation(
            "move_house",
            "tr",
            (
                "taşınıyorum",
                "Hizmet bölgenizin dışına taşınıyorum",
                "10000028 44139 03.12.1986",
                _date(10),
                "Torstraße 12, 10115 Berlin",
                "evet",
                "henüz okumadım",
                "henüz okumadım",
                "evet",
            ),
        ),
        Conversation(
            "payment_arrangement",
            "de",
            ("Kann ich in Raten zahlen?", "10000013 44139 17.01.1962", "4", "ja"),
        ),
        Conversation(
            "payment_arrangement",
            "tr",
            ("taksitle ödeyebilir miyim", "10000004 45879 27.11.1985", "üç taksit", "evet"),
        ),
        Conversation(
            "payment_arrangement (block announced)",
            "de",
            ("Mir wurde die Sperre angedroht", "10000026 47053 09.02.1977"),
        ),
        Conversation(
            "payment_arrangement (block announced)",
            "tr",
            ("elektriğimi kesecekler", "10000026 47053 09.02.1977"),
        ),
        Conversation(
            "reconnect_supply",
            "de",
            ("Strom wurde abgestellt, hab jetzt bezahlt", "10000027 45127 30.10.1990"),
        ),
        Conversation(
            "reconnect_supply",
            "tr",
            ("ödedim elektriği açın", "10000027 45127 30.10.1990"),
        ),
        Conversation(
            "ask_bill (advance payment)",
            "de",
            ("Wie hoch ist mein Abschlag?", "10000002 44137 12.03.1975"),
        ),
        Conversation(
            "ask_bill (why so high)",
            "tr",
            ("Faturam neden bu kadar yüksek?", "10000004 45879 27.11.1985"),
        ),
    ]


@dataclass
class Outcome:
    conversation: Conversation
    handed_off: bool
    transcript: list[tuple[str, list[str]]]


def play(client: httpx.Client, url: str, conversation: Conversation) -> Outcome:
    sender = f"demo-{conversation.language}-{uuid.uuid4().hex[:12]}"
    transcript: list[tuple[str, list[str]]] = []
    handed_off = False
    for text in conversation.messages:
        response = client.post(
            f"{url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
        )
        response.raise_for_status()
        replies = response.json()
        handed_off |= any((r.get("custom") or {}).get("handoff") for r in replies)
        transcript.append((text, [r.get("text") or "" for r in replies]))
    return Outcome(conversation, handed_off, transcript)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:5005")
    parser.add_argument("--quiet", action="store_true", help="only the summary")
    args = parser.parse_args()
    outcomes = []
    with httpx.Client(timeout=60) as client:
        for conversation in conversations():
            outcome = play(client, args.url, conversation)
            outcomes.append(outcome)
            if not args.quiet:
                print(f"\n## {conversation.request} ({conversation.language})")
                for said, answers in outcome.transcript:
                    print(f"> {said}")
                    for answer in answers:
                        print("  " + answer.replace("\n", "\n  "))
    print("\n| request | language | handed to a person |\n|---|---|---|")
    for outcome in outcomes:
        c = outcome.conversation
        print(f"| {c.request} | {c.language} | {'yes' if outcome.handed_off else 'no'} |")
    contained = sum(not o.handed_off for o in outcomes)
    print(f"\nContainment: {contained} of {len(outcomes)} ({contained / len(outcomes):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
