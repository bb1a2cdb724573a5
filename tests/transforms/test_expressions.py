"""Variables, arithmetic and conditions: text -> canonical form -> value, and errors."""

import pytest

from core.errors import BadRequest
from transforms.cloudinary.expressions import (
    Env, is_expression, is_variable_key, parse_assignment, parse_condition, parse_value,
)

ENV = Env(iw=800, ih=600, w=400, h=200, fc=2, tags=["sale", "shoes"], ctx={"productType": "shoe"},
          variables={"size": 120.0, "label": "hi"})


@pytest.mark.parametrize("text,canonical,value", [
    ("100", "100", 100),
    ("0.5", "0.5", 0.5),
    ("-20", "-20", -20),
    ("iw", "iw", 800),
    ("iw_div_2", "iw_div_2", 400),
    ("iw_div_2_add_10", "iw_div_2_add_10", 410),
    ("10_add_iw_div_2", "10_add_iw_div_2", 410),          # mul/div before add/sub
    ("2_pow_3_pow_2", "2_pow_3_pow_2", 512),              # pow is right-associative
    ("ih_mod_7", "ih_mod_7", 600 % 7),
    ("$size_mul_2", "$size_mul_2", 240),
    ("ar_mul_100", "ar_mul_100", 200),
    ("iar", "iar", 800 / 600),
    ("fc_add_1", "fc_add_1", 3),
    ("w_sub_h", "w_sub_h", 200),
    ("iw_*_2", "iw_mul_2", 1600),                          # symbolic operators
    ("!hello!", "!hello!", "hello"),
])
def test_expression_table(text, canonical, value):
    expr = parse_value(text)
    assert expr.canonical == canonical
    assert expr.evaluate(ENV) == pytest.approx(value) if isinstance(value, (int, float)) else expr.evaluate(ENV) == value
    assert parse_value(expr.canonical) == expr  # canonical text parses back to the same expression


@pytest.mark.parametrize("text,message", [
    ("iw_div", "missing"),
    ("div_2", "missing"),
    ("iw__2", "empty"),
    ("banana", "Invalid expression term"),
    ("initial_width", "Invalid expression term"),
    ("iw_div_2_3", "unexpected"),
    ("!open", "unterminated"),
    ("tags", "Invalid expression term"),
    ("_".join(["1", "add"] * 40) + "_1", "too long"),
])
def test_expression_errors(text, message):
    with pytest.raises(BadRequest, match=message):
        parse_value(text)


@pytest.mark.parametrize("text,message", [
    ("iw_div_0", "Division by zero"),
    ("$missing_add_1", "Undefined variable"),
    ("$label_add_1", "string"),
    ("10_pow_400", "too large"),
])
def test_evaluation_errors(text, message):
    with pytest.raises(BadRequest, match=message):
        parse_value(text).evaluate(ENV)


@pytest.mark.parametrize("text,expected", [
    ("100", False), ("0.5", False), ("iw", True), ("iw_div_2", True), ("$x", True), ("$x_add_1", True),
    ("fill", False), ("auto", False),
])
def test_is_expression(text, expected):
    assert is_expression(text) is expected


@pytest.mark.parametrize("text,expected", [
    ("w_gt_200", True),
    ("w_lt_200", False),
    ("w_gte_400", True),
    ("h_lte_199", False),
    ("ar_gt_1", True),
    ("iw_eq_800_and_ih_eq_600", True),
    ("iw_eq_1_and_ih_eq_600", False),
    ("iw_eq_1_or_ih_eq_600", True),
    ("iw_eq_1_and_ih_eq_1_or_fc_eq_2", True),             # and binds tighter than or
    ("w_>_200", True),                                       # symbolic comparison
    ("!sale!_in_tags", True),
    ("!sale:shoes!_in_tags", True),
    ("!sale:hats!_in_tags", False),
    ("!hats!_nin_tags", True),
    ("ctx:!productType!_eq_!shoe!", True),
    ("ctx:!productType!_ne_!shoe!", False),
    ("ctx:!missing!_eq_!!", True),
    ("$size_gt_100", True),
    ("iw_div_2_gt_w_sub_1", True),
])
def test_condition_table(text, expected):
    condition = parse_condition(text)
    assert condition.evaluate(ENV) is expected
    assert parse_condition(condition.canonical) == condition


@pytest.mark.parametrize("text", ["w_200", "w_gt", "gt_200", "w_gt_200_and", "w_gt_eq_2", "ctx:_eq_!a!",
                                  "w_bigger_200"])
def test_condition_errors(text):
    with pytest.raises(BadRequest):
        parse_condition(text)


def test_string_comparison_with_lt_is_an_error():
    with pytest.raises(BadRequest, match="compares numbers"):
        parse_condition("ctx:!productType!_lt_!z!").evaluate(ENV)


def test_assignments():
    env = Env(iw=800, ih=600, w=800, h=600)
    parse_assignment("$half", "iw_div_2").apply(env)
    parse_assignment("$quarter", "$half_div_2").apply(env)
    parse_assignment("$style", "!light!").apply(env)
    assert env.variables == {"half": 400, "quarter": 200, "style": "light"}
    assert parse_assignment("$half", "iw_div_2").canonical == "$half_iw_div_2"
    assert is_variable_key("$abc1") and not is_variable_key("$1a") and not is_variable_key("w")
    for key, value in [("$1x", "1"), ("$x", ""), ("x", "1")]:
        with pytest.raises(BadRequest):
            parse_assignment(key, value)
