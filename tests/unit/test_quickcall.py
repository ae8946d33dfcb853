"""trace/quickcall.py: the hand parser gives Lark's tree, or declines.

The oracle is the Lark grammar of trace/grammar.py itself: for every line quick_call()
reads, the tree must be the one Lark builds (rule names, token types and texts), and a
line Lark refuses must be declined (None), so that Lark reports the error. Lines: every
call of the corpus and the models, hand-picked edge cases of the grammar's lexer, and
lines Hypothesis assembles from the grammar's own pieces.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark
from lark.exceptions import LarkError

from mountsim.trace import parse as parse_mod
from mountsim.trace.grammar import GRAMMAR, parser
from mountsim.trace.quickcall import ERRNO, MSG, NAME, NUMBER, STRING, quick_call

ROOT = Path(__file__).resolve().parents[2]
FRESH = Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)     # built here, no cache


def shape(t):
    """A tree (lark's or quickcall's) as plain tuples."""
    if isinstance(t, str):
        return (t.type, str(t))
    return (str(t.data), tuple(shape(c) for c in t.children))


def lark_shape(body: str):
    try:
        return shape(FRESH.parse(body))
    except LarkError:
        return None


def same_or_declined(body: str) -> bool:
    """quick_call declines *body*, or gives exactly Lark's tree."""
    q = quick_call(body)
    return q is None or shape(q) == lark_shape(body)


def trace_files() -> list[Path]:
    out = []
    for d in (ROOT / "models", ROOT / "tests" / "corpus"):
        out += [p for p in sorted(d.rglob("*")) if p.is_file() and
                (p.suffix in (".trace", ".strace") or p.suffix[1:].isdigit())]
    return out


def test_terminals_are_the_grammars():
    """If lark compiles GRAMMAR, then its NAME, ERRNO, NUMBER, STRING and MSG are the
    patterns quickcall matches with (source: grammar.py)."""
    lark_terms = {t.name: t.pattern.value for t in FRESH.terminals}
    assert {"NAME": NAME, "ERRNO": ERRNO, "NUMBER": NUMBER, "STRING": STRING, "MSG": MSG} == \
        {k: lark_terms[k] for k in ("NAME", "ERRNO", "NUMBER", "STRING", "MSG")}


def test_cached_parser_is_the_fresh_one(tmp_path, monkeypatch):
    """If the parser comes from the cache file (a second process), then it gives the same
    trees as one built from GRAMMAR."""
    import mountsim.trace.grammar as g
    monkeypatch.setenv("MOUNTSIM_CACHE", str(tmp_path))
    monkeypatch.setattr(g, "_parser", None)
    built = g.parser()
    assert list((tmp_path / "grammar").glob("*.lark"))
    monkeypatch.setattr(g, "_parser", None)
    loaded = g.parser()
    assert loaded is not built
    for body in ('mount("a", "/b", NULL, MS_BIND|MS_REC, NULL) = 0',
                 'clone3({flags=CLONE_NEWNS, exit_signal=SIGCHLD}, 88) = 7',
                 'f([1, 2], x=>y, makedev(0x1, 0x3), 1<<2, ???, "a"...) = -1 EPERM (x)'):
        assert shape(loaded.parse(body)) == shape(built.parse(body)) == shape(FRESH.parse(body))


def test_cache_of_another_grammar_is_not_used(tmp_path, monkeypatch):
    """If the cache file holds something else (another grammar, garbage), then the parser
    is built from GRAMMAR and the file rewritten."""
    import mountsim.trace.grammar as g
    monkeypatch.setenv("MOUNTSIM_CACHE", str(tmp_path))
    monkeypatch.setattr(g, "_parser", None)
    g.parser()
    (path,) = (tmp_path / "grammar").glob("*.lark")
    path.write_bytes(b"not a pickle")
    monkeypatch.setattr(g, "_parser", None)
    body = 'mount("a", "/b", NULL, MS_BIND, NULL) = 0'
    assert shape(g.parser().parse(body)) == shape(FRESH.parse(body))
    assert path.read_bytes() != b"not a pickle"


def test_every_corpus_call_reads_the_same(monkeypatch):
    """If a call line of models/ or tests/corpus/ is read by quick_call, then its tree is
    Lark's; and most of them are read by it (the point of it)."""
    bodies = []
    real = parse_mod._lark_parse

    def spy(body, path, n):
        bodies.append(body)
        return real(body, path, n)

    monkeypatch.setattr(parse_mod, "quick_call", lambda body: None)   # all through Lark
    monkeypatch.setattr(parse_mod, "_lark_parse", spy)
    for p in trace_files():
        try:
            parse_mod.parse_file(str(p))
        except Exception:                                 # noqa: BLE001 - bad on purpose
            pass
    assert len(bodies) > 1000
    read = [b for b in bodies if quick_call(b) is not None]
    assert len(read) > 0.9 * len(bodies)
    assert [b for b in read if shape(quick_call(b)) != lark_shape(b)] == []


