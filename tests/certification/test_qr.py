"""certification/qr.py makes exactly the symbol segno makes (same mask, same modules), only
faster, and writes it as a greyscale PNG with the quiet zone."""

import io
import string

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from certification import qr

# What goes into a verification URL and a token, and the Cyrillic that fills the longest.
ALPHABET = string.ascii_letters + string.digits + "-._~:/?=&%+" + "ЖжҚқӘәҰұӨөІіҒғ"


def segno_make(data, error):
    return segno.make(data, error=error, boost_error=False, micro=False)


@settings(max_examples=150, deadline=None)
@given(data=st.text(alphabet=ALPHABET, min_size=1, max_size=900), error=st.sampled_from("lm"))
def test_same_symbol_as_segno(data, error):
    ours, theirs = qr.make(data, error=error), segno_make(data, error)
    assert (ours.version, ours.error, ours.mask) == (theirs.version, theirs.error, theirs.mask)
    assert ours.matrix == theirs.matrix


@pytest.mark.parametrize(
    "data",
    [
        "a",  # version 1
        "https://registry.example.org/verify/MCA-UZ-2026-000123-97/?t=" + "x" * 420,
        "https://registry.example.org/verify/MCA-KZ-2026-000123-97/?t=" + "Ж" * 300,
        "9" * 2000,  # numeric mode, a high version
    ],
)
@pytest.mark.parametrize("error", ["l", "m"])
def test_same_symbol_as_segno_for_typical_and_extreme_lengths(data, error):
    ours, theirs = qr.make(data, error=error), segno_make(data, error)
    assert (ours.version, ours.mask, ours.matrix) == (theirs.version, theirs.mask, theirs.matrix)


def test_penalty_matches_segnos_mask_scores():
    from segno import encoder

    code = segno_make("https://registry.example.org/verify/MCA-TJ-2026-000001-40/", "m")
    width = len(code.matrix)
    rows = [int("".join(map(str, row)), 2) for row in code.matrix]
    columns = [int("".join(str(row[j]) for row in code.matrix), 2) for j in range(width)]
    assert qr.penalty(rows, columns, width) == sum(encoder.mask_scores(code.matrix, width, width))


def test_png_has_one_pixel_per_module_and_a_light_quiet_zone():
    code = qr.make("https://registry.example.org/verify/MCA-AZ-2026-000007-63/", error="m")
    width = len(code.matrix)
    with Image.open(io.BytesIO(qr.png(code, border=4))) as image:
        assert image.mode == "L"
        assert image.size == (width + 8, width + 8)
        pixels = image.load()
        for y in range(width + 8):
            for x in range(width + 8):
                inside = 4 <= x < width + 4 and 4 <= y < width + 4
                dark = inside and code.matrix[y - 4][x - 4] == 1
                assert pixels[x, y] == (0 if dark else 255), (x, y)


@settings(max_examples=100, deadline=None)
@given(data=st.text(alphabet=ALPHABET, min_size=1, max_size=900), error=st.sampled_from("lm"))
def test_final_message_is_segnos(data, error):
    # The codewords with their Reed-Solomon error correction, interleaved (ISO/IEC
    # 18004:2015 7.5.2, 7.6), against segno's make_final_message for the same buffer.
    from segno import encoder

    level = encoder.normalize_errorlevel(error)
    _, version, buffer = qr.data_bits(data, level)
    theirs = bytes(encoder.make_final_message(version, level, buffer).getbits())

    ours = qr.final_message(qr._to_bytes(buffer.getbits()), version, level)
    assert qr._to_bits(ours) == theirs[: 8 * len(ours)]
    assert not any(theirs[8 * len(ours) :])  # segno's remainder bits, all light


# Rows made of finder-like patterns and their pieces, so that patterns overlap (at 4 and
# 6 modules) and chain, as they rarely do in a real symbol.
PIECES = st.sampled_from(["1011101", "1011101", "0000", "0", "1", "101", "1101"])


@settings(max_examples=300, deadline=None)
@given(width=st.integers(min_value=7, max_value=41), data=st.data())
def test_finder_like_penalty_is_segnos_n3(width, data):
    from segno import encoder

    rows = []
    for _ in range(width):
        line = "".join(data.draw(st.lists(PIECES, min_size=width, max_size=width)))[:width]
        rows.append(line.ljust(width, "0"))
    matrix = [bytearray(int(module) for module in row) for row in rows]
    columns = ["".join(row[j] for row in rows) for j in range(width)]
    packed = qr._pack([int(row, 2) for row in rows], [int(column, 2) for column in columns], width)
    assert qr._finder_like_penalty(packed) == encoder.mask_scores(matrix, width, width)[2]


@settings(max_examples=150, deadline=None)
@given(data=st.text(alphabet=ALPHABET + "9", min_size=1, max_size=900))
def test_segments_are_segnos(data):
    from segno import encoder

    ours, theirs = qr._segments(data), encoder.prepare_data(data, None, None)
    assert list(ours) == list(theirs)
    assert (ours.bit_length, ours.modes) == (theirs.bit_length, theirs.modes)
