import pytest

from certification.core.numbering import (
    MEMBER_STATES,
    CertificateNumber,
    InvalidNumber,
    check_digits,
    format_number,
    parse_number,
)

SAMPLES = [
    ("UZ", 2026, 123),
    ("KZ", 2026, 1),
    ("KG", 2027, 999_999),
    ("TJ", 2031, 40_817),
    ("TM", 2999, 500_500),
    ("AZ", 2026, 73_921),
]


def _mod97(text: str) -> int:
    mapped = "".join(str(int(c, 36)) if c.isalpha() else c for c in text.replace("-", ""))
    return int(mapped) % 97


def test_design_example_is_valid():
    number = parse_number("MCA-UZ-2026-000123-97")

    assert number == CertificateNumber("UZ", 2026, 123)
    assert check_digits("UZ", 2026, 123) == "97"
    assert format_number("UZ", 2026, 123) == "MCA-UZ-2026-000123-97"
    # ISO 7064 MOD 97-10: the whole number, letters mapped as in IBAN, leaves remainder 1.
    assert _mod97("MCA-UZ-2026-000123-97") == 1


@pytest.mark.parametrize("country", MEMBER_STATES)
@pytest.mark.parametrize("year, sequence", [(2026, 1), (2026, 123), (2040, 999_999)])
def test_round_trip_for_every_member_state(country, year, sequence):
    text = format_number(country, year, sequence)

    assert text.startswith(f"MCA-{country}-{year}-{sequence:06d}-")
    assert _mod97(text) == 1
    assert parse_number(text) == CertificateNumber(country, year, sequence)
    assert str(parse_number(text)) == text


def test_check_digits_are_zero_padded():
    # Find a number whose check digits are below 10 and make sure they keep two digits.
    sequence = next(s for s in range(1, 1000) if int(check_digits("UZ", 2026, s)) < 10)

    digits = check_digits("UZ", 2026, sequence)

    assert len(digits) == 2 and digits.startswith("0")
    assert format_number("UZ", 2026, sequence).endswith(f"-{digits}")


@pytest.mark.parametrize(
    "text",
    ["mca-uz-2026-000123-97", "  MCA-UZ-2026-000123-97\n", "\tMca-Uz-2026-000123-97 "],
)
def test_lower_case_and_surrounding_spaces_are_accepted(text):
    assert str(parse_number(text)) == "MCA-UZ-2026-000123-97"


@pytest.mark.parametrize(
    "text, reason, words",
    [
        ("", "empty", "empty"),
        ("   ", "empty", "empty"),
        (None, "empty", "empty"),
        ("MCA-UZ-2026-123-97", "shape", "MCA-UZ-2026-000123-97"),
        ("MCAUZ202600012397", "shape", "hyphens"),
        ("MCA-UZ-2026-000123-97-1", "shape", "six-digit sequence"),
        ("MCA-UZ-26-000123-97", "shape", "year of issue"),
        ("XYZ-UZ-2026-000123-97", "shape", "MCA"),
        ("MCA-UZ-2026-000 123-97", "shape", "check digits"),
        ("MCA-UZ-2026-00012٣-97", "shape", "shape"),  # an Arabic-Indic digit
        ("MCA–UZ–2026–000123–97", "shape", "shape"),  # en dashes
        ("MCA-RU-2026-000123-97", "member_state", "RU is not a member state"),
        ("MCA-US-2026-000123-97", "member_state", "UZ, KZ, KG, TJ, TM, AZ"),
        ("MCA-UZ-2025-000123-97", "year", "2025 is implausible"),
        ("MCA-UZ-3000-000123-97", "year", "3000 is implausible"),
        ("MCA-UZ-2026-000000-97", "sequence", "000000"),
        ("MCA-UZ-2026-000123-98", "check_digits", "probably mistyped"),
        ("MCA-UZ-2026-000124-97", "check_digits", "check digits do not match"),
    ],
)
def test_refusals_say_why(text, reason, words):
    with pytest.raises(InvalidNumber) as caught:
        parse_number(text)

    assert caught.value.reason == reason
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_check_digit_aliases_are_refused():
    # int(mapped + KK) mod 97 == 1 also holds for KK + 97 or KK - 97 (00 for 97, 99 for 02):
    # only the canonical digits are accepted, so a certificate has one spelling.
    assert _mod97("MCA-UZ-2026-000123-00") == 1

    with pytest.raises(InvalidNumber) as caught:
        parse_number("MCA-UZ-2026-000123-00")

    assert caught.value.reason == "check_digits"


@pytest.mark.parametrize(
    "parts",
    [("RU", 2026, 1), ("uz", 2026, 1), ("UZ", 2025, 1), ("UZ", 2026, 0), ("UZ", 2026, 10**6)],
)
def test_impossible_parts_cannot_be_formatted(parts):
    with pytest.raises(InvalidNumber):
        format_number(*parts)
    with pytest.raises(InvalidNumber):
        CertificateNumber(*parts)


def _single_digit_typos(text: str):
    for index, char in enumerate(text):
        if char.isdigit():
            for digit in "0123456789":
                if digit != char:
                    yield text[:index] + digit + text[index + 1 :]


def _adjacent_transpositions(text: str):
    for index in range(len(text) - 1):
        first, second = text[index], text[index + 1]
        if first.isdigit() and second.isdigit() and first != second:
            yield text[:index] + second + first + text[index + 2 :]


@pytest.mark.parametrize("parts", SAMPLES)
def test_every_single_digit_typo_is_caught(parts):
    text = format_number(*parts)
    typos = list(_single_digit_typos(text))
    assert len(typos) == 12 * 9  # 4 year, 6 sequence and 2 check digits, 9 wrong values each

    for typo in typos:
        with pytest.raises(InvalidNumber):
            parse_number(typo)


@pytest.mark.parametrize("parts", SAMPLES)
def test_a_typo_in_the_sequence_is_caught_by_the_check_digits(parts):
    text = format_number(*parts)
    sequence_start, sequence_end = 12, 18
    typos = [
        text[:sequence_start] + body + text[sequence_end:]
        for body in _single_digit_typos(text[sequence_start:sequence_end])
        if body != "000000"  # refused earlier, as a sequence that is never issued
    ]
    assert len(typos) >= 6 * 9 - 1

    for typo in typos:
        with pytest.raises(InvalidNumber) as caught:
            parse_number(typo)
        assert caught.value.reason == "check_digits", typo


@pytest.mark.parametrize("parts", SAMPLES)
def test_every_adjacent_transposition_in_the_sequence_is_caught(parts):
    text = format_number(*parts)
    sequence_start, sequence_end = 12, 18
    assert text[sequence_start:sequence_end] == f"{parts[2]:06d}"

    swapped = [
        text[:sequence_start] + body + text[sequence_end:]
        for body in _adjacent_transpositions(text[sequence_start:sequence_end])
    ]
    assert swapped or len(set(text[sequence_start:sequence_end])) == 1

    for mistyped in swapped:
        with pytest.raises(InvalidNumber) as caught:
            parse_number(mistyped)
        assert caught.value.reason == "check_digits", mistyped


def test_transpositions_across_the_whole_number_are_caught():
    for parts in SAMPLES:
        text = format_number(*parts)
        for mistyped in _adjacent_transpositions(text):
            with pytest.raises(InvalidNumber):
                parse_number(mistyped)
