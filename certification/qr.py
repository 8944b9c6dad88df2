(
    """QR codes for the certificate: exactly the symbol `segno.make` makes, made faster.

ISO/IEC 18004:2015 section 7.8 has the encoder try all eight data mask patterns and keep
the one whose symbol scores the lowest penalty (7.8.3.1: runs of one colour, 2x2 blocks,
finder-like 1:1:3:1:1 patterns, the share of dark modules). segno does this, and the
placement of the codewords (7.7.3), module by module in pure Python: about 40 ms of a
certificate's ~200 ms render. Here segno's own helpers build the codeword bit stream
(segments, padding, Reed-Solomon blocks); the bits go into the matrix through a placement
order computed once per version (by segno's add_codewords), and the eight masks are
scored with whole-row operations on Python ints and strings, which give every mask the
score segno gives it: the same choice, the same symbol (tests/certification/test_qr.py
compares the two matrix for matrix), in a few milliseconds.

This follows segno's `encoder._encode` step by step; segno is pinned in requirements.txt
and the comparison test catches any change in it.
"""
    ""
)

import functools
import operator
import struct
import zlib

import segno
from segno import consts, encoder

_MASKS = encoder.get_data_mask_functions(is_micro=False)
_FINDER_LIKE = "1011101"
_TO_MODULES = bytes.maketrans(b"01", b"\x00\x01")
_FROM_MODULES = bytes.maketrans(b"\x00\x01", b"01")


@functools.cache
def _layout(version: int):
    """What every symbol of `version` shares, as one int per row (bit width-1-j is column j)
    and per column: the function patterns as segno lays them out before masking (format
    and version areas reserved as light), and each mask pattern within the encoding
    region; plus the placement of the codeword bits as two getters that pick, for every
    module row by row and column by column, its bit of the stream (the stream's last index
    is a light module, for modules outside the region)."""
    width = encoder.calc_matrix_size(version)
    patterns = encoder.make_matrix(width, width)
    encoder.add_finder_patterns(patterns, width, width)
    encoder.add_alignment_patterns(patterns, width, width)
    # The dark module (row -8, column 8) lies in the reserved format area: light while
    # the masks are scored, set with the format information afterwards, as segno does.

    def grid(predicate):
        rows = tuple(
            sum(1 << (width - 1 - j) for j in range(width) if predicate(i, j)) for i in range(width)
        )
        columns = tuple(
            sum(1 << (width - 1 - i) for i in range(width) if predicate(i, j)) for j in range(width)
        )
        return rows, columns

    def in_region(i, j):
        return patterns[i][j] > 0x1

    fixed = grid(lambda i, j: patterns[i][j] == 0x1)
    masks = [grid(lambda i, j, m=mask: in_region(i, j) and m(i, j)) for mask in _MASKS]
    # segno's own placement, run once with each module's index in the stream (offset by 3
    # to tell them from the pattern values 0, 1 and 2).
    size = sum(in_region(i, j) for i in range(width) for j in range(width))
    placed = [list(row) for row in patterns]
    encoder.add_codewords(placed, [index + 3 for index in range(size)], version)
    light = size

    def stream_index(i, j):
        return placed[i][j] - 3 if in_region(i, j) else light

    by_rows = operator.itemgetter(*(stream_index(i, j) for i in range(width) for j in range(width)))
    by_columns = operator.itemgetter(
        *(stream_index(i, j) for j in range(width) for i in range(width))
    )
    return width, size, fixed, masks, by_rows, by_columns


def _finder_like_penalty(text: str) -> int:
    # segno's n3_pattern_occurrences over every row and column at once: `text` holds them
    # as "0"/"1" strings, each with four light modules on either side. That padding stands
    # for segno's test "at the symbol's edge, or light on one side" (the edge counts as
    # light), and no match can span two lines, since the pattern has no "00".
    count = 0
    index = text.find(_FINDER_LIKE)
    while index != -1:
        offset = index + 7
        if "1" not in text[index - 4 : index] or "1" not in text[offset : offset + 4]:
            count += 40
        else:
            offset = index + 4
        index = text.find(_FINDER_LIKE, offset)
    return count


@functools.cache
def _penalty_masks(width: int) -> tuple[int, int]:
    """Bit masks over the rows and columns packed into one int by `penalty`, each line
    behind one separator bit: the pairs of neighbouring modules within a line (N1) and
    the 2x2 blocks with a row above them (N2, over the rows only)."""
    stride = width + 1
    pairs = (1 << (width - 1)) - 1
    in_lines = sum(pairs << (k * stride) for k in range(2 * width))
    below_a_row = sum(pairs << (k * stride) for k in range(width - 1))
    return in_lines, below_a_row


