"""Tax ids of the six member states (registry/taxids.py).  No database needed."""

import pytest
from django.core.exceptions import ValidationError

from registry.taxids import (
    MEMBER_STATES,
    example_tax_id,
    normalise_tax_id,
    tax_id_label,
    validate_tax_id,
)

# Kazakhstan BINs published online, collected in python-stdnum's tests/test_kz_bin.doctest
# (development branch).  Those marked "second pass" have a first weighted sum of 10 modulo
# 11, so their check digit comes from the second weights 3..11, 1, 2.
KZ_PUBLISHED_BINS = [
    "940140000385",
    "171140900016",
    "011140004703",
    "981240000488",
    "100240019642",
    "210740028187",
    "140840008587",
    "990140004654",
    "960240007379",  # second pass
    "011140001654",  # second pass
    "120940010470",  # second pass
]
KZ_SECOND_PASS = ["960240007379", "011140001654", "120940010470"]

# python-stdnum's documented example of a valid VOEN (stdnum/az/voen.py docstring).
AZ_STDNUM_VOEN = "140 155 5071"


def _kz_remainders(number):
    digits = [int(c) for c in number[:11]]
    first = sum(w * d for w, d in zip(range(1, 12), digits, strict=True)) % 11
    second = sum(w * d for w, d in zip((3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), digits, strict=True))
    return first, second % 11


def _error(country, value):
    with pytest.raises(ValidationError) as info:
        validate_tax_id(country, value)
    assert info.value.code == "invalid_tax_id"
    (message,) = info.value.messages
    return message


# --- valid ids -------------------------------------------------------------------------


@pytest.mark.parametrize("bin_", KZ_PUBLISHED_BINS)
def test_kz_published_bins_are_valid(bin_):
    assert validate_tax_id("KZ", bin_) == bin_


@pytest.mark.parametrize("bin_", KZ_SECOND_PASS)
def test_kz_second_pass_check_digit(bin_):
    first, second = _kz_remainders(bin_)
    assert first == 10
    assert second == int(bin_[-1])
    assert validate_tax_id("KZ", bin_) == bin_
    # With a wrong check digit the second pass still catches it.
    wrong = bin_[:-1] + str((int(bin_[-1]) + 1) % 10)
    assert "check digit" in _error("KZ", wrong)


def test_kz_published_iin_example_uses_second_pass():
    # IIN given as example in the kz-iin-validator README.
    assert _kz_remainders("061211600012") == (10, 2)
    assert validate_tax_id("KZ", "061211600012") == "061211600012"


def test_kz_number_without_any_check_digit_is_refused():
    # The first 11 digits of a number whose two weighted sums are both 10 modulo 11.
    first11 = next(f"{i:011d}" for i in range(10**6) if _kz_remainders(f"{i:011d}0") == (10, 10))
    for last in "0123456789":
        message = _error("KZ", first11 + last)
        assert "not a valid BIN/IIN" in message


def test_az_voen_from_stdnum_docs():
    assert validate_tax_id("AZ", AZ_STDNUM_VOEN) == "1401555071"


def test_az_voen_with_lost_leading_zero_gets_it_back():
    candidate = next(
        v
        for v in (f"0{i:07d}{c}1" for i in range(1000) for c in "0123456789")
        if _is_valid("AZ", v)
    )
    assert validate_tax_id("AZ", candidate[1:]) == candidate


def _is_valid(country, value):
    try:
        validate_tax_id(country, value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("country", "value"),
    [
        ("UZ", "201122345"),
        ("UZ", "305 123 456"),
        ("KG", "01409200310166"),
        ("KG", "22010199012345"),
        ("TJ", "020025789"),  # example of org-id.guide's TJ-TIN list
        ("TM", "101401000218"),
    ],
)
def test_format_only_states_accept_right_length(country, value):
    assert validate_tax_id(country, value) == value.replace(" ", "")


# --- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "value", "message"),
    [
        ("KZ", "94014000038", "A Kazakhstan BIN/IIN has 12 digits; this one has 11."),
        ("KZ", "9401400003851", "A Kazakhstan BIN/IIN has 12 digits; this one has 13."),
        ("AZ", "14015550", "An Azerbaijan VOEN has 10 digits; this one has 8."),
        ("AZ", "14015550711", "An Azerbaijan VOEN has 10 digits; this one has 11."),
        ("UZ", "20112234", "An Uzbekistan STIR has 9 digits; this one has 8."),
        ("KG", "0140920031016", "A Kyrgyzstan INN has 14 digits; this one has 13."),
        ("TJ", "0200257891", "A Tajikistan INN has 9 digits; this one has 10."),
        ("TM", "10140100021", "A Turkmenistan INN has 12 digits; this one has 11."),
    ],
)
def test_wrong_length(country, value, message):
    assert _error(country, value) == message