def test_every_corpus_program_is_the_same_without_quickcall(monkeypatch):
    """If every call goes through Lark instead, then each trace parses to the same Program
    (steps, results, notes) — or the same error."""
    def program(p):
        try:
            prog = parse_mod.parse_file(str(p))
            return repr(prog), [type(a).__name__ for s in prog.steps for a in s.args]
        except Exception as e:                            # noqa: BLE001
            return type(e).__name__, str(e)
    files = trace_files()
    quick = [program(p) for p in files]
    monkeypatch.setattr(parse_mod, "quick_call", lambda body: None)
    assert [program(p) for p in files] == quick


EDGES = [
    'f() = 0', 'f( ) = 0', 'f(\t1 ,\t2 ) =\t0', 'f(1) = 0 ', 'f(1)=0', ' f(1) = 0',
    'f(NULL) = 0', 'f(NULL|1) = 0', 'f(NULL=1) = 0', 'f(x=NULL) = 0', 'NULL(1) = 0',
    'f(NULLX) = 0', 'f(ENOENT) = 0', 'f(E1) = -1 E1', 'f(1) = -1 ENOENT',
    'f(1) = -1 ENOENT (No such file or directory)', 'f(1) = -1 (x)', 'f(1) = 0 (a (b) c)',
    'f(1) = 0 (a (b (c)) d)', 'f(1) = -1ENOENT', 'f(1) = 0x1EZ', 'f(1) = 0x1E2',
    'f(1) = 0xg', 'f(1) = 0x', 'f(1) = -', 'f(1) = -1 EPERM x', 'f(1) = -1 Eperm',
    'f(1) = ?', 'f(1) = ??', 'f(1) = ???', 'f(1) = ? ', 'f(1) = 3<x>', 'f(1) = 3</a>',
    'f(1) = 0 /* c */', 'f(1 /* c */) = 0', 'f("a/*b*/") = 0',
    'f("a") = 0', 'f("a"...) = 0', 'f("a" ...) = 0', 'f("a"..) = 0', 'f("a"....) = 0',
    'f(...) = 0', 'f(1, ...) = 0', 'f("a\\"b") = 0', 'f("a\\\\") = 0', 'f("a\\") = 0',
    'f("\\x41\\101") = 0', 'f("a"|"b") = 0', 'f(0755) = 0', 'f(-1) = 0', 'f(--1) = 0',
    'f(0x1f) = 0', 'f(0X1f) = 0', 'f(1a) = 0', 'f(a-1) = 0', 'f(1.5) = 0', 'f(\u0663) = 0',
    'f(1) = \u0663', 'f(\u00b2) = 0', 'f(\u00e9) = 0', 'f(a b) = 0', 'f(a,) = 0', 'f(,a) = 0',
    'f(a,,b) = 0', 'f(a|) = 0', 'f(|a) = 0', 'f(a||b) = 0', 'f(a=b=c) = 0', 'f(a=) = 0',
    'f(=a) = 0', 'f(a=>b) = 0', 'f(a = > b) = 0', 'f(a) => 0', 'f(a) == 0', 'f(a)',
    'f(a) =', 'f(a', 'f', '', ' ', 'f(a)) = 0', 'f((a)) = 0', 'f(g(a)) = 0', 'f(g()) = 0',
    'f(makedev(1, 3)) = 0', 'f({}) = 0', 'f({ }) = 0', 'f({a=1}) = 0', 'f({a=1,}) = 0',
    'f({a=1, ...}) = 0', 'f({...}) = 0', 'f({a=1 ...}) = 0', 'f({1, b=2}) = 0',
    'f({a={b=1|2}}) = 0', 'f({a=[1]}) = 0', 'f({"a"=1}) = 0', 'f({a=1}|2) = 0',
    'f([1, 2]) = 0', 'f(~[1]) = 0', 'f(1<<2) = 0', 'f(1 << 2) = 0', 'f(1<2) = 0',
    'f(a\r) = 0', 'f(a)\r = 0', 'f(a) = 0\r', 'f(\xa0a) = 0', 'f(a)\x0b= 0',
    'syscall_0x1c9(1, 2) = 0', '_f(1) = 0', '3f(1) = 0', 'f.g(1) = 0',
]


