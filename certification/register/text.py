"""The register's searchable text: names folded to plain Latin words, and the terms stored
for each certificate.

Folding makes one spelling of a name out of the several the region writes it in. The same
function folds the stored text and the query, so "Тошкент", "Toshkent" and "TOSHKENT" are
one word, "toshkent"; spellings that remain different ("Ташкент" gives "tashkent") are
left to the typo tolerance of the search (certification/register/search.py).

The Cyrillic table is written here rather than taken from a library: it follows the
official Latin alphabets of the member states (Uzbek 1995, Kazakh 2021) where they agree,
and a general transliteration (anyascii and the like) maps the region's letters
differently (ў, қ, ғ, ҳ, ә, ң, ө, ү, ұ, і, ҷ, ӣ, ӯ). Latin letters with marks fold to the
same words: ş and ç as sh and ch (Turkmen, Azerbaijani), ž as j, ə and ä as a, the Uzbek
apostrophes (oʻ, gʻ) disappear, and "kh" and "zh", the Russian-style spellings, become
x and j as in the Uzbek alphabet.

Pure Python, no Django: bench/search_seed.py builds a million rows' terms with it.
"""

import re
import unicodedata

CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "x", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
    # Uzbek
    "ў": "o", "қ": "q", "ғ": "g", "ҳ": "h",
    # Kazakh, Kyrgyz
    "ә": "a", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
    # Tajik
    "ҷ": "j", "ӣ": "i", "ӯ": "u",
}  # fmt: skip
LATIN = {
    "ş": "sh", "ç": "ch", "ž": "j", "ə": "a", "ä": "a", "ı": "i", "ñ": "n", "ň": "n",
    "ý": "y", "ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l",
}  # fmt: skip
# The apostrophes of Uzbek Latin (oʻ, gʻ, the separating ʼ) and their stand-ins.
APOSTROPHES = "'ʻʼ‘’`´"
_TABLE = str.maketrans({**CYRILLIC, **LATIN, **dict.fromkeys(APOSTROPHES, "")})
_RUSSIAN_STYLE = (("shch", "sh"), ("kh", "x"), ("zh", "j"))
_WORD = re.compile(r"[a-z0-9]+")

# Every term starts with the field it comes from: the product's name ("n"), or the rest
# ("o": the producer's legal and trade names, as certified and as they are now, the HS
# code and its description), a word of the name counting only as a name word.
NAME, OTHER = "n", "o"


def fold(text):
    """Lower-case plain Latin: Cyrillic transliterated, marks and apostrophes dropped."""
    text = (text or "").lower().translate(_TABLE)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    for spelling, folded in _RUSSIAN_STYLE:
        text = text.replace(spelling, folded)
    return text


def words(text):
    """The folded words of a text, each once, in order."""
    return list(dict.fromkeys(_WORD.findall(fold(text))))


def terms(name, others):
    """The stored terms of one certificate: ' nword ... oword ... ' (spaces at both ends, so
    that a LIKE pattern '% nword %' finds a whole term)."""
    name_words = words(name)
    seen = set(name_words)
    other_words = [w for w in words(" ".join(o for o in others if o)) if w not in seen]
    tagged = [NAME + w for w in name_words] + [OTHER + w for w in other_words]
    return " " + " ".join(tagged) + " "


def words_of_terms(stored):
    """The untagged words of stored terms, each once."""
    return sorted({term[1:] for term in stored.split()})


def name_words_of_terms(stored):
    """The untagged words of stored terms that are in the product's name."""
    return sorted({term[1:] for term in stored.split() if term.startswith(NAME)})


def add_counts(counts, stored):
    """Count one entry's stored terms into {word: [entries, names]}: the vocabulary's
    counts (RegisterWord), one entry holding the word, and holding it in its name."""
    names = set(name_words_of_terms(stored))
    for word in words_of_terms(stored):
        count = counts.setdefault(word, [0, 0])
        count[0] += 1
        count[1] += word in names
