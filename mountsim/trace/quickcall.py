"""A hand parser for the common shapes of a strace call, giving the very tree the Lark grammar
(grammar.py) gives, or None for anything else — and then parse.py asks Lark.

Why: most lines of a trace are `name("str", NUM, FLAG|FLAG, NULL, {key=val, …}) = RESULT`,
and importing lark and building its parser was ~50 ms of every `mountsim replay`; with this
a trace of such lines never loads lark. The subset read here:

    start:  NAME "(" [args] ")" "=" result
    args:   arg ("," arg)*
    arg:    NAME "=" expr  -> named  |  expr
    expr:   term ("|" term)*  -> orexpr
    term:   STRING ELLIPSIS? -> string | NUMBER -> number | "NULL" -> null | NAME -> symbol
          | "{" [args] "}" -> struct
    result: NUMBER ERRNO? MSG? -> ok_or_err  |  "?" -> unknown

with the grammar's terminals (the same regular expressions; tests/unit/test_quickcall.py
checks them against lark's) and its blanks (spaces and tabs). Anything else — comments,
`<`, `[`, `=>`, `(` after a name, a lone `...`, `???`, a trailing `,`, FD_PATH results —
and anything malformed returns None, so Lark reports every error exactly as before.

The trees are duck-typed like lark's: Node has .data and .children, a Tok is a str with a
.type, which is all parse.py reads of either.
"""

from __future__ import annotations

import re

NAME = r"[A-Za-z_][A-Za-z0-9_]*"                # grammar.py's terminals, character for character
ERRNO = r"E[A-Z0-9]+"
NUMBER = r"-?(0x[0-9a-fA-F]+|\d+)"
STRING = r'"(\\.|[^"\\])*"'
MSG = r"\([^()]*(\([^()]*\)[^()]*)*\)"

_BLANK = re.compile(r"[ \t]*")
_NAME, _ERRNO, _NUMBER, _STRING, _MSG = (re.compile(p) for p in (NAME, ERRNO, NUMBER, STRING, MSG))
_PUNCT = frozenset("(),|={}")


class Node:
    """A lark Tree's shape: the rule (or alias) name and the children."""

    __slots__ = ("data", "children")

    def __init__(self, data: str, children: list) -> None:
        self.data = data
        self.children = children

    def __repr__(self) -> str:
        return f"Node({self.data!r}, {self.children!r})"


class Tok(str):
    """A lark Token's shape: the text, and the terminal's name as .type."""

    type: str

    def __new__(cls, type_: str, value: str) -> Tok:
        t = super().__new__(cls, value)
        t.type = type_
        return t


class _Other(Exception):
    """Not a shape this parser reads: Lark's turn."""


def quick_call(body: str) -> Node | None:
    """The parse tree of *body* (one call, envelope removed) if it is of the common shapes,
    else None."""
    try:
        return _Reader(body).start()
    except _Other:
        return None


class _Reader:
    __slots__ = ("s", "pos", "kind", "text")

    def __init__(self, s: str) -> None:
        self.s = s
        self.pos = 0
        self.kind = self.text = ""
        self._next()

    def _next(self) -> None:
        """Read the next token into kind/text: NAME, NUMBER, STRING, ELLIPSIS, one of
        `(),|={}`, or $END; anything else is not ours."""
        s = self.s
        pos = _BLANK.match(s, self.pos).end()
        if pos == len(s):
            self.kind, self.text, self.pos = "$END", "", pos
            return
        c = s[pos]
        if c in _PUNCT:
            if c == "=" and s.startswith("=>", pos):
                raise _Other
            self.kind, self.text, self.pos = c, c, pos + 1
            return
        if c == '"':
            m = _STRING.match(s, pos)
            kind = "STRING"
        elif c == "." and s.startswith("...", pos):
            self.kind, self.text, self.pos = "ELLIPSIS", "...", pos + 3
            return
        elif c == "_" or ("A" <= c <= "Z") or ("a" <= c <= "z"):
            m = _NAME.match(s, pos)
            kind = "NAME"
        else:
            m = _NUMBER.match(s, pos)
            kind = "NUMBER"
        if m is None:
            raise _Other
        self.kind, self.text, self.pos = kind, m.group(0), m.end()

    def _take(self, kind: str) -> str:
        if self.kind != kind:
            raise _Other
        text = self.text
        self._next()
        return text

    def start(self) -> Node:
        children: list = [Tok("NAME", self._take("NAME"))]
        self._take("(")
        if self.kind != ")":
            children.append(self._args())
        self._take(")")
        if self.kind != "=":
            raise _Other
        children.append(self._result())
        return Node("start", children)

    def _args(self) -> Node:
        out = [self._arg()]
        while self.kind == ",":
            self._next()
            out.append(self._arg())
        return Node("args", out)

    def _arg(self) -> Node:
        if self.kind == "NAME" and self.text != "NULL":
            save = (self.pos, self.kind, self.text)
            name = self.text
            self._next()
            if self.kind == "=":
                self._next()
                return Node("named", [Tok("NAME", name), self._expr()])
            self.pos, self.kind, self.text = save
        return self._expr()

    def _expr(self) -> Node:
        terms = [self._term()]
        while self.kind == "|":
            self._next()
            terms.append(self._term())
        return Node("orexpr", terms)

    def _term(self) -> Node:
        kind, text = self.kind, self.text
        if kind == "STRING":
            self._next()
            if self.kind == "ELLIPSIS":
                self._next()
                return Node("string", [Tok("STRING", text), Tok("ELLIPSIS", "...")])
            return Node("string", [Tok("STRING", text)])
        if kind == "NUMBER":
            self._next()
            return Node("number", [Tok("NUMBER", text)])
        if kind == "NAME":
            self._next()
            if self.kind == "(":
                raise _Other                     # a funcall: makedev(…) and the like
            return Node("null", []) if text == "NULL" else Node("symbol", [Tok("NAME", text)])
        if kind == "{":
            self._next()
            if self.kind == "}":
                self._next()
                return Node("struct", [])
            args = self._args()
            self._take("}")
            return Node("struct", [args])
        raise _Other

    def _result(self) -> Node:
        """After the `=`: the rest of the line is the result, read with the grammar's
        result terminals only (the lexer Lark uses there knows no others)."""
        s = self.s
        pos = _BLANK.match(s, self.pos).end()
        if s.startswith("?", pos):
            if _BLANK.match(s, pos + 1).end() != len(s):
                raise _Other
            return Node("unknown", [])
        m = _NUMBER.match(s, pos)
        if m is None:
            raise _Other
        children = [Tok("NUMBER", m.group(0))]
        pos = _BLANK.match(s, m.end()).end()
        m = _ERRNO.match(s, pos)
        if m is not None:
            children.append(Tok("ERRNO", m.group(0)))
            pos = _BLANK.match(s, m.end()).end()
        m = _MSG.match(s, pos)
        if m is not None:
            children.append(Tok("MSG", m.group(0)))
            pos = _BLANK.match(s, m.end()).end()
        if pos != len(s):
            raise _Other
        return Node("ok_or_err", children)
