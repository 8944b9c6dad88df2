"""Tax identification numbers of the six member states.

Producers are identified by their national tax id.  Each state has its own number; a
check digit is verified wherever its algorithm is public, otherwise only the format
(length, digits only) is checked.  The source of each rule is named next to it.

``validate_tax_id`` returns the canonical form of the id: store that value, not the raw
input (for Azerbaijan it restores a leading zero that spreadsheets tend to drop).

python-stdnum 2.2 was checked for every state: it has ``stdnum.az.voen`` only.  There is
no ``stdnum.kz``, ``stdnum.uz``, ``stdnum.kg``, ``stdnum.tj`` or ``stdnum.tm`` module
(a Kazakhstan BIN module exists on python-stdnum's development branch but is not
released, and checks no check digit).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.az import voen

MEMBER_STATES = ("UZ", "KZ", "KG", "TJ", "TM", "AZ")

INVALID_TAX_ID = "invalid_tax_id"  # the ValidationError code of every refusal here

# Separators people type inside an id: white space (any kind, tested with str.isspace),
# hyphen-minus and the Unicode dashes word processors substitute for it, and dots.
_SEPARATORS = frozenset("-.\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d\uff0e")

EXAMPLE_RANGE = range(100_000)  # example_tax_id gives distinct ids for n in 0..99999


@dataclass(frozen=True)
class _Format:
    label: str  # the national abbreviation, as printed on registration certificates
    length: int  # number of digits of the canonical form
    id_name: Promise  # "A Kazakhstan BIN/IIN": subject of the messages, with its article


# One entry per member state, with the source of the rule.
_FORMATS = {
    # Kazakhstan: BIN (business identification number) / IIN (individual identification
    # number), 12 digits, the last a mod-11 check digit (see _kz_check_digit for the
    # algorithm and its source).  Law of the Republic of Kazakhstan No. 223 of
    # 12 January 2007 "On national registers of identification numbers".
    "KZ": _Format("BIN/IIN", 12, _("A Kazakhstan BIN/IIN")),
    # Azerbaijan: VOEN (Vergi odeyicisinin eynilesdirme nomresi), 10 digits: territorial
    # code (2), serial (6), check digit, taxpayer type (1 legal person, 2 natural person).
    # Validated by python-stdnum's stdnum.az.voen, which cites the OECD sheet
    # "Azerbaijan - Information on Tax Identification Numbers" (Tax Code art. 34.6).
    "AZ": _Format("VOEN", 10, _("An Azerbaijan VOEN")),
    # Uzbekistan: STIR (soliq to'lovchining identifikatsiya raqami, Russian INN), 9 digits.
    # Format only: no check digit algorithm is published by the Tax Committee, and
    # python-stdnum has no module (its issue #354 "Add TIN number for Uzbekistan", after
    # Wikipedia "VAT identification number": 9 digits, companies 2xxxxxxxx, individuals
    # 4xxxxxxxx-7xxxxxxxx; the first-digit ranges are not enforced, being unofficial).
    "UZ": _Format("STIR", 9, _("An Uzbekistan STIR")),
    # Kyrgyzstan: INN, 14 digits; for individuals it is the personal identification number
    # (PIN) of the State Registration Service (grs.gov.kg), legal entities also get a
    # 14-digit code.  Source: business registration guides (kgaccount.com "How to obtain a
    # TIN (PIN) in Kyrgyzstan", f-chain.com); no official structure or check digit
    # algorithm is published, so format only.
    "KG": _Format("INN", 14, _("A Kyrgyzstan INN")),
    # Tajikistan: INN (RMA, raqami mushakhkhasi andozsuporanda), 9 digits, issued by the
    # Tax Committee under the Government (andoz.tj).  Source: org-id.guide list TJ-TIN
    # (example 020025789) and the TaxDo Tajikistan TIN guide.  Format only: the validation
    # digits the guide mentions have no published algorithm.
    "TJ": _Format("INN", 9, _("A Tajikistan INN")),
    # Turkmenistan: INN (taxpayer identification number of the State Tax Service, now the
    # Ministry of Finance and Economy, fineconomic.gov.tm).  No public description of its
    # structure was found: the Tax Code, the 2006 methodical instructions on registering
    # taxpayers and the 2020 guide that replaced them (order No. 321-O of 18 September 2020)
    # do not describe it in the texts available online, and no OECD TIN sheet was found
    # for Turkmenistan.  The 12 digits come from a third-party TIN validation library only: format
    # only, to be confirmed with the tax service.
    "TM": _Format("INN", 12, _("A Turkmenistan INN")),
}

# Kazakhstan check digit.  Source: Rules for forming the identification number, approved
# by Resolution of the Government of the Republic of Kazakhstan No. 406 of 22 May 2007
# (adilet.zan.kz/rus/docs/P070000406_), the source that open-source BIN/IIN validators
# cite (e.g. valery1707/kaz-person-id); one also cites the OECD sheet "Kazakhstan -
# Information on Tax Identification Numbers".  The first 11 digits are weighted 1..11
# and summed modulo 11; if the remainder is 10 they are weighted again with 3..11, 1, 2;
# a second remainder of 10 means no such number is issued.  The tests check this against
# BINs published online.
_KZ_WEIGHTS_1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_KZ_WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def _kz_check_digit(first11: str) -> int | None:
    """The check digit for the first 11 digits of a BIN/IIN, or None if none exists."""
    digits = [int(c) for c in first11]
    for weights in (_KZ_WEIGHTS_1, _KZ_WEIGHTS_2):
        remainder = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code=INVALID_TAX_ID)


def _member_state(country: str) -> str:
    code = str(country or "").strip().upper()
    if code not in _FORMATS:
        raise _invalid(
            gettext(
                "Tax ids can be checked only for the member states %(states)s; "
                "“%(country)s” is not one of them."
            )
            % {"states": ", ".join(MEMBER_STATES), "country": str(country or "")}
        )
    return code


def normalise_tax_id(country: str, value: str) -> str:
    """The id without spaces, dashes and dots, letters upper-cased.

    Digits of any script (e.g. full-width) become ASCII digits.  Other characters are kept
    so that validate_tax_id can name them; this function never refuses a value (except
    for an unknown country), it only cleans it.
    """
    _member_state(country)
    cleaned = []
    for char in str(value if value is not None else ""):
        if char.isspace() or char in _SEPARATORS:
            continue
        if unicodedata.category(char) == "Nd":
            cleaned.append(str(unicodedata.decimal(char)))
        else:
            cleaned.append(char.upper())
    return "".join(cleaned)


def validate_tax_id(country: str, value: str) -> str:
    """The canonical id, or ValidationError(code="invalid_tax_id") explaining what is wrong."""
    code = _member_state(country)
    fmt = _FORMATS[code]
    number = normalise_tax_id(code, value)
    if not number:
        raise _invalid(
            gettext("Enter the %(label)s (%(length)d digits).")
            % {"label": fmt.label, "length": fmt.length}
        )
    others = [c for c in dict.fromkeys(number) if c not in "0123456789"]
    if others:
        raise _invalid(
            gettext(
                "%(id_name)s has %(length)d digits and no letters or other signs; "
                "this one contains %(characters)s."
            )
            % {
                "id_name": fmt.id_name,
                "length": fmt.length,
                "characters": ", ".join(f"“{c}”" for c in others),
            }
        )
    if code == "AZ":
        return _validate_voen(number, fmt)
    _check_length(number, fmt)
    if code == "KZ":
        expected = _kz_check_digit(number[:11])
        if expected is None:
            raise _invalid(
                gettext(
                    "This is not a valid %(label)s: no check digit fits its first 11 digits. "
                    "Check for a mistyped digit."
                )
                % {"label": fmt.label}
            )
        if int(number[11]) != expected:
            raise _check_digit_error(fmt)
    return number


def _length_error(number: str, fmt: _Format) -> ValidationError:
    return _invalid(
        gettext("%(id_name)s has %(expected)d digits; this one has %(actual)d.")
        % {"id_name": fmt.id_name, "expected": fmt.length, "actual": len(number)}
    )


def _check_length(number: str, fmt: _Format) -> None:
    if len(number) != fmt.length:
        raise _length_error(number, fmt)


def _check_digit_error(fmt: _Format) -> ValidationError:
    return _invalid(
        gettext("The check digit of this %(label)s is wrong: check for a mistyped digit.")
        % {"label": fmt.label}
    )


def _validate_voen(number: str, fmt: _Format) -> str:
    # stdnum.az.voen takes 9 digits for a VOEN whose leading zero was lost and returns the
    # 10-digit form; any other length is refused.
    try:
        return voen.validate(number)
    except stdnum_errors.InvalidLength:
        raise _length_error(number, fmt) from None
    except stdnum_errors.InvalidComponent:
        raise _invalid(
            gettext(
                "The last digit of a VOEN shows the kind of taxpayer and is 1 (organisation) "
                "or 2 (individual); this one ends in %(digit)s."
            )
            % {"digit": number[-1]}
        ) from None
    except stdnum_errors.InvalidChecksum:
        raise _check_digit_error(fmt) from None
    except stdnum_errors.ValidationError:  # pragma: no cover - digits were checked above
        raise _length_error(number, fmt) from None


def tax_id_label(country: str) -> str:
    """The national name of the tax id: "BIN/IIN", "VOEN", "STIR" or "INN"."""
    return _FORMATS[_member_state(country)].label


def tax_id_length(country: str) -> int:
    """How many digits the state's tax id has, for hints shown beside the field."""
    return _FORMATS[_member_state(country)].length


