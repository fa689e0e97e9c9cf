"""What the fuzz tests (test_fuzz_*.py) share: one fixed example budget and the checks every
answer must pass.

CI runs a fixed, derandomized set of examples (the same inputs every run, no example database,
no deadline: a loaded 2-core machine must not turn slowness into failures). For a longer local
hunt: STOKER_FUZZ_EXAMPLES=5000 STOKER_FUZZ_RANDOM=1 pytest tests/abuse/test_fuzz_*.py
"""
from __future__ import annotations

import json
import os
import re

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("STOKER_FUZZ_EXAMPLES", "120"))

budget = settings(max_examples=EXAMPLES, derandomize=not os.environ.get("STOKER_FUZZ_RANDOM"),
                  deadline=None, database=None, print_blob=True,
                  # the app and its store are made once per test, not per example, on purpose:
                  # objects made by earlier examples are what later ones trip over
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.filter_too_much])

# text as a hostile client sends it: any code point, lone surrogates and NUL included
any_text = st.text(st.characters(blacklist_categories=()), max_size=40)
numbers = st.one_of(st.integers(), st.integers(min_value=10 ** 300, max_value=10 ** 400),
                    st.floats(allow_nan=True, allow_infinity=True))
scalars = st.one_of(st.none(), st.booleans(), numbers, any_text)
# what a well-formed body holds, for fuzzing what comes after the JSON reader
finite_scalars = st.one_of(st.none(), st.booleans(), st.integers(), any_text,
                           st.floats(allow_nan=False, allow_infinity=False))


def json_values(keys=any_text, max_leaves=12, leaves=scalars):
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=max_leaves)


def encode(value) -> bytes:
    """JSON text as a client could send it: NaN and Infinity literals, surrogates escaped."""
    return json.dumps(value, allow_nan=True).encode()


# "<where>: <what>", where is a field or a path into one (`inputs[0].name`, `request body`,
# `template:3:5: resources.x.properties`); field names are the client's own, so any text
NAMES_A_FIELD = re.compile(r"^(?s:.)+?: ")
PYTHON_ERRORS = re.compile(r"^(\w+Error|KeyError|Exception)\b")


def check_answer(response, *, field_named: bool = True) -> None:
    """Never a 500, never a traceback; an error says which field (or the body) is at fault."""
    text = response.get_data(as_text=True)
    assert response.status_code < 500, text[:500]
    assert "Traceback" not in text and 'File "' not in text, text[:500]
    if response.status_code >= 400 and response.mimetype == "application/json":
        error = response.get_json()["error"]
        message = error["message"] if isinstance(error, dict) else str(error)
        assert message, text[:500]
        if field_named and response.status_code == 400:
            assert NAMES_A_FIELD.match(message), message[:300]
            assert not PYTHON_ERRORS.match(message), message[:300]
