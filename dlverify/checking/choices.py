"""Choice and number answers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from dlverify.checking.answers import one_line
from dlverify.checking.expressions import typeset_text
from dlverify.checking.kinds import AnswerKind, Ask, symbols_and_table
from dlverify.checking.mutations import mutations
from dlverify.checking.parse import ParseError
from dlverify.checking.points import DIGITS
from dlverify.checking.reading import to_sympy
from dlverify.checking.verdict import Counterexample, Verdict
from dlverify.problem import Problem

TRUE = {"true", "t", "yes", "y", "correct"}
FALSE = {"false", "f", "no", "n", "incorrect"}
MAX_CHOICES = 50


# TeX's font commands around words print the words: \text{SGD}, \texttt{nn.MSELoss}, \emph{…}
_TEX_WORDS = re.compile(r"\\(?:text[a-z]*|math(?:rm|tt|sf|bf|it)|emph|operatorname)\s*\{([^{}]*)\}")


# A relation's spellings, each as one ASCII form, so that dropping punctuation never turns ≠ into =
# or ≤ into nothing (an option "spectral radius = 1" must not match "spectral radius != 1").
_RELATIONS = (
    (re.compile(r"\\(?:leq?|leqslant)(?![a-z])|[≤⩽≦]"), " <= "),
    (re.compile(r"\\(?:geq?|geqslant)(?![a-z])|[≥⩾≧]"), " >= "),
    (re.compile(r"\\(?:neq?|not\s*=)(?![a-z])|≠|=/=|<>"), " != "),
    (re.compile(r"\\lt(?![a-z])"), " < "),
    (re.compile(r"\\gt(?![a-z])"), " > "),
)


def normalise(option: str) -> str:
    """Case, accents, punctuation and spacing do not matter: 'Neural  Network.' = 'neural network';
    a relation keeps its meaning (≤, \\geq, != are <=, >=, !=)."""
    text = unicodedata.normalize("NFKC", option).casefold()
    text = _TEX_WORDS.sub(r"\1", text).replace("\\_", "_")  # \texttt{weight\_decay} prints weight_decay
    for spelling, relation in _RELATIONS:
        text = spelling.sub(relation, text)
    text = re.sub(r"!(?!=)", " ", text)  # a ! is punctuation, except in !=
    text = re.sub(r"[^\w\s<>=!.+-]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if text in TRUE:
        return "true"
    if text in FALSE:
        return "false"
    return text


# ---- options as the homework prints them ---------------------------------------------------------
# Beyond ``normalise``, an option may be written the way code and prose print it.  Each rule is a
# rule of spelling, never a list of strings per item:
#  - separators do not separate: ``weight_decay``, ``Weight-Decay``, ``weightdecay`` and ``MSE loss``
#    are ``weight decay`` and ``MSELoss`` (options compared without spaces, ``_`` and inner ``-``);
#  - a leading article is dropped (``the SGD optimizer``), a trailing ``()`` already is;
#  - an option that is a name of torch's library may carry that name's module path (``nn.MSELoss``,
#    ``torch.optim.SGD``, ``F.mse_loss``) and the generic noun its kind takes (``SGD optimizer``,
#    ``MSE`` for ``MSELoss``, whose own name ends in the noun), and its acronym spelled out as the
#    library's documentation does (``mean squared error``); another module's path does not
#    (``nn.SGD`` is not read);
#  - a count (an option that is an integer) may be a number word and carry the noun the question
#    counts (``2 linear layers``, ``two layers`` where it asks "How many linear layers …");
#  - a form two options share reads as neither (ambiguous, ``unparsed``), and a form that names
#    another member of the library (``Adam optimizer``, ``nn.HuberLoss``) is a readable wrong
#    choice (``incorrect``), while another word (``decay``) is still not an option;
#  - where several may be chosen, one string may list them (``SGD, weight decay``, ``SGD with weight
#    decay``), read so only when every piece is an option.


@dataclass(frozen=True)
class _Library:
    """One kind of torch name: which names are of the kind, the module paths they are printed
    under (compact, casefolded) and the generic nouns the kind takes."""

    kind: str
    modules: tuple[str, ...]
    nouns: tuple[str, ...]
    names: frozenset[str] = frozenset()  # compact names; empty: the names are those ending in the noun
    suffixes: tuple[str, ...] = ("",)  # printed variants of a name (BatchNorm1d for batch norm)


_NN = ("torch.nn", "nn", "torch.nn.functional", "nn.functional", "f")
_LIBRARIES = (
    _Library("loss", _NN, ("loss", "lossfunction", "criterion")),  # torch.nn's losses are all named …Loss
    _Library(
        "optimizer",
        ("torch.optim", "optim"),
        ("optimizer", "optimiser", "optimization", "optimisation"),
        frozenset("sgd asgd adam adamw adamax nadam radam sparseadam adagrad adadelta rmsprop rprop lbfgs".split()),
    ),
    _Library(
        "layer",
        _NN,
        ("layer", "layers"),
        frozenset("linear dropout layernorm batchnorm groupnorm instancenorm".split()),
        ("", "1d", "2d", "3d"),
    ),
    _Library(
        "activation",
        (*_NN, "torch"),
        ("activation", "activationfunction", "nonlinearity"),
        frozenset("relu tanh sigmoid gelu softmax".split()),
    ),
)
# acronyms of the library's names spelled out as its documentation does ("measures the mean squared error")
_SPELLED = {
    "mse": ("meansquarederror", "meansquareerror"),
    "l1": ("meanabsoluteerror",),
    "sgd": ("stochasticgradientdescent",),
    "batchnorm": ("batchnormalization", "batchnormalisation"),
    "layernorm": ("layernormalization", "layernormalisation"),
}
_ARTICLE = re.compile(r"^(?:the|a|an) (?=\w\w)")  # not the option letter "a"
_NUMBER_WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()
_COUNTED = re.compile(r"\bhow many ((?:[a-z]+ )*?[a-z]+) (?:does|do|is|are|has|have|can|will|would|should|must)\b")


def _compact(text: str) -> str:
    """``normalise`` without the spacing: words run together, ``_`` and inner ``-`` dropped."""
    text = _ARTICLE.sub("", normalise(text))
    text = re.sub(r"(?<=\w)-(?=\w)|_", "", text)
    return re.sub(r"\s+", "", text)


_MODULES = frozenset(m for lib in _LIBRARIES for m in lib.modules)


def _strip_module(name: str) -> tuple[str, str]:
    """(module path, bare name) of a compact name printed under a torch module; ("", name) otherwise
    (so an option such as ``0.5`` keeps its dot)."""
    module, dot, bare = name.rpartition(".")
    return (module, bare) if dot and bare and module in _MODULES else ("", name)


def _library_forms(name: str) -> list[tuple[_Library, set[str]]]:
    """The kinds of torch name ``name`` (compact, without a module path) is, each with the printed
    forms it takes as that kind."""
    found = []
    for lib in _LIBRARIES:
        if lib.names:
            if name not in lib.names:
                continue
            bare = {name + s for s in lib.suffixes}
            words = bare | set(_SPELLED.get(name, ()))
            forms = words | {b + n for b in words for n in lib.nouns}
        else:  # the name ends in the noun (MSELoss): the stem alone, or with the noun spelled another way
            noun = lib.nouns[0]
            if not (name.endswith(noun) and len(name) > len(noun)):
                continue
            stem = name[: -len(noun)]
            bare = {name, stem}  # F.cross_entropy: the functional losses mostly drop the noun
            stems = {stem, *_SPELLED.get(stem, ())}
            forms = {name} | stems | {s + n for s in stems for n in lib.nouns}
        forms |= {f"{m}.{b}" for m in lib.modules for b in bare}
        found.append((lib, forms))
    return found


def _count_forms(option: str, statement: str) -> set[str]:
    """A count's forms: its number word, and either followed by the counted noun, singular or plural."""
    number = int(option)
    numbers = {option} | ({_NUMBER_WORDS[number]} if number < len(_NUMBER_WORDS) else set())
    nouns = {""}
    m = _COUNTED.search(statement.casefold())
    if m:
        words = m.group(1).split()
        for k in range(len(words)):  # "linear layers", "layers"
            phrase = "".join(words[k:])
            nouns |= {phrase, phrase.removesuffix("s")}
    return {n + noun for n in numbers for noun in nouns}


