"""User-defined variables, arithmetic expressions and conditions in transformation URLs.

Text only until `evaluate`: parsing never touches an image.  The grammar is what the
SDKs emit (``cloudinary.utils.normalize_expression``):

    expression  := term (("add"|"sub") term)*          iw_div_2_add_10
    term        := power (("mul"|"div"|"mod") power)*
    power       := atom ("pow" power)?                  right-associative
    atom        := number | $variable | predefined | !string!
    predefined  := w h iw ih ar iar fc pc cp (the SDKs translate long names first)

    condition   := clause (("and") clause)* ... joined by "or" (and binds tighter)
    clause      := operand op operand                   op: eq ne lt gt lte gte in nin
                                                        (or = != < > <= >=)
    operand     := expression | tags | ctx:!key! | !a:b! (a list of strings)

Values are floats or strings.  ``!a:b!_in_tags`` holds when every listed string is
a tag; ``ctx:!key!`` is the asset's context value for ``key`` ("" when absent).
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

from core.errors import BadRequest

from ..values import Env

# The SDKs translate long names (initial_width, aspect_ratio...) before building a URL.
PREDEFINED = {name: name for name in ("w", "h", "iw", "ih", "ar", "iar", "fc", "pc", "cp")}
ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
              "mod": operator.mod, "pow": operator.pow}
SYMBOLS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "=": "eq", "!=": "ne", "<": "lt",
           ">": "gt", "<=": "lte", ">=": "gte", "&&": "and", "||": "or"}
COMPARISONS = ("eq", "ne", "lt", "gt", "lte", "gte", "in", "nin")
# At most 15 digits before the point: a longer number is no size or factor, and 400 digits
# make float() infinite (an OverflowError where it becomes pixels).
_NUMBER = re.compile(r"^-?(\d{1,15}(\.\d*)?|\.\d+)$")
_VARIABLE = re.compile(r"^\$[A-Za-z][A-Za-z0-9]*$")
_MAX_TOKENS = 64




# --- tokens --------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Split on ``_`` outside ``!...!`` strings; symbolic operators become their names."""
    tokens, current, quoted = [], [], False
    for ch in text:
        if ch == "!":
            quoted = not quoted
            current.append(ch)
        elif ch in "_ " and not quoted:
            tokens.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise BadRequest(f"Invalid expression {text!r}: unterminated !string!")
    tokens.append("".join(current))
    if any(t == "" for t in tokens):
        raise BadRequest(f"Invalid expression {text!r}: empty term")
    if len(tokens) > _MAX_TOKENS:
        raise BadRequest(f"Invalid expression {text!r}: too long")
    return [SYMBOLS.get(t, t) for t in tokens]


# --- expressions ---------------------------------------------------------------------


class Expr:
    canonical: str

    def evaluate(self, env: Env):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def is_constant(self) -> bool:
        return False


@dataclass(frozen=True)
class Num(Expr):
    value: float

    @property
    def canonical(self) -> str:
        return format(self.value, "g") if self.value != int(self.value) else str(int(self.value))

    @property
    def is_constant(self) -> bool:
        return True

    def evaluate(self, env: Env) -> float:
        return self.value


@dataclass(frozen=True)
class Str(Expr):
    value: str

    @property
    def canonical(self) -> str:
        return f"!{self.value}!"

    @property
    def is_constant(self) -> bool:
        return True

    def evaluate(self, env: Env) -> str:
        return self.value


@dataclass(frozen=True)
class Ref(Expr):
    name: str  # a predefined short name, "tags", or "ctx:<key>"

    @property
    def canonical(self) -> str:
        return f"ctx:!{self.name[4:]}!" if self.name.startswith("ctx:") else self.name

    def evaluate(self, env: Env):
        if self.name == "tags":
            return list(env.tags)
        if self.name.startswith("ctx:"):
            return str(env.ctx.get(self.name[4:], ""))
        return float(getattr(env, self.name))


@dataclass(frozen=True)
class Var(Expr):
    name: str  # without the $

    @property
    def canonical(self) -> str:
        return f"${self.name}"

    def evaluate(self, env: Env):
        if self.name not in env.variables:
            raise BadRequest(f"Undefined variable ${self.name}")
        return env.variables[self.name]