@pytest.mark.parametrize("body", EDGES)
def test_edge_cases(body):
    """If a line probes the lexer (keywords against names, greedy numbers and errnos,
    blanks that are not spaces or tabs, comments, the forms quickcall leaves to Lark), then
    quick_call gives Lark's tree or declines; and it reads the plain ones itself."""
    assert same_or_declined(body)


@pytest.mark.parametrize("body", [
    'f() = 0', 'f(NULL|1) = 0', 'f(x=NULL) = 0', 'f(1) = -1 ENOENT (No such file or directory)',
    'f(1) = 0 (a (b) c)', 'f(1) = ?', 'f("a"...) = 0', 'f("a" ...) = 0', 'f({}) = 0',
    'f({a={b=1|2}}) = 0', 'f({1, b=2}) = 0', 'f(\u0663) = 0', 'f(1) = -1ENOENT'])
def test_plain_shapes_are_read(body):
    """If a line is of the subset quickcall documents, then it reads it (no Lark)."""
    assert quick_call(body) is not None and shape(quick_call(body)) == lark_shape(body)


PIECES = ["f", "mount", "NULL", "NULLX", "ENOENT", "E", "x_1", "_", "0", "-1", "0755", "0x1f",
          "0x", "-", "\u0663", '"a"', '"a\\"b"', '"\\\\"', '"', '"a', "...", "..", ".", "(", ")",
          ",", "|", "=", "=>", "{", "}", "[", "]", "~", "<<", "<", ">", "?", "???", "/*", "*/",
          "/* c */", " ", "  ", "\t", "\r", "\xa0", "(No such file or directory)", "(a (b) c)"]
piece = st.sampled_from(PIECES)
blank = st.sampled_from(["", "", "", " ", "\t", "  "])


def spaced(*parts):
    """Parts joined with random blanks (spaces and tabs, which the grammar ignores)."""
    return st.tuples(*(x for p in parts for x in (blank, p))).map("".join)


names = st.sampled_from(["a", "x_1", "MS_BIND", "NULL", "NULLX", "ENOENT", "AT_FDCWD", "_"])
numbers = st.sampled_from(["0", "1", "-1", "0755", "0x1f", "0xFFFF", "-0x10", "\u0663", "00"])
strings = st.sampled_from(['"a"', '""', '"/a b"', '"a\\"b"', '"\\\\"', '"\\x41\\101"',
                           '"a/*b*/"', '"a,b)"'])
rare = st.sampled_from(["...", "???", "[1, 2]", "~[]", "1<<2", "makedev(1, 3)", "g()",
                        "1 /* c */", "x=>y", "3<x>"])
terms = st.recursive(
    st.one_of(names, numbers, strings, spaced(strings, st.just("...")), rare),
    lambda inner: spaced(st.just("{"), st.lists(
        st.one_of(inner, spaced(names, st.just("="), inner)), max_size=3).map(", ".join),
        st.sampled_from(["", "", ",", ", ..."]), st.just("}")),
    max_leaves=6)
exprs = st.lists(terms, min_size=1, max_size=3).map(" | ".join)
args = st.one_of(exprs, spaced(names, st.just("="), exprs))
results = st.sampled_from(["0", "-1 ENOENT", "-1 ENOENT (No such file or directory)", "?",
                           "3", "0x10", "-1 EPERM (a (b) c)", "-1ENOENT", "0 /* c */",
                           "3<x>", "???", "-1 (x)", "0x1EZ"])


@st.composite
def lines(draw):
    """Mostly well-formed calls built from the grammar's rules, some then damaged by one
    piece put in or a stretch taken out."""
    body = draw(spaced(st.sampled_from(["f", "mount", "clone3", "NULL"]), st.just("("),
                       st.lists(args, max_size=4).map(", ".join), st.just(")"),
                       st.sampled_from(["=", "=", "=>", "=="]), results))
    how = draw(st.sampled_from(["keep", "keep", "insert", "cut"]))
    i = draw(st.integers(0, len(body)))
    if how == "insert":
        body = body[:i] + draw(piece) + body[i:]
    elif how == "cut":
        body = body[:i] + body[i + draw(st.integers(1, 4)):]
    return body


@settings(max_examples=3000, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_generated_lines(body):
    """If a line is generated from the grammar (and perhaps damaged), then quick_call
    gives Lark's tree or declines."""
    assert same_or_declined(body)


@settings(max_examples=1000, deadline=None, database=None)
@given(st.lists(piece, max_size=14).map("".join))
def test_any_pieces(body):
    """If a line is any run of the grammar's pieces, then quick_call gives Lark's tree or
    declines."""
    assert same_or_declined(body)


def test_parser_is_the_grammar_module_attribute():
    """If code reads grammar.PARSER (its old name), then it is the one parser()."""
    import mountsim.trace.grammar as g
    assert g.PARSER is parser()