@dataclass(frozen=True)
class _Printed:
    """An item's options by their printed forms (compact); a form two options share is kept aside."""

    forms: dict[str, str]
    ambiguous: dict[str, tuple[str, ...]]


def _printed(problem: Problem) -> _Printed:
    owners: dict[str, set[str]] = {}
    for option in problem.answer.options:
        compact = _compact(option)
        forms = {compact}
        for _, more in _library_forms(_strip_module(compact)[1]):
            forms |= more
        if re.fullmatch(r"\d+", option.strip()):
            forms |= _count_forms(option.strip(), problem.statement)
        for form in forms:
            owners.setdefault(form, set()).add(option)
    return _Printed(
        {f: next(iter(o)) for f, o in owners.items() if len(o) == 1},
        {f: tuple(sorted(o)) for f, o in owners.items() if len(o) > 1},
    )


def _library_kind(text: str) -> str | None:
    """The kind of torch name ``text`` prints (``Adam optimizer``: an optimizer), if it prints one."""
    words = normalise(text).split()
    nouns = {n for lib in _LIBRARIES for n in lib.nouns}
    if len(words) - (len(words) > 1 and words[-1] in nouns) > 1:  # one name, with its noun at most
        return None
    compact = _compact(text)
    bare = _strip_module(compact)[1]
    endings = {e for lib in _LIBRARIES for e in (*lib.nouns, *lib.suffixes) if e and bare.endswith(e)}
    for name in {bare} | {bare[: -len(e)] for e in endings}:
        for lib, forms in _library_forms(name):
            if compact in forms:
                return lib.kind
    return None


