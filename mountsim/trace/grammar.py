"""The grammar of one strace call: `name(arg, ...) = result`, as strace prints it.

A Lark LALR grammar, built on first use (`parser()`, or the module attribute PARSER) and kept
in the cache directory ($MOUNTSIM_CACHE, else ~/.cache/mountsim): importing lark and building
its tables cost ~50 ms of every `mountsim` start, and most traces never need it (parse.py
reads the common line shapes with quickcall.py, which gives the same trees). The envelope
around a call (`[pid N]` prefixes, `<unfinished ...>`/`<... name resumed>` halves,
`+++`/`---` lines) is line-level and handled by parse.py, which joins split calls before
they reach this grammar.
"""

from __future__ import annotations

import os
import sys
import zlib

GRAMMAR = r"""
start: NAME "(" [args] ")" "=" result

args: arg ("," arg)*
?arg: NAME "=" expr            -> named
    | expr
    | expr "=>" expr           -> changed
?expr: term ("|" term)*        -> orexpr
?term: STRING ELLIPSIS?        -> string
     | NUMBER                  -> number
     | FD_PATH                 -> fdpath
     | "NULL"                  -> null
     | NAME "(" [args] ")"     -> funcall
     | NAME                    -> symbol
     | "{" [args] ","? ELLIPSIS? "}"   -> struct
     | "[" [args] "]"          -> array
     | "~" "[" [args] "]"      -> array
     | ELLIPSIS                -> ellipsis
     | "???"                   -> ellipsis
     | term "<<" term          -> shift

result: NUMBER ERRNO? MSG?     -> ok_or_err
      | FD_PATH                -> fd_result
      | "?"                    -> unknown

NAME: /[A-Za-z_][A-Za-z0-9_]*/
ERRNO: /E[A-Z0-9]+/
NUMBER: /-?(0x[0-9a-fA-F]+|\d+)/
FD_PATH: /\d+<[^>]*>/
STRING: /"(\\.|[^"\\])*"/
ELLIPSIS: "..."
MSG: /\([^()]*(\([^()]*\)[^()]*)*\)/
COMMENT: /\/\*.*?\*\//
%ignore COMMENT
%ignore /[ \t]+/
"""

_OPTIONS = {"parser": "lalr", "maybe_placeholders": False}
_parser = None


def parser():
    """The Lark parser for GRAMMAR: loaded from the cache when an earlier run left it there
    (~2 ms), else built (~20 ms) and left there for the next run. A cache file that cannot
    be read, is for another grammar, lark or Python, or cannot be written only costs the
    build."""
    global _parser
    if _parser is None:
        import pickle

        from lark import Lark, __version__ as lark_version
        key = (GRAMMAR, sorted(_OPTIONS.items()), lark_version, sys.version_info[:2])
        path = _cache_path(key)
        try:
            with open(path, "rb") as f:
                if pickle.load(f) == key:
                    _parser = Lark.load(f)
        except Exception:                       # absent, stale, truncated: build it
            pass
        if _parser is None:
            _parser = Lark(GRAMMAR, **_OPTIONS)
            tmp = f"{path}.{os.getpid()}.tmp"   # written aside, then renamed into place:
            try:                                # a concurrent run never reads half a file
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(tmp, "wb") as f:
                    pickle.dump(key, f)
                    _parser.save(f)
                os.replace(tmp, path)
            except OSError:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
    return _parser


def _cache_path(key: tuple) -> str:
    """$MOUNTSIM_CACHE (else ~/.cache/mountsim)/grammar/…: named by a checksum of *key*
    (the grammar, lark's and Python's versions), which the file also holds in full."""
    root = os.environ.get("MOUNTSIM_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                            "mountsim")
    return os.path.join(root, "grammar", f"trace-call-{zlib.crc32(repr(key).encode()):08x}.lark")


def __getattr__(name: str):
    if name == "PARSER":                        # the parser, as this module used to export it
        return parser()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
