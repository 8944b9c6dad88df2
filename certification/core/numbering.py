"""Certificate numbers: ``MCA-{CC}-{YYYY}-{NNNNNN}-{KK}`` (docs/api.md: a contract).

``CC`` is the issuing member state, ``YYYY`` the year of issue, ``NNNNNN`` the sequence of
that state and year, and ``KK`` two check digits of ISO 7064 MOD 97-10 (the scheme of IBAN,
ISO 13616) computed over ``MCA{CC}{YYYY}{NNNNNN}`` with letters mapped A=10 ... Z=35. MOD
97-10 catches every single-character substitution and every transposition of adjacent
characters, so a mistyped number is refused before any lookup.

Pure: no models, no queries. Allocation of the sequence (gap-free, a locked counter row per
state and year) belongs to the issuing service.
"""

import re
import string
from dataclasses import dataclass

from django.utils.translation import gettext

MEMBER_STATES = ("UZ", "KZ", "KG", "TJ", "TM", "AZ")

PREFIX = "MCA"
FIRST_YEAR = 2026
LAST_YEAR = 2999
MAX_SEQUENCE = 999_999
EXAMPLE = "MCA-UZ-2026-000123-97"

# ASCII only on purpose: ``\d`` would also match Arabic-Indic and other Unicode digits.
_SHAPE = re.compile(r"MCA-([A-Z]{2})-([0-9]{4})-([0-9]{6})-([0-9]{2})")


class InvalidNumber(ValueError):
    """A malformed or mistyped certificate number.

    ``reason`` is a stable short code (``empty``, ``shape``, ``member_state``, ``year``,
    ``sequence``, ``check_digits``) for programs and tests; ``str(error)`` (also
    ``error.message``) is the translated sentence for people.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


# IBAN letter mapping: A=10 ... Z=35; digits stay as they are.
_LETTERS = str.maketrans(
    {letter: str(ord(letter) - ord("A") + 10) for letter in string.ascii_uppercase}
)


def _mapped(text: str) -> str:
    return text.translate(_LETTERS)


def _body(country: str, year: int, sequence: int) -> str:
    return f"{PREFIX}{country}{year:04d}{sequence:06d}"


def _check_parts(country: str, year: int, sequence: int) -> None:
    if country not in MEMBER_STATES:
        raise InvalidNumber(
            "member_state",
            gettext("%(country)s is not a member state; the number must name one of %(states)s.")
            % {"country": country, "states": ", ".join(MEMBER_STATES)},
        )
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidNumber(
            "year",
            gettext(
                "The year %(year)s is implausible: certificates are issued from %(first)s "
                "to %(last)s."
            )
            % {"year": year, "first": FIRST_YEAR, "last": LAST_YEAR},
        )
    if sequence == 0:
        raise InvalidNumber(
            "sequence", gettext("The sequence 000000 is never issued; sequences start at 000001.")
        )
    if not 0 < sequence <= MAX_SEQUENCE:
        raise InvalidNumber(
            "sequence",
            gettext("The sequence must be between 1 and %(max)s.") % {"max": MAX_SEQUENCE},
        )


def check_digits(country: str, year: int, sequence: int) -> str:
    """The two ISO 7064 MOD 97-10 check digits of a number, zero-padded (``"07"``)."""
    _check_parts(country, year, sequence)
    return _digits(country, year, sequence)


def _digits(country, year, sequence):
    remainder = int(_mapped(_body(country, year, sequence)) + "00") % 97
    return f"{98 - remainder:02d}"


@dataclass(frozen=True)
class CertificateNumber:
    country: str
    year: int
    sequence: int

    def __post_init__(self):
        _check_parts(self.country, self.year, self.sequence)

    @property
    def check_digits(self) -> str:
        return _digits(self.country, self.year, self.sequence)  # parts checked on creation

    def __str__(self) -> str:
        return f"{PREFIX}-{self.country}-{self.year:04d}-{self.sequence:06d}-{self.check_digits}"


def format_number(country: str, year: int, sequence: int) -> str:
    """The canonical text of a number; raises InvalidNumber for impossible parts."""
    return str(CertificateNumber(country, year, sequence))


def parse_number(text: str) -> CertificateNumber:
    """Parse a typed or scanned number, in any letter case and with surrounding spaces.

    Raises InvalidNumber with the first problem found, checked from the coarsest (empty,
    shape) to the finest (check digits), so the reason is the most useful one.
    """
    candidate = (text or "").strip()
    if not candidate:
        raise InvalidNumber("empty", gettext("The certificate number is empty."))
    # Checked before upper(): "ſ".upper() is "S" and "ß".upper() is "SS".
    match = _SHAPE.fullmatch(candidate.upper()) if candidate.isascii() else None
    if match is None:
        raise InvalidNumber(
            "shape",
            gettext(
                "A certificate number has the shape %(example)s: MCA, the member state, the "
                "year of issue, a six-digit sequence and two check digits, joined by hyphens."
            )
            % {"example": EXAMPLE},
        )
    country, year_text, sequence_text, given_digits = match.groups()
    number = CertificateNumber(country, int(year_text), int(sequence_text))
    # Compared as text rather than testing "int(mapped + KK) mod 97 == 1": the two agree for
    # the digits MOD 97-10 produces (02..98), but the remainder test also accepts the aliases
    # 00 (for 97), 01 (for 98) and 99 (for 02), which would give one certificate two spellings.
    if given_digits != number.check_digits:
        raise InvalidNumber(
            "check_digits",
            gettext("The check digits do not match: the number was probably mistyped."),
        )
    return number
