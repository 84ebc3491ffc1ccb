"""Comparable forms of catalogue text: the same title, name or edition statement written
by two cataloguers (case, accents, punctuation, "2nd ed." / "Second edition") folds to
one key."""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Entries kept per cache: the distinct values of several searches' results (a few MB).
_CACHED = 1 << 15
# ASCII text (most catalogue text) folds in one pass over bytes: punctuation to spaces,
# capitals to small letters; several times quicker than str.translate.
_ASCII_FOLD = bytes.maketrans(
    (string.punctuation + string.ascii_uppercase).encode(),
    (" " * len(string.punctuation) + string.ascii_lowercase).encode(),
)
_NON_WORD = re.compile(r"[\W_]+")

# One leading article is dropped, in English, French, German, Spanish and Italian ("l" and
# "un" are what "l'" and "un'" become once the apostrophe is gone).
_ARTICLES = _set(
    "the a an le la les l un une der die das den dem des ein eine einen el los las una "
    "il lo i gli uno"
)

_ORDINALS = {
    word: number
    for number, words in enumerate(
        (
            "first premiere premier erste primera primero prima primo",
            "second deuxieme seconde zweite segunda segundo seconda secondo",
            "third troisieme dritte tercera tercero terza terzo",
            "fourth quatrieme vierte cuarta cuarto quarta quarto",
            "fifth cinquieme funfte quinta quinto",
            "sixth sixieme sechste sexta sexto sesta sesto",
            "seventh septieme siebte septima septimo settima settimo",
            "eighth huitieme achte octava octavo ottava ottavo",
            "ninth neuvieme neunte novena noveno nona nono",
            "tenth dixieme zehnte decima decimo",
        ),
        start=1,
    )
    for word in words.split()
}
# What follows the digits of a numbered edition: "2nd", "2d" (LC), "2e" (French), "2a".
_ORDINAL_SUFFIXES = _set("st nd rd th d e er re eme a o te") | {""}
# Words that say "edition" rather than which one, and abbreviations spelled out.
_EDITION_NOISE = _set("ed edn eds edition editions aufl auflage and et und y e")
_EDITION_WORDS = {"rev": "revised", "enl": "enlarged", "corr": "corrected", "augm": "augmented"}

# Words in publishers' names that do not tell one publisher from another.
_PUBLISHER_NOISE = _set(
    "the and of pub publ publisher publishers publishing publications publication press co "
    "company inc incorporated ltd limited llc plc corp corporation house books book sons "
    "brothers bros verlag editions edition editorial editore editrice cie group media "
    "printers printing print"
)
# How cataloguers start life dates: "b. 1950", "d. 1066", "fl. 1200", "ca. 1400".
_DATE_WORDS = _set("b d fl ca approximately active born died")
_UNKNOWN_LANGUAGES = frozenset(("", "und", "mul", "zxx", "mis"))


@lru_cache(maxsize=_CACHED)
def fold(text: str) -> str:
    """``text`` as space-separated words: compatibility-decomposed, accents dropped,
    case-folded, punctuation turned into spaces."""
    if text.isascii():
        return " ".join(text.encode().translate(_ASCII_FOLD).decode().split())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NON_WORD.sub(" ", bare.casefold()).split())


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return fold(text).split()


@lru_cache(maxsize=_CACHED)
def title_key(title: str) -> str:
    """The folded title without one leading article (kept when it is the whole title)."""
    return without_article(fold(title))


def without_article(folded: str) -> str:
    """A folded title without one leading article (kept when it is the whole title)."""
    article, _, rest = folded.partition(" ")
    return rest if rest and article in _ARTICLES else folded


def author_key(name: str) -> str:
    """The surname in ``name``: before the first comma ("Scott, Walter"), else the last
    word ("Walter Scott"), folded."""
    if "," in name:
        return fold(name.partition(",")[0])
    folded = fold(name)
    return folded.rpartition(" ")[2]


@lru_cache(maxsize=_CACHED)
def title_words(title: str, subtitle: str) -> frozenset[str]:
    """The distinct folded words of a title and subtitle."""
    return frozenset(full_title(title, subtitle).split())


def full_title(title: str, subtitle: str) -> str:
    """A title and its subtitle, folded. (The title alone when there is no subtitle: its
    fold is then the one already made for the title's own key.)"""
    return fold(f"{title} {subtitle}" if subtitle else title)


@lru_cache(maxsize=_CACHED)
def name_key(name: str) -> str:
    """A name folded, life dates dropped: "Twain, Mark, 1835-1910" as "Twain, Mark"."""
    parts = name.split(",")
    while len(parts) > 1 and _is_dates(parts[-1]):
        parts.pop()
    return fold(",".join(parts))


def _is_dates(part: str) -> bool:
    if not any(map(str.isdigit, part)):
        return False  # most parts of a name: nothing to fold
    first = fold(part).partition(" ")[0]
    return first[:1].isdigit() or first in _DATE_WORDS


@lru_cache(maxsize=_CACHED)
def edition_key(statement: str) -> str:
    """Which edition ``statement`` names: its number ("2nd ed.", "Second edition",
    "2. Aufl." -> "2"), else its distinctive words ("Rev. ed." -> "revised")."""
    folded = fold(statement).split()
    for word in folded:
        number = _edition_number(word)
        if number:
            return number
    return " ".join(_EDITION_WORDS.get(word, word) for word in folded if word not in _EDITION_NOISE)


def _edition_number(word: str) -> str:
    if word in _ORDINALS:
        return str(_ORDINALS[word])
    digits = len(word) - len(word.lstrip(string.digits))
    if digits and word[digits:] in _ORDINAL_SUFFIXES:
        return word[:digits].lstrip("0") or "0"
    return ""


@lru_cache(maxsize=_CACHED)
def publisher_key(publisher: str) -> frozenset[str]:
    """The distinctive words of a publisher's name ("D. C. Heath & Co." -> {"heath"})."""
    return frozenset(
        word for word in words(publisher) if len(word) > 1 and word not in _PUBLISHER_NOISE
    )


def language_key(code: str) -> str:
    """A MARC language code, or "" when it says nothing (undetermined, multiple)."""
    code = code.strip().lower()
    return "" if code in _UNKNOWN_LANGUAGES else code