def example_tax_id(country: str, n: int) -> str:
    """A valid, deterministic id for demo data and tests, distinct for each n in 0..99999.

    The ids are shaped like those of legal entities; n is written into a fixed serial
    field, so distinct n give distinct ids.  They may coincide with real registrations:
    never present them as anyone's id.
    """
    code = _member_state(country)
    if isinstance(n, bool) or not isinstance(n, int) or n not in EXAMPLE_RANGE:
        raise ValueError(f"n must be an integer from 0 to 99999, got {n!r}")
    if code == "KZ":
        # YYMM of registration, 4 = resident legal entity, 0 = head office, serial, check.
        # Try registration months until the first 11 digits admit a check digit.
        for month in range(1, 13):
            first11 = f"24{month:02d}40{n:05d}"
            check = _kz_check_digit(first11)
            if check is not None:
                return validate_tax_id(code, f"{first11}{check}")
    elif code == "AZ":
        # Territorial code, serial, check digit, 1 = legal person.  Try territorial codes
        # until the weighted sum modulo 11 is a single digit.
        for territory in range(14, 100):
            for check in range(10):
                candidate = f"{territory:02d}{n:06d}{check}1"
                if voen.is_valid(candidate):
                    return validate_tax_id(code, candidate)
    else:
        prefix = {"UZ": "20", "KG": "001012020", "TJ": "01", "TM": "10"}[code]
        fmt = _FORMATS[code]
        return validate_tax_id(code, prefix + f"{n:0{fmt.length - len(prefix)}d}")
    raise AssertionError(f"no example {code} tax id for {n}")  # pragma: no cover
