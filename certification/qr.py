(
    """QR codes for the certificate: exactly the symbol `segno.make` makes, made faster.

ISO/IEC 18004:2015 section 7.8 has the encoder try all eight data mask patterns and keep
the one whose symbol scores the lowest penalty (7.8.3.1: runs of one colour, 2x2 blocks,
finder-like 1:1:3:1:1 patterns, the share of dark modules). segno does this, and the
placement of the codewords (7.7.3), module by module in pure Python: about 40 ms of a
certificate's ~200 ms render. Here segno's own helpers build the data bit stream
(segments, terminator, padding), a byte-mode segment's bits made at once rather than bit
by bit; the Reed-Solomon error correction (7.5.2) divides with a table per generator
polynomial, a whole codeword per step, where segno multiplies term by term; the bits go
into the matrix through a placement order computed once per version (by segno's
add_codewords), and the eight masks are scored with whole-symbol bit operations on one
Python int (every row and column packed into it), which give every mask the score segno
gives it: the same choice, the same symbol (tests/certification/test_qr.py compares the
two matrix for matrix, and each step with segno's), in under a millisecond.

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
_TO_MODULES = bytes.maketrans(b"01", b"\x00\x01")
_FROM_MODULES = bytes.maketrans(b"\x00\x01", b"01")
_TO_GREY = bytes.maketrans(b"\x00\x01", b"\xff\x00")  # dark modules black


# The rows and then the columns of a symbol, as "0"/"1" lines, each behind four light
# modules and the last followed by four more: one text, and one int of the same bits. The
# scoring of a mask reads every line of both directions at once from it.
_GAP = 4


def _pack(rows, columns, width: int) -> int:
    """Rows and columns given as one int per line (bit width-1-j is module j) as the
    packed int: line k from the top (rows first) at text offset _GAP + k * (width + _GAP)."""
    line = f"0{width}b"
    gap = "0" * _GAP
    return int(gap.join(format(bits, line) for bits in (*rows, *columns)) + gap, 2)


def _packed_text(packed: int, width: int) -> str:
    return format(packed, f"0{_GAP + 2 * width * (width + _GAP)}b")


@functools.cache
def _layout(version: int):
    """What every symbol of `version` shares, packed (see _pack): the function patterns as
    segno lays them out before masking (format and version areas reserved as light), and
    each mask pattern within the encoding region; plus the placement of the codeword bits
    as a getter that picks, for every position of the packed text, its bit of the stream
    (the stream's last index is a light module, for the gaps and for modules outside the
    region)."""
    width = encoder.calc_matrix_size(version)
    patterns = encoder.make_matrix(width, width)
    encoder.add_finder_patterns(patterns, width, width)
    encoder.add_alignment_patterns(patterns, width, width)
    # The dark module (row -8, column 8) lies in the reserved format area: light while
    # the masks are scored, set with the format information afterwards, as segno does.

    def packed(predicate):
        rows = [
            sum(1 << (width - 1 - j) for j in range(width) if predicate(i, j)) for i in range(width)
        ]
        columns = [
            sum(1 << (width - 1 - i) for i in range(width) if predicate(i, j)) for j in range(width)
        ]
        return _pack(rows, columns, width)

    def in_region(i, j):
        return patterns[i][j] > 0x1

    fixed = packed(lambda i, j: patterns[i][j] == 0x1)
    masks = [packed(lambda i, j, m=mask: in_region(i, j) and m(i, j)) for mask in _MASKS]
    # segno's own placement, run once with each module's index in the stream (offset by 3
    # to tell them from the pattern values 0, 1 and 2).
    size = sum(in_region(i, j) for i in range(width) for j in range(width))
    placed = [list(row) for row in patterns]
    encoder.add_codewords(placed, [index + 3 for index in range(size)], version)
    light = size

    def stream_index(i, j):
        return placed[i][j] - 3 if in_region(i, j) else light

    gap = [light] * _GAP
    order = list(gap)
    for i in range(width):
        order += [stream_index(i, j) for j in range(width)] + gap
    for j in range(width):
        order += [stream_index(i, j) for i in range(width)] + gap
    return width, size, fixed, masks, operator.itemgetter(*order)


def _finder_like_penalty(packed: int) -> int:
    """segno's n3_pattern_occurrences over every row and column at once, on the packed int
    (see _pack): 40 points per 1:1:3:1:1 pattern (1011101) with four light modules before
    or after it. The gaps of four light modules between the lines stand for segno's test
    "at the symbol's edge, or light on one side" (the edge counts as light), and no
    pattern spans two lines, since it has no "00". The pattern reads the same both ways,
    so bit order does not matter."""
    p = packed
    found = p & ~(p >> 1) & (p >> 2) & (p >> 3) & (p >> 4) & ~(p >> 5) & (p >> 6)
    light_after = ~((p << 1) | (p << 2) | (p << 3) | (p << 4))
    light_before = ~((p >> 7) | (p >> 8) | (p >> 9) | (p >> 10))
    counted = found & (light_before | light_after)
    # segno scans each line from its start and, after a pattern it counts, goes on 7
    # modules later: a pattern overlapping a counted one (4 or 6 modules on, the only
    # overlaps 1011101 has) is not looked at. Such chains are rare; they are walked
    # in order, every other pattern is counted at once.
    chained = found & ((found << 4) | (found << 6) | (found >> 4) | (found >> 6))
    count = (counted & ~chained).bit_count()
    last_counted = None  # the bit of the last pattern counted in the chain walked
    while chained:
        bit = chained.bit_length() - 1  # in the order of the text: highest bit first
        chained ^= 1 << bit
        if last_counted is not None and last_counted - bit < 7:
            continue
        if counted >> bit & 1:
            count += 1
            last_counted = bit
    return 40 * count


@functools.cache
def _penalty_masks(width: int) -> tuple[int, int]:
    """Bit masks over the packed int (see _pack): the pairs of neighbouring modules within
    a line (N1), and those of a row with a row above it (N2, over the rows only, shifted
    down past the columns)."""
    stride = width + _GAP
    pairs = (1 << (width - 1)) - 1
    in_lines = sum(pairs << (k * stride + _GAP) for k in range(2 * width))
    below_a_row = sum(pairs << (k * stride + _GAP) for k in range(width - 1))
    return in_lines, below_a_row


def penalty(rows: list[int], columns: list[int], width: int) -> int:
    """The ISO/IEC 18004:2015 7.8.3.1 penalty (N1 + N2 + N3 + N4) of a masked symbol given
    as one int per row and per column, scoring what segno's mask_scores scores."""
    return _penalty(_pack(rows, columns, width), width)


def _penalty(packed: int, width: int) -> int:
    stride = width + _GAP
    in_lines, below_a_row = _penalty_masks(width)
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
    n3 = _finder_like_penalty(packed)
    # N4: 10 points per 5 % the dark share strays from 50 %.
    dark = packed_rows.bit_count()
    n4 = 10 * int(abs(float(dark) / (width**2) * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


def make(data: str, *, error: str) -> segno.QRCode:
    """The QR code (never micro, error level as given, not boosted) that
    `segno.make(data, error=error, boost_error=False, micro=False)` makes."""
    error = encoder.normalize_errorlevel(error)
    segments, version, buffer = data_bits(data, error)
    message = final_message(_to_bytes(buffer.getbits()), version, error)

    width, size, fixed, masks, placement = _layout(version)
    # The stream fills the region; the 0, 3, 4 or 7 bits left over are light (7.6).
    if not 0 <= size - 8 * len(message) < 8:  # pragma: no cover - segno's capacities
        raise ValueError(f"{len(message)} codewords for {size} modules")
    bits = _to_bits(message).ljust(size + 1, b"\x00")
    # The codewords alone (light outside the region), packed.
    codewords = int(bytes(placement(bits)).translate(_FROM_MODULES), 2)
    best = None
    for number, mask in enumerate(masks):
        masked = fixed | (codewords ^ mask)
        score = _penalty(masked, width)
        if best is None or score < best[0]:  # the first of equal scores wins, as in segno
            best = score, number, masked
    _, mask_number, masked = best
    text = _packed_text(masked, width).encode()
    stride = width + _GAP
    matrix = tuple(
        bytearray(text[offset : offset + width].translate(_TO_MODULES))
        for offset in range(_GAP, _GAP + width * stride, stride)
    )
    encoder.add_format_info(matrix, version, error, mask_number)
    encoder.add_version_info(matrix, version)
    return segno.QRCode(encoder.Code(matrix, version, error, mask_number, segments))


def data_bits(data: str, error: int) -> tuple[list, int, encoder.Buffer]:
    """segno.encoder._encode up to the error correction, with segno's helpers: the
    segments, the version and the data bit stream (one byte 0/1 per bit)."""
    segments = _segments(data)
    version = encoder.find_version(segments, error, eci=False, micro=False)
    buffer = encoder.Buffer()
    for segment in segments:
        encoder.write_segment(buffer, segment, None, encoder.version_range(version), False)
    capacity = consts.SYMBOL_CAPACITY[version][error]
    encoder.write_terminator(buffer, capacity, None, len(buffer))
    encoder.write_padding_bits(buffer, version, len(buffer))
    encoder.write_pad_codewords(buffer, version, capacity, len(buffer))
    return segments, version, buffer


def _segments(data: str) -> encoder.Segments:
    """What `segno.encoder.prepare_data(data, None, None)` makes, with the bits of a byte
    mode segment (any URL with a lower-case letter) made at once instead of bit by bit."""
    data_bytes, length, encoding = encoder.data_to_bytes(data, None)
    if encoder.find_mode(data_bytes) != consts.MODE_BYTE:
        return encoder.prepare_data(data, None, None)
    bits = bytearray(_to_bits(data_bytes))
    segments = encoder.Segments()
    segments.add_segment(encoder._Segment(bits, length, consts.MODE_BYTE, encoding))
    return segments


def final_message(data: bytes, version: int, error: int) -> bytes:
    """The data codewords split into blocks, each block's Reed-Solomon error correction
    codewords, and both interleaved (ISO/IEC 18004:2015 7.5.2 and 7.6): what segno's
    make_final_message gives, as bytes, without segno's bit-by-bit loops."""
    blocks, corrections = [], []
    start = 0
    for info in consts.ECC[version][error]:
        table = _division_table(info.num_total - info.num_data)
        for _ in range(info.num_blocks):
            block = data[start : start + info.num_data]
            start += info.num_data
            blocks.append(block)
            corrections.append(_remainder(block, info.num_total - info.num_data, table))
    # segno pads data that ends on a codeword boundary with a whole zero codeword, which
    # runs past the capacity when the data fills it: the blocks ignore it, as segno's do.
    if start > len(data):  # pragma: no cover - the buffer is padded to the capacity
        raise ValueError(f"{len(data)} data codewords, {start} expected")
    # Codeword i of every block in turn; the blocks of the second group are one longer.
    longest = max(map(len, blocks))
    data_part = bytes(block[i] for i in range(longest) for block in blocks if i < len(block))
    corrections_part = b"".join(bytes(column) for column in zip(*corrections, strict=True))
    return data_part + corrections_part


@functools.cache
def _division_table(degree: int) -> tuple[int, ...]:
    """For each value c of the leading coefficient, c times the generator polynomial of
    `degree` (ISO/IEC 18004:2015 Annex A, in GF(256) by x^8+x^4+x^3+x^2+1) without its
    leading term, as one int of `degree` bytes: one step of the polynomial division."""
    log, exp = consts.GALIOS_LOG, consts.GALIOS_EXP
    generator = consts.GEN_POLY[degree]  # the logarithms of the coefficients
    return (0,) + tuple(
        int.from_bytes(bytes(exp[log[c] + g] for g in generator), "big") for c in range(1, 256)
    )


def _remainder(block: bytes, degree: int, table: tuple[int, ...]) -> bytes:
    # The error correction codewords: the block times x^degree modulo the generator, the
    # remainder kept as one int and shifted a codeword at a time (a Reed-Solomon LFSR).
    remainder, top, mask = 0, 8 * (degree - 1), (1 << 8 * degree) - 1
    for codeword in block:
        remainder = ((remainder << 8) & mask) ^ table[(remainder >> top) ^ codeword]
    return remainder.to_bytes(degree, "big")


def _to_bytes(bits: bytearray) -> bytes:
    # A bit buffer (one byte 0/1 per bit) as codewords, the last one filled up with zero
    # bits as segno's Buffer.toints does.
    bits = bytes(bits).translate(_FROM_MODULES).ljust(-(-len(bits) // 8) * 8, b"0")
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _to_bits(codewords: bytes) -> bytes:
    # Codewords as one byte 0/1 per bit, most significant bit first.
    return (
        format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b")
        .encode()
        .translate(_TO_MODULES)
    )


def png(code: segno.QRCode, *, border: int = 4) -> bytes:
    """The symbol as an 8-bit greyscale PNG at one pixel per module (black on white), with
    a light quiet zone of `border` modules. 8 bits rather than 1: WeasyPrint turns any
    other PNG mode into RGB before writing it into the PDF, three times the data to
    convert and compress again; a greyscale image goes in as it is."""
    size = len(code.matrix) + 2 * border
    quiet_row = b"\x00" + b"\xff" * size  # each row behind its filter type byte, 0: none
    quiet_edge = b"\xff" * border
    rows = [quiet_row] * border
    rows += [
        b"\x00" + quiet_edge + bytes(row).translate(_TO_GREY) + quiet_edge for row in code.matrix
    ]
    rows += [quiet_row] * border

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8 bits, greyscale
    # The fastest deflate: WeasyPrint decodes the image and compresses it again for the
    # PDF, where the default level spends half a millisecond on a file no one keeps.
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 1))
        + chunk(b"IEND", b"")
    )
