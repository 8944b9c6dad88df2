"""bench/verify.py measures the real lookup against a floor that must do the same work."""

from bench.verify_floor import FLOOR_SQL
from bench.verify_seed import STATES, YEAR, certificate_number
from certification.core.numbering import format_number, parse_number
from certification.verification.lookup import _ONE


def test_floor_runs_the_same_query_as_verification():
    assert " ".join(FLOOR_SQL.split()) == " ".join(_ONE.split())


def test_bench_numbers_are_valid_and_gap_free_per_state():
    seen = {cc: [] for cc in STATES}
    for index in range(1, 1201):
        number, cc, sequence = certificate_number(index)
        assert number == format_number(cc, YEAR, sequence)
        assert str(parse_number(number)) == number
        seen[cc].append(sequence)
    for sequences in seen.values():
        assert sequences == list(range(1, len(sequences) + 1))
