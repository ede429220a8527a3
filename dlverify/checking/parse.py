"""Answer text (LaTeX or plain) → an explicit syntax tree, without evaluating anything.

The grammar (grammar.lark) is the project's own and is parsed by Lark's LALR parser;
nothing here calls eval, sympify or parse_expr.  Errors point at a character of the
text as the student wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

MAX_LENGTH = 2000
MAX_DEPTH = 60

# Unicode a student may paste, mapped to the ASCII/LaTeX the grammar reads.  Each maps
# one character to a string; positions are mapped back for error messages.
UNICODE = {
    "−": "-",
    "–": "-",
    "·": r"\cdot ",
    "⋅": r"\cdot ",
    "×": r"\times ",
    "∘": r"\circ ",
    "√": r"\sqrt ",
    "⊘": r"\oslash ",
    "⊤": r"\top ",
    # the Greek letters the Unicode printer writes (notation._GREEK_LETTERS), so what it prints reads back
    "α": r"\alpha ",
    "β": r"\beta ",
    "γ": r"\gamma ",
    "δ": r"\delta ",
    "ε": r"\epsilon ",
    "η": r"\eta ",
    "θ": r"\theta ",
    "λ": r"\lambda ",
    "μ": r"\mu ",
    "ρ": r"\rho ",
    "σ": r"\sigma ",
    "τ": r"\tau ",
    "φ": r"\phi ",
    "ω": r"\omega ",
    "Λ": r"\Lambda ",
    "Σ": r"\Sigma ",
    "Δ": r"\Delta ",
    "ℓ": r"\ell ",
    "∂": r"\partial ",
    "∑": r"\sum ",
    "∏": r"\prod ",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "′": "'",
    "’": "'",
    "\u00a0": " ",
    **{sup: f"^{{{d}}}" for d, sup in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
    **{sub: f"_{{{d}}}" for d, sub in enumerate("₀₁₂₃₄₅₆₇₈₉")},
}

# LaTeX commands with grammar of their own; every other command is a name (\sigma, \top).
KEYWORDS = {
    r"\frac": "FRAC",
    r"\dfrac": "FRAC",
    r"\tfrac": "FRAC",
    r"\sqrt": "SQRT",
    r"\hat": "ACCENT",
    r"\widehat": "ACCENT",
    r"\bar": "ACCENT",
    r"\overline": "ACCENT",
    r"\tilde": "ACCENT",
    r"\widetilde": "ACCENT",
    r"\dot": "ACCENT",
    r"\mathbf": "FONT",
    r"\boldsymbol": "FONT",
    r"\bm": "FONT",
    r"\mathbb": "FONT",
    r"\mathrm": "FONT",
    r"\mathit": "FONT",
    r"\text": "FONT",
    r"\mathcal": "FONT",
    r"\mathsf": "FONT",
    r"\mathds": "FONT",
    r"\operatorname": "OPNAME",
    r"\cdot": "MULOP",
    r"\times": "MULOP",
    r"\ast": "MULOP",
    r"\odot": "HADAMARD",
    r"\circ": "HADAMARD",
    r"\oslash": "OSLASH",
    r"\le": "REL",
    r"\leq": "REL",
    r"\ge": "REL",
    r"\geq": "REL",
    r"\lt": "REL",
    r"\gt": "REL",
    r"\ne": "REL",
    r"\neq": "REL",
    r"\lfloor": "FLOOR_L",
    r"\rfloor": "FLOOR_R",
    r"\lceil": "CEIL_L",
    r"\rceil": "CEIL_R",
    r"\partial": "PARTIAL",
}
REL_SPELLING = {
    r"\le": "<=",
    r"\leq": "<=",
    r"\ge": ">=",
    r"\geq": ">=",
    r"\lt": "<",
    r"\gt": ">",
    r"\ne": "!=",
    r"\neq": "!=",
}


class ParseError(ValueError):
    """The text could not be read; ``pos`` is a 0-based index into the original text."""

    def __init__(self, reason: str, pos: int | None = None, text: str = "") -> None:
        self.reason = reason
        self.pos = pos
        self.text = text
        where = f" at position {pos + 1}" if pos is not None else ""
        super().__init__(f"{reason}{where}")

    def pointer(self) -> str:
        """The text with a caret under the offending character (PrairieLearn style)."""
        if self.pos is None or not self.text or "\n" in self.text:
            return str(self)
        return f"{self}\n  {self.text}\n  {' ' * self.pos}^"


@dataclass(frozen=True)
class Node:
    """A syntax-tree node: ``rule`` names the construct, ``args`` its parts."""

    rule: str
    args: tuple
    pos: int = 0

    def __repr__(self) -> str:  # compact, for error messages and tests
        return f"{self.rule}({', '.join(map(repr, self.args))})"


GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi rho sigma "
    "tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
).split()
NAMED = "top intercal prime ell infty exp log ln sin cos tan tanh sqrt max min det tr nabla".split()
KNOWN_COMMANDS = {"\\" + name for name in GREEK + NAMED} | set(KEYWORDS) | {r"\sum", r"\prod", r"\R"}


class UnknownCommand(ParseError):
    """A LaTeX command the answer language does not have (\\input, \\def, …)."""


def _retype(token: Token) -> Token:
    kind = KEYWORDS.get(token.value)
    if kind is None:
        if token.value not in KNOWN_COMMANDS:
            raise UnknownCommand(f"unknown LaTeX command {token.value}", token.start_pos)
        return token
    value = REL_SPELLING.get(token.value, token.value)
    return Token.new_borrow_pos(kind, value, token)


Keep = Callable[[str, str, str], bool]
"""``keep(base, mark, word)``: whether ``base_word`` (mark ``_`` or ``^``) names one symbol of the item."""

# How sub- and superscripts are read in the parse under way: ("tex", keep) or ("greedy", None).
_SCRIPTS: ContextVar[tuple[str, Keep | None]] = ContextVar("scripts", default=("tex", None))


class _OneToken:
    """TeX's rule for an unbraced sub- or superscript: it takes one token.  ``u_tw`` is u_t w,
    ``W_xx_t`` is W_x x_t, ``X^TX`` is Xᵀ X.  A run of digits stays one number (h_10 is h_{10},
    as a plain-text answer means it), and where the item has a symbol spelled with several
    letters (W_{ir}) and none with the first letter alone (W_i), ``keep`` says so and the
    letters stay together, as the student meant."""

    always_accept = ()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return self._fractions(self._scripts(stream))

    def _scripts(self, stream: Iterator[Token]) -> Iterator[Token]:
        mode, keep = _SCRIPTS.get()
        prev: Token | None = None
        mark: Token | None = None
        base: str | None = None
        for tok in stream:
            if mark is not None and mode == "tex" and self._splits(tok, mark, base, keep):
                yield from _split_first(tok)
                prev, mark = tok, None
                continue
            mark = None
            if tok.value == "_" or (tok.type == "POW" and tok.value == "^"):
                mark = tok
                base = prev.value if prev is not None and prev.type in ("NAME", "CMD") else None
            yield tok
            prev = tok

    @staticmethod
    def _fractions(stream: Iterator[Token]) -> Iterator[Token]:
        """``\\frac14`` is 1/4 and ``\\frac ab`` is a/b: an unbraced argument of \\frac is one character."""
        pending = 0  # arguments of the last \frac still to come
        depth = 0  # braces open inside the argument being read
        for tok in stream:
            if tok.type == "FRAC":
                pending, depth = 2, 0
                yield tok
                continue
            if pending and depth == 0 and tok.type in ("NUMBER", "NAME") and len(tok.value) > 1:
                first, rest = _split_first(tok)
                yield first
                pending -= 1
                if pending:
                    second, *more = _split_first(rest) if len(rest.value) > 1 else (rest,)
                    yield second
                    pending -= 1
                    yield from more
                else:
                    yield rest
                continue
            if pending:
                if tok.value == "{":
                    depth += 1
                elif tok.value == "}":
                    depth -= 1
                if depth == 0:
                    pending -= 1
            yield tok

    @staticmethod
    def _splits(tok: Token, mark: Token, base: str | None, keep: Keep | None) -> bool:
        if tok.type != "NAME" or len(tok.value) < 2 or tok.start_pos != mark.end_pos:
            return False
        if tok.value[1:].isdigit():  # x_t1? no: u1 is a name with digits; W_x1 stays W_{x1}
            return False
        return not (keep is not None and base is not None and keep(base, mark.value, tok.value))


def _split_first(tok: Token) -> tuple[Token, Token]:
    """A NAME or NUMBER token as its first character and the rest (each typed by what it starts with)."""
    pieces = []
    for k, value in ((0, tok.value[0]), (1, tok.value[1:])):
        kind = "NUMBER" if value[0].isdigit() else "NAME"
        pieces.append(
            Token(
                kind,
                value,
                start_pos=(tok.start_pos or 0) + k,
                line=tok.line,
                column=(tok.column or 0) + k,
                end_line=tok.end_line,
                end_column=tok.end_column,
                end_pos=tok.end_pos,
            )
        )
    return pieces[0], pieces[1]


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="basic",
        lexer_callbacks={"CMD": _retype},
        maybe_placeholders=False,
        postlex=_OneToken(),
    )


def _pos(item: object) -> int:
    if isinstance(item, Token):
        return item.start_pos or 0
    if isinstance(item, Node):
        return item.pos
    return 0


def _flat(rule: str, left: object, right: object) -> tuple:
    """Operands of an associative chain, flattened so deep chains stay shallow."""
    head = left.args if isinstance(left, Node) and left.rule == rule else (left,)
    return (*head, right)


@v_args(inline=True)
class _ToNodes(Transformer_NonRecursive):
    def paren(self, inner):
        return Node("paren", (inner,), _pos(inner))

    def number(self, tok: Token) -> Node:
        return Node("num", (tok.value,), _pos(tok))

    def name(self, tok: Token) -> Node:
        return Node("name", (tok.value,), _pos(tok))

    def add(self, a, b):
        return Node("add", _flat("add", a, b), _pos(a))

    def sub(self, a, b):
        return Node("add", _flat("add", a, Node("neg", (b,), _pos(b))), _pos(a))

    def mul(self, a, *rest):
        b = rest[-1]  # an explicit operator token, if any, precedes the operand
        return Node("mul", _flat("mul", a, b), _pos(a))

    def div(self, a, b):
        return Node("div", (a, b), _pos(a))

    def hadamard(self, a, _op, b):
        return Node("hadamard", _flat("hadamard", a, b), _pos(a))

    def neg(self, a):
        return Node("neg", (a,), _pos(a))

    def pow(self, base, _op, exponent):
        return Node("pow", (base, exponent), _pos(base))

    def pow_sub(self, base, _op, exponent, sub):
        return Node("pow", (Node("sub", (base, sub), _pos(base)), exponent), _pos(base))

    def hadamard_pow(self, base, _op, _had, exponent):
        return Node("hadamard_pow", (base, exponent), _pos(base))

    def prime(self, a):
        return Node("prime", (a,), _pos(a))

    def sub_script(self, base, sub):
        return Node("sub", (base, sub), _pos(base))

    def index(self, base, _open, *idx):
        inner = idx[0] if len(idx) == 1 else Node("tuple", idx, _pos(idx[0]))
        # in an answer, x[…] is an index or a bracket around a factor (W_2^T[X − …]): the resolver decides
        rule = "index" if _SCRIPTS.get()[0] == "tex" else "sub"
        return Node(rule, (base, inner), _pos(base))

    def transpose(self, a, _mark):
        return Node("transpose", (a,), _pos(a))

    def attribute(self, a, attr: Token):
        name = attr.value[1:]
        return Node("transpose", (a,), _pos(a)) if name == "T" else Node("attr", (a, name), _pos(a))

    def binding(self, var, value):
        return Node("binding", (var, value), _pos(var))

    def pair(self, *items):
        return Node("tuple", items, _pos(items[0]))

    def tuple(self, *items):
        return Node("tuple", items, _pos(items[0]))

    def indicator(self, rel):
        return Node("indicator", (rel,), rel.pos)

    def indexed_indicator(self, base, _open, rel):
        # \mathbf{1}[V > 0], \mathds{1}[…]: the bracket after the font's 1 is the indicator
        return Node("mul", (base, Node("indicator", (rel,), rel.pos)), _pos(base))

    def indicator_eq(self, a, b):
        return Node("indicator", (Node("relation", (a, "==", b), _pos(a)),), _pos(a))

    def percent(self, a, _tok):
        return Node("percent", (a,), _pos(a))

    def cases(self, _begin, *rows):
        return Node("cases", tuple(r for r in rows if isinstance(r, Node)), _pos(_begin))

    def case_row(self, value, *rest):
        return Node("case", (value, rest[-1]), _pos(value))

    def case_eq(self, a, b):
        return Node("relation", (a, "==", b), _pos(a))

    def case_else(self, tok):
        return Node("otherwise", (), _pos(tok))

    def relation(self, *parts):
        return Node("relation", tuple(p.value if isinstance(p, Token) else p for p in parts), _pos(parts[0]))

    def frac(self, _tok, a, b):
        return Node("div", (a, b), _pos(_tok))

    def sqrt(self, _tok, a):
        return Node("sqrt", (a,), _pos(_tok))

    def accent(self, tok, a):
        inner = a if isinstance(a, Node) else Node("name", (a.value,), _pos(a))
        return Node("accent", (tok.value.lstrip("\\"), inner), _pos(tok))

    def font(self, tok, a):
        return Node("font", (tok.value.lstrip("\\"), a), _pos(tok))

    def opname(self, tok, name):
        return Node("name", (name.value,), _pos(tok))

    def floor(self, tok, a, _close):
        return Node("floor", (a,), _pos(tok))

    def ceil(self, tok, a, _close):
        return Node("ceil", (a,), _pos(tok))

    def norm(self, tok, a, _close):
        return Node("norm", (a,), _pos(tok))

    def bars(self, tok, a, _close):
        return Node("bars", (a,), _pos(tok))

    def hadamard_div(self, a, _op, b):
        return Node("hadamard_div", (a, b), _pos(a))

    def partial(self, tok, a):
        return Node("partial", (a,), _pos(tok))


# a single bar |x| (also \lvert x \rvert, \vert) is read like the norm bars: |w| for a scalar is its absolute value
_BARS = re.compile(r"\\\||\|\||‖|\\[lr]?vert(?![A-Za-z])|\|")


def _normalise(text: str) -> tuple[str, list[int]]:
    """Unicode to the grammar's spelling, and the norm bars ‖x‖, \\|x\\|, ||x||, |x| paired into
    \\lVert x \\rVert (the same bar opens and closes; the grammar needs two)."""
    out: list[str] = []
    origin: list[int] = []
    bars = {m.start(): m.end() for m in _BARS.finditer(text)}
    opening = True
    single = False  # the open pair's kind: |x| (absolute value, determinant) or ‖x‖ (a norm)
    k = 0
    while k < len(text):
        if k in bars:
            if opening:
                single = text[k : bars[k]] in ("|", r"\lvert", r"\vert")
            rep = (r"\lvert " if opening else r" \rvert ") if single else (r"\lVert " if opening else r" \rVert ")
            opening = not opening
            out.append(rep)
            origin.extend([k] * len(rep))
            k = bars[k]
            continue
        rep = UNICODE.get(text[k], text[k])
        out.append(rep)
        origin.extend([k] * len(rep))
        k += 1
    return "".join(out), origin


def check_text(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise ParseError(f"answer longer than {MAX_LENGTH} characters", MAX_LENGTH, "")
    for k, ch in enumerate(text):
        if ch in "\t\n\r":
            continue
        if ord(ch) < 32 or ord(ch) == 127:
            raise ParseError(f"control character U+{ord(ch):04X} is not allowed", k, text)
    depth = 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(f"brackets nested more than {MAX_DEPTH} deep", k, text)
        elif ch in ")]}":
            depth -= 1


_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_TRAILING = re.compile(r"(\s*(\\\\|[.,;]|\\text\{\s*[.,;]?\s*\}))+\s*$")


def _unwrapped(text: str) -> str:
    """An answer pasted from a document: math delimiters around it ($…$, \\(…\\), \\[…\\]) and a
    trailing period, comma or \\\\ are layout, blanked to spaces so every position stays where it was."""
    for _ in range(2):
        stripped = text.strip()
        lead = len(text) - len(text.lstrip())
        for opening, closing in _WRAPPERS:
            if (
                len(stripped) > len(opening) + len(closing)
                and stripped.startswith(opening)
                and stripped.endswith(closing)
            ):
                end = lead + len(stripped)
                inner = text[lead + len(opening) : end - len(closing)]
                text = text[:lead] + " " * len(opening) + inner + " " * len(closing) + text[end:]
                break
        trailing = _TRAILING.search(text)
        if trailing is not None and trailing.start() > 0:
            text = text[: trailing.start()] + " " * (len(text) - trailing.start())
    return text


def parse(text: str, *, greedy: bool = False, keep: Keep | None = None) -> Node:
    """Parse one answer into a tree; raise ParseError (never anything else).

    Scripts are read as TeX reads them (one token unless braced; see ``_OneToken``), except
    with ``greedy``, where an unbraced script takes every letter that follows: the project's
    own spellings (W_ir) and a course's statements are written that way."""
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    check_text(text)
    if not text.strip():
        raise ParseError("the answer is empty", 0, text)
    norm, origin = _normalise(_unwrapped(text))

    def at(pos: int | None) -> int | None:
        if pos is None:
            return None
        return origin[pos] if pos < len(origin) else len(text)

    token = _SCRIPTS.set(("greedy" if greedy else "tex", keep))
    try:
        tree = _parser().parse(norm)
        return _ToNodes().transform(tree)
    except UnknownCommand as exc:
        raise ParseError(exc.reason, at(exc.pos), text) from None
    except UnexpectedCharacters as exc:
        ch = norm[exc.pos_in_stream] if exc.pos_in_stream < len(norm) else ""
        raise ParseError(f"unexpected character {ch!r}", at(exc.pos_in_stream), text) from None
    except UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            reason = "the answer ends too early (an operand or a closing bracket is missing)"
            raise ParseError(reason, len(text), text) from None
        raise ParseError(f"unexpected {tok.value!r}", at(tok.start_pos), text) from None
    except UnexpectedEOF:
        raise ParseError("the answer ends too early", len(text), text) from None
    except UnexpectedInput as exc:  # pragma: no cover - the subclasses above cover LALR
        raise ParseError("cannot read the answer", at(getattr(exc, "pos_in_stream", None)), text) from None
    except (LarkError, RecursionError) as exc:
        raise ParseError(f"cannot read the answer ({type(exc).__name__})", None, text) from None
    finally:
        _SCRIPTS.reset(token)