@dataclass(frozen=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr

    @property
    def canonical(self) -> str:
        return f"{self.left.canonical}_{self.op}_{self.right.canonical}"

    def evaluate(self, env: Env) -> float:
        left, right = self.left.evaluate(env), self.right.evaluate(env)
        if not all(isinstance(v, (int, float)) for v in (left, right)):
            raise BadRequest(f"Arithmetic on a string in {self.canonical!r}")
        try:
            result = ARITHMETIC[self.op](float(left), float(right))
        except ZeroDivisionError:
            raise BadRequest(f"Division by zero in {self.canonical!r}") from None
        except OverflowError:
            raise BadRequest(f"Number too large in {self.canonical!r}") from None
        if isinstance(result, complex) or not math.isfinite(result):
            raise BadRequest(f"Invalid result of {self.canonical!r}")
        return result


def _atom(token: str, allow_lists: bool) -> Expr:
    if _NUMBER.match(token):
        return Num(float(token))
    if token.startswith("!") and token.endswith("!") and len(token) >= 2:
        return Str(token[1:-1])
    if _VARIABLE.match(token):
        return Var(token[1:])
    if token in PREDEFINED:
        return Ref(PREDEFINED[token])
    if allow_lists and token == "tags":
        return Ref("tags")
    if allow_lists and token.startswith("ctx:"):
        key = token[4:]
        if key.startswith("!") and key.endswith("!") and len(key) > 2:
            key = key[1:-1]
        if not key:
            raise BadRequest("Invalid condition: ctx needs a key, as in ctx:!key!")
        return Ref(f"ctx:{key}")
    raise BadRequest(f"Invalid expression term {token!r}")


def _parse_tokens(tokens: list[str], text: str, allow_lists: bool = False) -> Expr:
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        token = tokens[position]
        position += 1
        return token

    def atom() -> Expr:
        token = peek()
        if token is None or token in ARITHMETIC:
            raise BadRequest(f"Invalid expression {text!r}: a value is missing")
        return _atom(take(), allow_lists)

    def power() -> Expr:
        left = atom()
        if peek() == "pow":
            take()
            return BinOp("pow", left, power())
        return left

    def term() -> Expr:
        left = power()
        while peek() in ("mul", "div", "mod"):
            left = BinOp(take(), left, power())
        return left

    expr = term()
    while peek() in ("add", "sub"):
        expr = BinOp(take(), expr, term())
    if position != len(tokens):
        raise BadRequest(f"Invalid expression {text!r}: unexpected {tokens[position]!r}")
    return expr


def is_expression(text: str) -> bool:
    """True when `text` is more than a plain number (a variable, a predefined name, arithmetic)."""
    text = str(text)
    if _NUMBER.match(text):
        return False
    head = text.split("_", 1)[0]
    return head.startswith("$") or head in PREDEFINED or "_" in text and any(
        t in ARITHMETIC or t in PREDEFINED or t.startswith("$") for t in text.split("_"))


def parse_value(text: str) -> Expr:
    return _parse_tokens(_tokens(str(text)), str(text))


# --- variables -------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    name: str
    expr: Expr

    @property
    def canonical(self) -> str:
        return f"${self.name}_{self.expr.canonical}"

    def apply(self, env: Env) -> None:
        env.variables[self.name] = self.expr.evaluate(env)


def is_variable_key(key: str) -> bool:
    return bool(_VARIABLE.match(key))


def parse_assignment(key: str, value: str) -> Assignment:
    if not is_variable_key(key):
        raise BadRequest(f"Invalid variable name {key!r}: use $ then letters and digits")
    if value in (None, ""):
        raise BadRequest(f"Variable {key} has no value")
    return Assignment(key[1:], parse_value(value))


# --- conditions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    left: Expr
    op: str
    right: Expr

    @property
    def canonical(self) -> str:
        return f"{self.left.canonical}_{self.op}_{self.right.canonical}"

    def evaluate(self, env: Env) -> bool:
        left, right = self.left.evaluate(env), self.right.evaluate(env)
        if self.op in ("in", "nin"):
            inside = set(_as_list(left)) <= set(_as_list(right))
            return inside if self.op == "in" else not inside
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            return {"eq": left == right, "ne": left != right, "lt": left < right, "gt": left > right,
                    "lte": left <= right, "gte": left >= right}[self.op]
        if self.op in ("eq", "ne"):
            same = str(left) == str(right)
            return same if self.op == "eq" else not same
        raise BadRequest(f"Invalid condition {self.canonical!r}: {self.op} compares numbers")


def _as_list(value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in str(value).split(":") if part] if isinstance(value, str) else [format(value, "g")]


@dataclass(frozen=True)
class Condition:
    any_of: tuple[tuple[Clause, ...], ...]  # OR of ANDs

    @property
    def canonical(self) -> str:
        return "_or_".join("_and_".join(c.canonical for c in group) for group in self.any_of)

    def evaluate(self, env: Env) -> bool:
        return any(all(clause.evaluate(env) for clause in group) for group in self.any_of)


def _split(tokens: list[str], word: str) -> list[list[str]]:
    groups, current = [], []
    for token in tokens:
        if token == word:
            groups.append(current)
            current = []
        else:
            current.append(token)
    groups.append(current)
    return groups


def parse_condition(text: str) -> Condition:
    """`text` is what follows ``if_`` (``w_gt_200_and_!sale!_in_tags``)."""
    tokens = _tokens(text)
    groups = []
    for or_part in _split(tokens, "or"):
        clauses = []
        for and_part in _split(or_part, "and"):
            ops = [i for i, t in enumerate(and_part) if t in COMPARISONS]
            if len(ops) != 1 or ops[0] == 0 or ops[0] == len(and_part) - 1:
                raise BadRequest(f"Invalid condition {text!r}: expected <value>_<operator>_<value> with one of "
                                 f"{', '.join(COMPARISONS)}")
            i = ops[0]
            left = _parse_tokens(and_part[:i], text, allow_lists=True)
            right = _parse_tokens(and_part[i + 1:], text, allow_lists=True)
            clauses.append(Clause(left, and_part[i], right))
        groups.append(tuple(clauses))
    return Condition(tuple(groups))