def _split_list(text: str, readable: Callable[[str], bool]) -> list[str]:
    """'SGD; weight decay', 'SGD, weight decay', 'SGD with weight decay' as two choices, when every
    piece reads as one (an option's own comma or "and" keeps it whole)."""
    for pattern in (r";", r",|\band\b|\bwith\b|&|\+"):
        pieces = [p.strip() for p in re.split(pattern, text) if p.strip()]
        if len(pieces) > 1 and all(readable(p) for p in pieces):
            return pieces
    return [text]


def _given(answer: Any, sequences: bool) -> list[str] | None:
    """The answer as a list of strings; None if it is not a choice.  Where the options are
    sequences, an element may itself be a list of words (``[['neural', 'network'], …]``: TOML's
    nested list), one sequence."""
    if isinstance(answer, bool):  # TOML true/false
        answer = "true" if answer else "false"
    if isinstance(answer, int):  # TOML 2 for the option "2"
        answer = str(answer)
    if isinstance(answer, str):
        return [answer]
    if not isinstance(answer, list) or len(answer) > MAX_CHOICES:
        return None
    out = []
    for a in answer:
        if isinstance(a, str):
            out.append(a)
        elif sequences and isinstance(a, list) and 0 < len(a) <= MAX_CHOICES and all(isinstance(w, str) for w in a):
            out.append(" ".join(a))
        else:
            return None
    return out


_OPEN, _CLOSE = "([{", ")]}"
_SEQUENCE_SEPARATOR = re.compile(r"(?:;|,|\band\b)", re.IGNORECASE)


def _outside_brackets(text: str) -> list[str]:
    """``text`` cut at each ``;``, ``,`` or "and" that no bracket encloses (a sequence may be a tuple)."""
    pieces, depth, start, k = [], 0, 0, 0
    while k < len(text):
        ch = text[k]
        depth += (ch in _OPEN) - (ch in _CLOSE)
        m = _SEQUENCE_SEPARATOR.match(text, k) if depth == 0 else None
        if m:
            pieces.append(text[start:k])
            start = k = m.end()
            continue
        k += 1
    return [p.strip() for p in [*pieces, text[start:]] if p.strip()]


def _unwrapped(text: str) -> str:
    """The text inside one pair of brackets that encloses all of it (``[(…), (…)]``), else the text."""
    text = text.strip()
    if len(text) < 2 or text[0] not in _OPEN or _CLOSE[_OPEN.index(text[0])] != text[-1]:
        return text
    depth = 0
    for k, ch in enumerate(text):
        depth += (ch in _OPEN) - (ch in _CLOSE)
        if depth == 0 and k < len(text) - 1:
            return text  # the first bracket closes early: (a, b), (c, d)
    return text[1:-1]


def _sequences(text: str, options: dict[str, str], length: int) -> list[str]:
    """One string as the sequences it lists, where the options are length-n sequences.  Commas
    separate sequences and also the words of one (``(neural, network)``), so: the pieces at ``;``,
    ``,`` or "and" are the sequences when each has n words (the item's own printed result,
    ``network neural, neural network``); else the whole is one sequence when it has n words; else
    the pieces when each is a sequence of the vocabulary and not all are single words (one word a
    piece: commas between the words of one sequence), so a wrong length is said of each."""
    for inner in dict.fromkeys((text, _unwrapped(text))):
        pieces = _outside_brackets(inner)
        if len(pieces) < 2:
            continue
        lengths = [len(_words(normalise(p), options) or ()) for p in pieces]
        whole = len(_words(normalise(inner), options) or ())
        if all(n == length for n in lengths) or (whole != length and all(lengths) and max(lengths) > 1):
            return pieces
    return [text]


