"""The grammar of one strace call: `name(arg, ...) = result`, as strace prints it.

A Lark LALR grammar, built once. The envelope around a call (`[pid N]` prefixes,
`<unfinished ...>`/`<... name resumed>` halves, `+++`/`---` lines) is line-level and handled
by parse.py, which joins split calls before they reach this grammar.
"""

from __future__ import annotations

from lark import Lark

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

PARSER = Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)