@pytest.mark.parametrize(
    ("country", "value", "length"),
    [
        ("KZ", "94O140000385", 12),  # letter O for a zero
        ("AZ", "140155507I", 10),
        ("UZ", "20112234A", 9),
        ("KG", "KG409200310166", 14),
        ("TJ", "02002578/", 9),
        ("TM", "1014010002l8", 12),
    ],
)
def test_letters_and_signs_are_named(country, value, length):
    message = _error(country, value)
    assert f"has {length} digits and no letters or other signs" in message
    bad = next(c for c in value if not c.isdigit())
    assert f"“{bad.upper()}”" in message


def test_kz_mistyped_check_digit():
    assert _error("KZ", "940140000386") == (
        "The check digit of this BIN/IIN is wrong: check for a mistyped digit."
    )


def test_kz_swapped_digits():
    assert "check digit" in _error("KZ", "490140000385")


def test_az_mistyped_check_digit():
    assert _error("AZ", "140 155 5081") == (
        "The check digit of this VOEN is wrong: check for a mistyped digit."
    )


def test_az_last_digit_is_taxpayer_kind():
    message = _error("AZ", "1400057424")
    assert "1 (organisation) or 2 (individual)" in message
    assert message.endswith("ends in 4.")


@pytest.mark.parametrize("value", ["", "   ", " - . ", None])
def test_empty(value):
    assert _error("KZ", value) == "Enter the BIN/IIN (12 digits)."


@pytest.mark.parametrize("country", ["RU", "", None, "Kazakhstan"])
def test_unknown_country(country):
    message = _error(country, "940140000385")
    assert "UZ, KZ, KG, TJ, TM, AZ" in message
    with pytest.raises(ValidationError):
        tax_id_label(country)
    with pytest.raises(ValidationError):
        example_tax_id(country, 1)
    with pytest.raises(ValidationError):
        normalise_tax_id(country, "1")


# --- normalisation ---------------------------------------------------------------------

FULL_WIDTH_BIN = "".join(chr(ord(c) - ord("0") + ord("\uff10")) for c in "940140000385")


@pytest.mark.parametrize(
    ("country", "value", "expected"),
    [
        ("KZ", " 940 140 000 385 ", "940140000385"),
        ("KZ", "940-140-000-385", "940140000385"),
        ("KZ", "940.140.000.385", "940140000385"),
        ("KZ", "940\u00a0140\u2013000\u2014385\t", "940140000385"),  # no-break space, dashes
        ("KZ", FULL_WIDTH_BIN, "940140000385"),
        ("UZ", "201-122-345", "201122345"),
        ("AZ", "140 155 5071", "1401555071"),
        ("TM", "94o1", "94O1"),  # other characters are kept, for the validator to name
    ],
)
def test_normalise(country, value, expected):
    assert normalise_tax_id(country, value) == expected


def test_validate_normalises():
    assert validate_tax_id("kz", " 940-140.000 385") == "940140000385"
    assert validate_tax_id(" uz ", "201 122 345") == "201122345"


# --- labels and examples ---------------------------------------------------------------


def test_labels():
    assert {c: tax_id_label(c) for c in MEMBER_STATES} == {
        "UZ": "STIR",
        "KZ": "BIN/IIN",
        "KG": "INN",
        "TJ": "INN",
        "TM": "INN",
        "AZ": "VOEN",
    }


def test_member_states():
    assert MEMBER_STATES == ("UZ", "KZ", "KG", "TJ", "TM", "AZ")


@pytest.mark.parametrize("country", MEMBER_STATES)
def test_examples_valid_distinct_and_deterministic(country):
    ns = [*range(0, 2000), *range(2000, 100_000, 97), 99_999]
    examples = [example_tax_id(country, n) for n in ns]
    assert len(set(examples)) == len(examples)
    for example in examples:
        assert validate_tax_id(country, example) == example
    assert example_tax_id(country, 1234) == example_tax_id(country, 1234)


def test_kz_examples_when_first_month_admits_no_check_digit():
    # For some serials "2401 4 0 serial" has no check digit: another month is used.
    fallback = [n for n in range(100_000) if _kz_remainders(f"240140{n:05d}0") == (10, 10)]
    assert fallback
    examples = [example_tax_id("KZ", n) for n in fallback]
    assert all(not e.startswith("2401") for e in examples)
    assert all(validate_tax_id("KZ", e) == e for e in examples)
    assert len(set(examples)) == len(examples)


def test_az_examples_when_first_territory_admits_no_check_digit():
    # VOEN weights 4, 1, 8, 6, 2, 7, 5, 3 (stdnum.az.voen); a sum of 10 modulo 11 has no
    # check digit, and the example moves to another territorial code.
    weights = (4, 1, 8, 6, 2, 7, 5, 3)
    fallback = [
        n
        for n in range(0, 100_000, 13)
        if sum(w * int(d) for w, d in zip(weights, f"14{n:06d}", strict=True)) % 11 == 10
    ]
    assert fallback
    examples = [example_tax_id("AZ", n) for n in fallback]
    assert all(not e.startswith("14") for e in examples)
    assert all(validate_tax_id("AZ", e) == e for e in examples)
    assert len(set(examples)) == len(examples)


@pytest.mark.parametrize("n", [-1, 100_000, 1.5, "3", True])
def test_example_n_out_of_range(n):
    with pytest.raises(ValueError):
        example_tax_id("KZ", n)
