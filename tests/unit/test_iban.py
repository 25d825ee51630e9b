"""IBANs as customers type or say them: checked with schwifty's rules and bank registry."""

import logging

import pytest

from bot.domain.errors import IbanProblem, InvalidIban
from bot.domain.iban import mask_iban, read_iban

COMMERZBANK = "DE89370400440532013000"


def _with_check_digits(country: str, bban: str) -> str:
    """An IBAN whose two check digits are right for `bban` (ISO 7064 MOD 97-10)."""
    number = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


@pytest.mark.parametrize(
    "said",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "de89 3704 0044 0532 0130 00",
        "meine neue IBAN ist de89370400440532013000 bitte",
        "D E 89 3704 0044 0532 0130 00",  # spoken letter by letter
        "DE 89 37 04 00 44 05 32 01 30 00",  # spoken in pairs
    ],
)
def test_german_iban_accepted_however_written(said):
    account = read_iban(said)
    assert account.iban == COMMERZBANK
    assert account.country == "DE"
    assert account.bank_code == "37040044"


def test_bank_name_and_bic_come_from_the_bank_code():
    account = read_iban("DE89 3704 0044 0532 0130 00")
    assert account.bank_name == "Commerzbank"
    assert account.bic == "COBADEFFXXX"


def test_another_german_bank_resolved():
    assert read_iban("DE12 5001 0517 0648 4898 90").bank_name == "ING-DiBa"


@pytest.mark.parametrize(
    ("iban", "country"),
    [("AT61 1904 3002 3457 3201", "AT"), ("NL91 ABNA 0417 1643 00", "NL")],
)
def test_foreign_sepa_iban_accepted_with_its_country(iban, country):
    account = read_iban(iban)
    assert account.country == country
    assert account.iban == iban.replace(" ", "")


def test_dutch_bank_named_from_its_letters():
    assert read_iban("NL91ABNA0417164300").bank_name == "ABN AMRO BANK N.V."


def _refusal(said: str) -> IbanProblem:
    with pytest.raises(InvalidIban) as refused:
        read_iban(said)
    return refused.value.problem


def test_wrong_check_digit_refused_as_checksum():
    assert _refusal("DE88 3704 0044 0532 0130 00") == IbanProblem.CHECKSUM


def test_one_digit_mistyped_refused_as_checksum():
    assert _refusal("DE89 3704 0044 0532 0131 00") == IbanProblem.CHECKSUM


@pytest.mark.parametrize("said", ["DE89 3704 0044 0532 0130 0", "DE89 3704 0044 0532 0130 000"])
def test_wrong_length_for_the_country_refused(said):
    assert _refusal(said) == IbanProblem.LENGTH


def test_unknown_country_refused():
    assert _refusal(_with_check_digits("XX", "370400440532013000")) == IbanProblem.UNKNOWN_COUNTRY


def test_country_outside_sepa_refused():
    assert _refusal("BR18 0036 0305 0000 1000 9795 493C 1") == IbanProblem.NOT_SEPA


def test_german_bank_code_no_bank_has_refused():
    unknown_bank = _with_check_digits("DE", "99999999" + "0532013000")
    assert unknown_bank == "DE44999999990532013000"  # the checksum alone would pass
    assert _refusal(unknown_bank) == IbanProblem.BANK_CODE


def test_account_number_failing_its_banks_check_digit_refused():
    assert (
        _refusal(_with_check_digits("DE", "37040044" + "1234567890")) == IbanProblem.ACCOUNT_NUMBER
    )


@pytest.mark.parametrize("said", ["", "ich weiß sie nicht", "1234 5678"])
def test_nothing_iban_like_refused_as_not_found(said):
    assert _refusal(said) == IbanProblem.NOT_FOUND


def test_masked_form_shows_only_country_check_digits_and_last_four():
    masked = read_iban("DE89 3704 0044 0532 0130 00").masked
    assert masked == "DE89 **** **** **** **30 00"
    assert masked.replace(" ", "").replace("*", "") == "DE893000"
    assert len(masked.replace(" ", "")) == len(COMMERZBANK)


def test_masked_form_of_a_shorter_iban():
    assert mask_iban("NL91ABNA0417164300") == "NL91 **** **** **43 00"


def test_full_iban_in_no_repr_error_or_log(caplog):
    caplog.set_level(logging.DEBUG)
    account = read_iban(COMMERZBANK)
    with pytest.raises(InvalidIban) as refused:
        read_iban("DE88370400440532013000")
    shown = [repr(account), str(account), str(refused.value), repr(refused.value), caplog.text]
    assert not any("0532013000" in text or "05320130" in text for text in shown)
