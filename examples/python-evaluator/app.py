"""token_f1: an Ember evaluator written in Python.

Scores the token-level F1 between the output and the expected answer after SQuAD-style
normalisation (lowercase, punctuation and the articles a/an/the removed, whitespace collapsed).
Config: {"threshold": 0.5}: the label is `pass` when F1 >= threshold, `fail` otherwise.

Built into a component with componentize-py (see build.sh); the `wit_world` package is generated
from ../../wit by componentize-py at build time.
"""

import json
import re
import string
from collections import Counter

import wit_world
from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports.evaluation import EvalInput, Score
from wit_world.imports.types import (
    Descriptor,
    PluginError_InvalidConfig,
    PluginError_InvalidInput,
)

NAME = "token_f1"
VERSION = "0.1.0"
DEFAULT_THRESHOLD = 0.5

CONFIG_SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {
            "threshold": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": DEFAULT_THRESHOLD,
                "description": "F1 at or above which the label is `pass`.",
            }
        },
        "additionalProperties": False,
    }
)

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """SQuAD's normalize_answer: lowercase, drop punctuation and articles, collapse spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def unwrap(raw: str, what: str):
    """Text of a JSON value: a string is itself, an object with a single string field is that
    field, a number or boolean is its JSON text, null is None. Text that is not JSON is taken
    as it is. Anything else is an invalid input."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, dict) and len(value) == 1:
        (inner,) = value.values()
        if isinstance(inner, str):
            return inner
    raise Err(
        PluginError_InvalidInput(
            f"{what} must be text, a JSON string or an object with one string field"
        )
    )


def read_threshold() -> float:
    try:
        config = json.loads(host.config() or "{}")
    except ValueError as e:
        raise Err(PluginError_InvalidConfig(f"config is not JSON: {e}"))
    if not isinstance(config, dict):
        raise Err(PluginError_InvalidConfig("config must be a JSON object"))
    unknown = sorted(set(config) - {"threshold"})
    if unknown:
        raise Err(PluginError_InvalidConfig(f"unknown config keys: {', '.join(unknown)}"))
    threshold = config.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise Err(PluginError_InvalidConfig("threshold must be a number from 0 to 1"))
    return float(threshold)


def token_f1(output: str, expected: str):
    """(f1, precision, recall, output tokens, expected tokens, common tokens)."""
    out_tokens = normalize(output).split()
    exp_tokens = normalize(expected).split()
    if not out_tokens or not exp_tokens:
        # Both empty counts as a match, one empty as a miss (SQuAD v2 convention).
        same = float(out_tokens == exp_tokens)
        return same, same, same, len(out_tokens), len(exp_tokens), 0
    common = sum((Counter(out_tokens) & Counter(exp_tokens)).values())
    if common == 0:
        return 0.0, 0.0, 0.0, len(out_tokens), len(exp_tokens), 0
    precision = common / len(out_tokens)
    recall = common / len(exp_tokens)
    f1 = 2 * precision * recall / (precision + recall)
    return f1, precision, recall, len(out_tokens), len(exp_tokens), common


class WitWorld(wit_world.WitWorld):
    def describe(self) -> Descriptor:
        return Descriptor(
            name=NAME,
            version=VERSION,
            description="Token-level F1 between output and expected (SQuAD normalisation)",
            config_schema=CONFIG_SCHEMA,
        )

    def evaluate(self, input: EvalInput) -> list[Score]:
        threshold = read_threshold()
        if input.expected is None:
            raise Err(PluginError_InvalidInput("token_f1 needs an expected answer"))
        expected = unwrap(input.expected, "expected")
        if expected is None:
            raise Err(PluginError_InvalidInput("token_f1 needs an expected answer"))
        output = unwrap(input.output, "output") or ""

        f1, precision, recall, n_out, n_exp, common = token_f1(output, expected)
        label = "pass" if f1 >= threshold else "fail"
        host.log(
            host.LogLevel.DEBUG,
            f"{NAME}: f1={f1:.3f} precision={precision:.3f} recall={recall:.3f} label={label}",
        )
        return [
            Score(
                name=NAME,
                score=f1,
                label=label,
                explanation=(
                    f"{common} of {n_out} output tokens match the {n_exp} expected tokens: "
                    f"F1 {f1:.2f} (precision {precision:.2f}, recall {recall:.2f}) is "
                    f"{'at or above' if label == 'pass' else 'below'} the threshold {threshold:g}."
                ),
                metadata=json.dumps(
                    {
                        "precision": precision,
                        "recall": recall,
                        "threshold": threshold,
                        "output_tokens": n_out,
                        "expected_tokens": n_exp,
                        "common_tokens": common,
                    }
                ),
            )
        ]