def penalty(rows: list[int], columns: list[int], width: int) -> int:
    """The ISO/IEC 18004:2015 7.8.3.1 penalty (N1 + N2 + N3 + N4) of a masked symbol given
    as one int per row and per column, scoring what segno's mask_scores scores."""
    stride = width + 1
    line = f"0{width}b"
    lines = [format(bits, line) for bits in rows] + [format(bits, line) for bits in columns]
    in_lines, below_a_row = _penalty_masks(width)
    # Every line in one int, lowest bits last, each behind a light separator module.
    packed = int("0".join(lines), 2)
    # N1: 3 points for a run of five modules of one colour, one more per further module,
    # i.e. (run length - 2). A run of L equal modules is L - 1 equal neighbouring pairs;
    # `covered` keeps the pairs in runs of 4 or more of them (runs of 5 or more modules).
    same = ~(packed ^ (packed >> 1)) & in_lines
    starts = same & (same >> 1) & (same >> 2) & (same >> 3)
    covered = starts | (starts << 1) | (starts << 2) | (starts << 3)
    n1 = covered.bit_count() - (covered & ~(covered >> 1)).bit_count()
    # N2: 3 points per 2x2 block of one colour (overlapping blocks count each).
    packed_rows = packed >> (width * stride)
    same_as_above = ~(packed_rows ^ (packed_rows >> stride))
    same_as_next = ~(packed_rows ^ (packed_rows >> 1))
    n2 = 3 * (same_as_above & (same_as_above >> 1) & same_as_next & below_a_row).bit_count()
    # N3: 40 points per 1:1:3:1:1 pattern with four light modules on one side.
    n3 = _finder_like_penalty("0000" + "0000".join(lines) + "0000")
    # N4: 10 points per 5 % the dark share strays from 50 %.
    dark = packed_rows.bit_count()
    n4 = 10 * int(abs(float(dark) / (width**2) * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


def make(data: str, *, error: str) -> segno.QRCode:
    """The QR code (never micro, error level as given, not boosted) that
    `segno.make(data, error=error, boost_error=False, micro=False)` makes."""
    # segno.encoder._encode up to the placement, with segno's helpers.
    error = encoder.normalize_errorlevel(error)
    segments = encoder.prepare_data(data, None, None)
    version = encoder.find_version(segments, error, eci=False, micro=False)
    buffer = encoder.Buffer()
    for segment in segments:
        encoder.write_segment(buffer, segment, None, encoder.version_range(version), False)
    capacity = consts.SYMBOL_CAPACITY[version][error]
    encoder.write_terminator(buffer, capacity, None, len(buffer))
    encoder.write_padding_bits(buffer, version, len(buffer))
    encoder.write_pad_codewords(buffer, version, capacity, len(buffer))
    stream = encoder.make_final_message(version, error, buffer).getbits()

    width, size, (fixed, fixed_t), masks, by_rows, by_columns = _layout(version)
    if len(stream) != size:  # pragma: no cover - segno fills the region exactly
        raise ValueError(f"{len(stream)} bits for {size} modules")
    bits = bytes(stream) + b"\x00"
    # The codewords alone (0 outside the region), one int per row and per column.
    codewords = _ints(bytes(by_rows(bits)), width)
    codewords_t = _ints(bytes(by_columns(bits)), width)
    best = None
    for number, (mask, mask_t) in enumerate(masks):
        rows = [fixed[i] | (codewords[i] ^ mask[i]) for i in range(width)]
        columns = [fixed_t[j] | (codewords_t[j] ^ mask_t[j]) for j in range(width)]
        score = penalty(rows, columns, width)
        if best is None or score < best[0]:  # the first of equal scores wins, as in segno
            best = score, number, rows
    _, mask_number, rows = best
    matrix = tuple(
        bytearray(format(bits, f"0{width}b").encode().translate(_TO_MODULES)) for bits in rows
    )
    encoder.add_format_info(matrix, version, error, mask_number)
    encoder.add_version_info(matrix, version)
    return segno.QRCode(encoder.Code(matrix, version, error, mask_number, segments))


def _ints(modules: bytes, width: int) -> list[int]:
    # Modules (bytes 0/1), line after line, as one int per line.
    text = modules.translate(_FROM_MODULES)
    return [int(text[start : start + width], 2) for start in range(0, len(text), width)]


def png(code: segno.QRCode, *, border: int = 4) -> bytes:
    """The symbol as a 1-bit greyscale PNG at one pixel per module, with a light quiet zone
    of `border` modules: a few row-sized operations instead of segno's pixel loop."""
    width = len(code.matrix)
    size = width + 2 * border
    padding = -size % 8  # each PNG row is whole bytes
    light_row = (1 << size) - 1
    rows = [light_row] * border
    # PNG greyscale: 1 is white, so dark modules (1 in the matrix) are flipped.
    dark_to_zero = (1 << width) - 1
    edge = ((1 << border) - 1) << (width + border) | ((1 << border) - 1)
    rows += [edge | ((_row_int(row) ^ dark_to_zero) << border) for row in code.matrix]
    rows += [light_row] * border
    row_bytes = (size + padding) // 8
    raw = b"".join(b"\x00" + (bits << padding).to_bytes(row_bytes, "big") for bits in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _row_int(row: bytearray) -> int:
    return int(bytes(row).translate(_FROM_MODULES), 2)
