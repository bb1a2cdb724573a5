"""Cloudinary's search expression language -> an AST.

A Lucene-like grammar (Cloudinary's "Search expressions" page)::

    expr    := or
    or      := and (("OR" | "||") and)*
    and     := unary (("AND" | "&&")? unary)*      adjacent terms are ANDed
    unary   := ("NOT" | "-" | "!") unary | primary
    primary := "(" expr ")" | term
    term    := [field op] value
    op      := ":" | "=" | "<" | ">" | "<=" | ">="  (also ":<", ":>=", ... as ":" then the comparison)
    value   := '"quoted \\" text"' | "[" v "TO" v "]" | "{" v "TO" v "}" | bare word (backslash escapes)

A bare ``*`` in a value is a wildcard (``sample*`` a prefix); inside quotes, ``\\*`` is a
literal star. Errors are ``ExpressionError`` with the 0-based position they happened at.
Bounded: ``MAX_LENGTH`` characters, ``MAX_DEPTH`` nested groups/negations, ``MAX_TERMS`` terms.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LENGTH = 2000
MAX_DEPTH = 16
MAX_TERMS = 64
MAX_WILDCARDS = 4  # stars in one value (each is a ".*" in a pattern: keep the matching linear enough)
SPECIAL = set('()[]{}"\\:=<>!')
WORD_OPS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT"}
WILDCARD = "\x00*"  # a wildcard star inside a parsed value (a literal star stays "*")


class ExpressionError(ValueError):
    def __init__(self, message: str, position: int):
        super().__init__(f"{message} at position {position}")
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Value:
    text: str  # wildcard stars are WILDCARD
    quoted: bool = False

    @property
    def plain(self) -> str:
        return self.text.replace(WILDCARD, "*")

    @property
    def has_wildcard(self) -> bool:
        return WILDCARD in self.text


@dataclass(frozen=True)
class Term:
    field: str | None  # None: free text
    op: str  # ":", "=", "<", ">", "<=", ">="
    value: Value
    position: int = 0


@dataclass(frozen=True)
class Range:
    field: str
    low: Value
    high: Value
    low_inclusive: bool
    high_inclusive: bool
    position: int = 0


@dataclass(frozen=True)
class Not:
    node: object


@dataclass(frozen=True)
class And:
    nodes: tuple


@dataclass(frozen=True)
class Or:
    nodes: tuple


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.terms = 0

    # --- characters ---
    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def peek_word(self) -> str | None:
        """The operator word at the cursor (AND, OR, NOT, &&, ||), if one stands there alone."""
        self.skip()
        for word in WORD_OPS:
            end = self.pos + len(word)
            if self.text.startswith(word, self.pos) and (
                    end >= len(self.text) or self.text[end].isspace() or self.text[end] in "()"
                    or not word.isalpha()):
                return word
        return None

    def error(self, message: str, position: int | None = None):
        raise ExpressionError(message, self.pos if position is None else position)

    # --- grammar ---
    def parse(self):
        if len(self.text) > MAX_LENGTH:
            raise ExpressionError(f"Expression too long: at most {MAX_LENGTH} characters", MAX_LENGTH)
        if self.at_end():
            return None
        node = self.or_(0)
        if not self.at_end():
            self.error(f"Unexpected {self.text[self.pos]!r}")
        return node

    def or_(self, depth: int):
        nodes = [self.and_(depth)]
        while not self.at_end() and self.peek_word() in ("OR", "||"):
            self.pos += len(self.peek_word())
            if self.at_end():
                self.error("Expected a term after OR")
            nodes.append(self.and_(depth))
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def and_(self, depth: int):
        nodes = [self.unary(depth)]
        while not self.at_end():
            word = self.peek_word()
            if word in ("OR", "||") or self.text[self.pos] == ")":
                break
            if word in ("AND", "&&"):
                self.pos += len(word)
                if self.at_end():
                    self.error("Expected a term after AND")
            nodes.append(self.unary(depth))
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def unary(self, depth: int):
        if depth >= MAX_DEPTH:
            self.error(f"Expression nested too deeply: at most {MAX_DEPTH} levels")
        self.skip()
        word = self.peek_word()
        if word == "NOT":
            self.pos += 3
        elif self.pos < len(self.text) and self.text[self.pos] in "-!" and self.pos + 1 < len(self.text) \
                and not self.text[self.pos + 1].isspace():
            self.pos += 1
        else:
            return self.primary(depth)
        if self.at_end():
            self.error("Expected a term after NOT")
        return Not(self.unary(depth + 1))

    def primary(self, depth: int):
        self.skip()
        char = self.text[self.pos]
        if char == "(":
            start = self.pos
            self.pos += 1
            if self.at_end():
                self.error("Unclosed '('", start)
            if self.text[self.pos] == ")":
                self.error("Empty parentheses")
            node = self.or_(depth + 1)
            if self.at_end() or self.text[self.pos] != ")":
                self.error("Unclosed '('", start)
            self.pos += 1
            return node
        if char == ")":
            self.error("Unexpected ')'")
        if self.peek_word() in ("AND", "OR", "&&", "||"):
            self.error(f"Expected a term before {self.peek_word()}")
        return self.term()

    def term(self):
        start = self.pos
        self.terms += 1
        if self.terms > MAX_TERMS:
            self.error(f"Too many terms: at most {MAX_TERMS}")
        field, op = self.field_and_op()
        if field is None:
            return Term(None, ":", self.value(), start)
        if self.pos < len(self.text) and self.text[self.pos] in "[{":
            if op not in (":", "="):
                self.error("A range follows ':' only")
            return self.range_(field, start)
        if self.pos >= len(self.text) or self.text[self.pos].isspace() or self.text[self.pos] == ")":
            self.error(f"Missing value after {field}{op}")
        return Term(field, op, self.value(), start)

    def field_and_op(self):
        """A ``field op`` prefix at the cursor, or (None, None) for a free-text term."""
        i = self.pos
        while i < len(self.text) and (self.text[i].isalnum() or self.text[i] in "_.-"):
            i += 1
        if i == self.pos or i >= len(self.text) or self.text[i] not in ":=<>":
            return None, None
        field = self.text[self.pos:i]
        if not (field[0].isalpha() or field[0] == "_"):
            return None, None
        j = i
        op = self.text[j]
        j += 1
        if op == ":" and j < len(self.text) and self.text[j] in "<>=":  # bytes:>100 as bytes>100
            op = self.text[j]
            j += 1
        if op in "<>" and j < len(self.text) and self.text[j] == "=":
            op += "="
            j += 1
        self.pos = j
        return field, op

    def value(self, stop: str = "") -> Value:
        if self.pos >= len(self.text):
            self.error("Expected a value")
        if self.text[self.pos] == '"':
            return self.quoted()
        start = self.pos
        out = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char.isspace() or char in ")" or char in stop:
                break
            if char == "\\":
                if self.pos + 1 >= len(self.text):
                    self.error("Dangling backslash")
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char in '([{"' or (char in ":=<>" and out):
                self.error(f"Unexpected {char!r}: quote the value or escape it with a backslash")
            out.append(WILDCARD if char == "*" else char)
            self.pos += 1
        if not out:
            self.error("Expected a value", start)
        return self.checked(Value("".join(out)), start)

    def checked(self, value: Value, start: int) -> Value:
        if value.text.count(WILDCARD) > MAX_WILDCARDS:
            self.error(f"Too many wildcards in one value: at most {MAX_WILDCARDS}", start)
        return value

    def quoted(self) -> Value:
        start = self.pos
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == '"':
                self.pos += 1
                return self.checked(Value("".join(out), quoted=True), start)
            out.append(WILDCARD if char == "*" else char)
            self.pos += 1
        self.error("Unclosed quote", start)

    def range_(self, field: str, start: int) -> Range:
        opener = self.text[self.pos]
        closer = "]" if opener == "[" else "}"
        self.pos += 1
        self.skip()
        low = self.value(stop="]}")
        self.skip()
        if not self.text.startswith("TO", self.pos):
            self.error("Expected TO in a range")
        self.pos += 2
        self.skip()
        high = self.value(stop="]}")
        self.skip()
        if self.pos >= len(self.text) or self.text[self.pos] not in "]}":
            self.error(f"Unclosed range: expected {closer!r}", start)
        end = self.text[self.pos]
        self.pos += 1
        return Range(field, low, high, opener == "[", end == "]", start)


def parse(text: str):
    """The AST of ``text``; None for an empty expression. Raises ExpressionError."""
    return _Parser(text or "").parse()


def is_expression(text: str) -> bool:
    """Whether ``text`` uses the expression language (a field qualifier, an operator, a group,
    a range, a wildcard or a negation), as opposed to plain words for a simple search."""
    try:
        node = parse(text)
    except ExpressionError:
        return any(c in text for c in ':=<>()"') or any(f" {w} " in f" {text} " for w in ("AND", "OR", "NOT"))
    return _uses_syntax(node)


def _uses_syntax(node) -> bool:
    if node is None:
        return False
    if isinstance(node, Term):
        return node.field is not None or node.value.has_wildcard or node.value.quoted
    if isinstance(node, And):
        return any(_uses_syntax(n) for n in node.nodes)
    return True  # Or, Not, Range