def judge_choice(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    label = ask.label
    options = {normalise(o): o for o in problem.answer.options}
    length = _sequence_length(options)
    given = _given(answer, sequences=bool(length))
    if given is None:
        return Verdict(label, "unparsed", "a choice is a string (or an integer, or true/false) or a list of strings")
    printed = _printed(problem)
    words = [normalise(a) for a in given]
    if length and not problem.answer.multiple and len(words) > 1 and all(len(w.split()) == 1 for w in words):
        given = [" ".join(given)]  # ['neural', 'neural', 'neural']: one sequence written word by word
    if length:
        given = [s for a in given for s in _sequences(a, options, length)]
    else:  # a sequence's words are separated by commas too, so only other items' lists split

        def option(text: str) -> bool:
            return normalise(text) in options or _compact(text) in printed.forms

        def readable(text: str) -> bool:
            return option(text) or _library_kind(text) is not None

        given = [p for a in given for p in ([a] if option(a) else _split_list(a, readable))]
    if len(given) > MAX_CHOICES:
        return Verdict(label, "unparsed", f"more than {MAX_CHOICES} choices")
    chosen: set[str] = set()
    read: list[str] = []  # how a printed form was read, for the message
    foreign: list[str] = []  # other names of the library: readable, and not an option
    ambiguous: list[str] = []
    written: dict[str, str] = {}  # a choice that is no option, as the answer wrote it (≠ stays ≠)
    for a in given:
        key = _as_sequence(normalise(a), options) if length else normalise(a)
        form = _compact(a)
        if key in options:
            chosen.add(key)
        elif form in printed.forms:
            option = printed.forms[form]
            chosen.add(normalise(option))
            if form != _compact(option):  # a module path, a noun, a count: say how it was read
                read.append(f"{one_line(a, 40)!r} as {option}")
        elif form in printed.ambiguous:
            ambiguous.append(f"{one_line(a, 40)!r} could be {' or '.join(printed.ambiguous[form])}")
        elif (kind := _library_kind(a)) is not None:
            foreign.append(f"{one_line(a, 40)!r} ({'an' if kind[0] in 'aeiou' else 'a'} {kind})")
        else:
            chosen.add(key)
            written.setdefault(key, a)
    how = f" (read {', '.join(read)})" if read else ""
    if ambiguous:
        return Verdict(label, "unparsed", "; ".join(ambiguous) + ": write the option as listed")
    unknown = list(written)  # in the answer's order
    if length and unknown and all(_words(u, options) is not None for u in unknown):
        # words of the vocabulary in a sequence of another length: readable, and wrong
        said = [f"{one_line(u, 60)!r} is a length-{len(_words(u, options) or [])} sequence" for u in unknown[:5]]
        message = "; ".join(said) + f"; the item asks for length {length}"
        return Verdict(label, "incorrect", message, diagnosis="wrong sequence length")
    listed = ", ".join(repr(o) for o in problem.answer.options)
    if unknown:
        shown = ", ".join(repr(one_line(written.get(u, u), 40)) for u in unknown[:5]) + (
            f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        )
        return Verdict(label, "unparsed", f"not an option: {shown}; the options are {listed}")
    if len(chosen) + len(foreign) > 1 and not problem.answer.multiple:
        return Verdict(label, "incorrect", "choose one option only" + how)
    if foreign:
        message = f"not one of the options: {', '.join(foreign)}; the options are {listed}"
        return Verdict(label, "incorrect", message + how, diagnosis="not an option")
    key = {normalise(k) for k in problem.derive().result}
    if chosen == key:
        return Verdict(label, "correct", "the right choice" + ("s" if len(key) > 1 else "") + how, score=1.0)
    missing, extra = key - chosen, chosen - key
    if ask.hide:
        parts = [f"{len(missing)} right option(s) missing"] if missing else []
        parts += [f"{len(extra)} chosen option(s) are wrong"] if extra else []
    else:
        parts = [f"missing: {', '.join(sorted(options[m] for m in missing))}"] if missing else []
        parts += [f"wrongly chosen: {', '.join(sorted(options[e] for e in extra))}"] if extra else []
    return Verdict(label, "incorrect", "; ".join(parts) + how)


def _sequence_length(options: dict[str, str]) -> int:
    """The length n when the options are every length-n sequence of a vocabulary of words (a beam's
    sequences), else 0: only then is an answer made of those words a sequence to be judged."""
    split = [o.split() for o in options]
    vocabulary = {w for words in split for w in words}
    lengths = {len(words) for words in split}
    if len(lengths) != 1 or len(vocabulary) < 2 or not all(w.isalpha() for w in vocabulary):
        return 0
    n = lengths.pop()
    return n if set(options) != {"true", "false"} and len(options) == len(vocabulary) ** n else 0


def _words(text: str, options: dict[str, str]) -> list[str] | None:
    """The vocabulary words of ``text``, separators (-> , →) dropped; None if it has another word."""
    vocabulary = {w for o in options for w in o.split()}
    words = [w for w in text.split() if re.search(r"\w", w)]
    return words if words and all(w in vocabulary for w in words) else None


def _as_sequence(text: str, options: dict[str, str]) -> str:
    """'neural -> network' as the option 'neural network' (the words, in order, without separators)."""
    words = _words(text, options)
    return " ".join(words) if words else text


# ---- a number as students write it ----------------------------------------------------------------
# - a decimal comma: ``1,386`` (one comma between digits, nothing else) is 1.386, and the message says
#   so; a number item's values are a loss, an accuracy, a derivative, never thousands, so a comma is
#   never read as a thousands separator;
# - a value with its restatements: ``0.25 (25\\%)``, ``\\frac14 = 25\\%``, ``\\log 4 \\approx 1.386`` are
#   read when the values agree (within the tolerance, or the rounding a written decimal shows), and
#   the most precise of them is judged; values that differ are unparsed with why.  A parenthesis is
#   also a product (``\\frac12 (\\sin 2 + e^{1.5})``), so one after a value that it does not restate is
#   read as a product, except between two plain numerals (``0.25 (30\\%)``: no one writes a product so).
_DECIMAL_COMMA = re.compile(r"\s*([+-]?\d+),(\d+)\s*(\\?%)?\s*")
_NUMERAL = re.compile(r"\s*[+-]?\d*(?:\.(\d*))?\s*(\\?%)?\s*")
_RESTATES = re.compile(r"\\approx(?![A-Za-z])|≈|(?<![<>!=])=(?!=)")
_LAYOUT = re.compile(r"\\(?:left|right|[,;:! ]|q?quad)(?![A-Za-z])")


def _decimal_comma(text: str) -> tuple[str, str]:
    """``1,386`` → ``1.386`` and a note saying so; any other text as it is."""
    m = _DECIMAL_COMMA.fullmatch(text)
    if not m:
        return text, ""
    read = f"{m.group(1)}.{m.group(2)}{m.group(3) or ''}"
    return read, f"read {text.strip()!r} as {read}: a comma between digits is a decimal comma"


def _rounding(text: str) -> sp.Rational | None:
    """Half a unit of the last digit of a plain numeral (``1.39``: 0.005, ``25\\%``: 0.005), exactly;
    None for any other text (an exact value: ``\\log 4``, ``\\frac14``)."""
    text = _decimal_comma(text)[0]
    m = _NUMERAL.fullmatch(text)
    if not m or not re.search(r"\d", text):
        return None
    return sp.Rational(1, 2) / 10 ** len(m.group(1) or "") / (100 if m.group(2) else 1)


def _agree(values: list[sp.Basic], roundings: list[sp.Rational | None], tol: float) -> bool:
    """Values a student wrote for one number agree: within the tolerance, or closer than the rounding
    a written decimal shows (strictly: 0.2 does not restate 0.25, which rounds to 0.2 or 0.3)."""
    spread = max(values) - min(values)
    return bool(spread <= tol or spread < max((r for r in roundings if r is not None), default=0))


def _plain(text: str, problem: Problem) -> sp.Basic | None:
    """The real number ``text`` writes (a decimal comma read), exactly; None if it writes none."""
    try:
        value, unknown = to_sympy(_decimal_comma(text)[0], problem)
    except ParseError:
        return None
    if unknown or not isinstance(value, sp.Expr) or value.free_symbols:
        return None
    return value if sp.N(value, DIGITS).is_real else None  # exact: 1/4 − 1/5 is 1/20, no nearer


def _cut(text: str, at: re.Pattern[str]) -> list[str]:
    """``text`` cut where ``at`` matches outside every bracket."""
    pieces, depth, start, k = [], 0, 0, 0
    while k < len(text):
        depth += (text[k] in "([{") - (text[k] in ")]}")
        m = at.match(text, k) if depth == 0 else None
        if m:
            pieces.append(text[start:k])
            start = k = m.end()
            continue
        k += 1
    return [*pieces, text[start:]]


def _restated(text: str, problem: Problem, tol: float) -> list[str]:
    """The values ``text`` writes, a value and its restatements (one piece: no restatement)."""
    pieces = []
    for piece in _cut(_LAYOUT.sub(" ", text), _RESTATES):
        piece = piece.strip()
        inner = _trailing_group(piece)
        if inner is not None:
            a, b = inner
            va, vb = _plain(a, problem), _plain(b, problem)
            literal = _rounding(a) is not None and _rounding(b) is not None
            if va is not None and vb is not None and (literal or _agree([va, vb], [_rounding(a), _rounding(b)], tol)):
                pieces += [a, b]
                continue
        pieces.append(piece)
    return pieces


def _trailing_group(text: str) -> tuple[str, str] | None:
    """``A (B)`` → (A, B) when the text ends in a parenthesis that opens after something."""
    if not text.endswith(")"):
        return None
    depth = 0
    for k in range(len(text) - 1, -1, -1):
        depth += (text[k] in ")]}") - (text[k] in "([{")
        if depth == 0:
            before = text[:k].strip()
            return (before, text[k + 1 : -1].strip()) if before and text[k] == "(" else None
    return None


def judge_number(problem: Problem, answer: Any, ask: Ask) -> Verdict:
    label, hide = ask.label, ask.hide
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        return Verdict(label, "unparsed", "a number is written as text or as a TOML number")
    text = answer if isinstance(answer, str) else repr(answer)
    tol = problem.answer.tolerance
    note = ""
    pieces = _restated(text, problem, tol) if isinstance(answer, str) else [text]
    if len(pieces) > 1:
        values = [_plain(p, problem) for p in pieces]
        if all(v is not None for v in values):
            roundings = [_rounding(p) for p in pieces]
            if not _agree(values, roundings, tol):
                shown = ", ".join(f"{one_line(p, 30)} = {sp.N(v, 6)}" for p, v in zip(pieces, values, strict=True))
                why = f"the values written differ ({shown}): a value and its restatement must agree; write one"
                return Verdict(label, "unparsed", why)
            best = min(range(len(pieces)), key=lambda k: roundings[k] or 0)  # the most precise value decides
            note = f"read {one_line(text, 60)!r} as {one_line(pieces[best], 40)}, the values written agreeing"
            text = pieces[best]
    text, comma = _decimal_comma(text)
    note = note or comma
    try:
        value, unknown = to_sympy(text, problem)
    except ParseError as exc:
        return Verdict(label, "unparsed", exc.pointer())
    if unknown or value.free_symbols:
        names = ", ".join(unknown) or ", ".join(map(str, value.free_symbols))
        return Verdict(label, "incorrect", f"a number may not contain symbols ({names})")
    got = sp.N(value, DIGITS)
    want = sp.N(problem.derive().result, DIGITS)
    if not got.is_real:
        return Verdict(label, "incorrect", f"{text} is not a real number")
    diff = abs(got - want)
    how = f" ({note})" if note else ""
    if diff <= tol:
        return Verdict(label, "correct", f"within {tol:g} of the reference{how}", score=1.0)
    if hide:  # the distance and the answer give the reference away: say only that it is out of tolerance
        message = f"{sp.N(got, 8)} is further from the reference than the tolerance {tol:g}"
    else:
        message = f"{sp.N(got, 8)} is {sp.N(diff, 3)} away from the reference, more than the tolerance {tol:g}"
        message += f" (reference {sp.N(want, 8)})"
    counter = Counterexample(answer_value=float(got), reference_value=None if hide else float(want))
    # a common slip (sign, factor 2, a missing term) shows when the answer is within tolerance of a mutated reference
    diagnosis = next(
        (
            m.hint if hide else m.detail
            for m in mutations(problem.derive().result)
            if abs(got - sp.N(m.expr, DIGITS)) <= tol
        ),
        None,
    )
    if diagnosis:
        message += f"; looks like {diagnosis}"
    return Verdict(label, "incorrect", message + how, counterexample=counter, diagnosis=diagnosis)


def choice_skeleton(problem: Problem) -> list[str]:
    """A list: one option, or several where the item allows it."""
    return [*symbols_and_table(problem), "answer = []"]


CHOICE = AnswerKind("choice", judge_choice, skeleton=choice_skeleton)
NUMBER = AnswerKind("number", judge_number, typeset_text)
