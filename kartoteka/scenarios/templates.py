"""Values of steps: sandboxed Jinja2 templates for text, simpleeval for arithmetic.

- A string is a template: `"Won: {{ record.title }}"`. A string that is one
  expression and nothing else (`"{{ record.amount }}"`) gives the expression's own
  value (a number stays a number, a list a list), not its text.
- `{"expr": "record.amount * 0.2"}` is arithmetic over the same names, evaluated by
  simpleeval: no attribute tricks, no imports, no Python `eval`.
- Anything else (numbers, booleans, null) is itself; lists and objects are walked.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from simpleeval import EvalWithCompoundTypes, InvalidExpression

from .errors import StepFailed

if TYPE_CHECKING:
    from .steps.base import Checker

MAX_TEXT = 1_000_000
_WHOLE = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}$", re.S)
_CACHE_SIZE = 2048


class StepsView(list):
    """Outputs of the steps run so far: `steps[0]` by order, `steps["id"]` by step id."""

    def __init__(self, outputs: list[Any], named: dict[str, int]) -> None:
        super().__init__(outputs)
        self.named = named

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            index = self.named.get(key)
            return None if index is None or index >= len(self) else list.__getitem__(self, index)
        return list.__getitem__(self, key)


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
    env.globals.clear()
    env.globals.update(range=range, dict=dict)
    return env


_env = _environment()
_html_env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=True)
_compiled: OrderedDict[tuple[bool, bool, str], Any] = OrderedDict()
_lock = threading.Lock()


def _compile(text: str, expression: bool, html: bool = False) -> Any:
    key = (expression, html, text)
    with _lock:
        hit = _compiled.get(key)
        if hit is not None:
            _compiled.move_to_end(key)
            return hit
    env = _html_env if html else _env
    compiled = env.compile_expression(text) if expression else env.from_string(text)
    with _lock:
        _compiled[key] = compiled
        while len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)
    return compiled


def template_problem(text: str) -> str | None:
    """Why `text` is not a valid template, in Jinja2's words (None when it is)."""
    try:
        whole = _WHOLE.match(text)
        if whole:
            _compile(whole.group("expr").strip(), expression=True)
        else:
            _compile(text, expression=False)
    except TemplateError as exc:
        return str(exc)
    return None


def _undefined_to_none(value: Any) -> Any:
    return None if isinstance(value, ChainableUndefined) else value


def render_text(text: str, context: dict[str, Any], html: bool = False) -> str:
    """Render a template to text (HTML-escaped values when `html`)."""
    try:
        out = _compile(text, expression=False, html=html).render(context)
    except TemplateError as exc:
        raise StepFailed.of("scenario_template", reason=str(exc)) from None
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise StepFailed.of("scenario_template", reason=f"{type(exc).__name__}: {exc}") from None
    if len(out) > MAX_TEXT:
        raise StepFailed.of("step_template_long", max=MAX_TEXT)
    return out


def render_string(text: str, context: dict[str, Any]) -> Any:
    """A string value: one whole expression keeps its type, anything else is text."""
    if "{" not in text:
        return text
    whole = _WHOLE.match(text)
    if not whole:
        return render_text(text, context)
    try:
        value = _compile(whole.group("expr").strip(), expression=True)(**context)
    except TemplateError as exc:
        raise StepFailed.of("scenario_template", reason=str(exc)) from None
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise StepFailed.of("scenario_template", reason=f"{type(exc).__name__}: {exc}") from None
    return _plain(_undefined_to_none(value))


def _plain(value: Any) -> Any:
    """Make a template's value JSON-friendly (views and tuples become lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Arithmetic over the context's names (simpleeval; never Python `eval`)."""
    names = {k: (list(v) if isinstance(v, StepsView) else v) for k, v in context.items()}
    evaluator = EvalWithCompoundTypes(names=names, functions=_FUNCTIONS)
    try:
        return _plain(evaluator.eval(expression))
    except (InvalidExpression, SyntaxError) as exc:
        raise StepFailed.of("step_expression", expression=expression, reason=str(exc)) from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise StepFailed.of("step_expression", expression=expression, reason=reason) from None


def _num(value: Any) -> float:
    return float(value or 0)


_FUNCTIONS = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sum": sum,
    "len": len,
    "int": int,
    "float": float,
    "str": str,
    "num": _num,
}


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render every template inside a JSON value."""
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    if isinstance(value, dict):
        if set(value) == {"expr"} and isinstance(value["expr"], str):
            return evaluate(value["expr"], context)
        return {k: render_value(v, context) for k, v in value.items()}
    return value


def check_value(value: Any, where: str, check: Checker) -> None:
    """Note template syntax errors inside a JSON value, by path."""
    if isinstance(value, str):
        reason = template_problem(value) if "{" in value else None
        if reason:
            check.add(where, "scenario_template", reason=reason)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_value(v, f"{where}[{i}]", check)
    elif isinstance(value, dict):
        if set(value) == {"expr"}:
            if not isinstance(value["expr"], str) or not value["expr"].strip():
                check.add(where, "scenario_expr")
            return
        for k, v in value.items():
            check_value(v, f"{where}.{k}", check)
