"""The open-set selection experiment (``experiments/selection/openset_rules.py``) chooses by
its documented rule; the full run needs a trained model and dev scenes (``make
select-openset``), its choice rule is checked here on known scores."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _selection():
    path = REPO / "experiments" / "selection" / "openset_rules.py"
    spec = importlib.util.spec_from_file_location("openset_rules", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def _dev():
    source = np.array(["foreign", "foreign", "catalog", "catalog", "real", "real"])
    return {"theme": np.array(["X1", "X2", "T01", "T02", "T01", "T02"]),
            "unlearned": source == "foreign", "catalog": source == "catalog",
            "real": source == "real"}


def test_score_counts_each_share_by_hand():
    sel = _selection()
    name = np.array(["unknown", "T03", "T01", "T02", "T01", "unknown"])
    s = sel.score(name, np.array(["T01", "T02"]), _dev(), np.array(["T01", "T01"]))
    assert (s.unknown, s.catalog, s.right, s.unknown_real, s.wrong, s.test) == \
        (0.5, 1.0, 1, 1, 0, 0.5)
    assert not s.eligible          # the test share 0.5 is under the 0.97 target


def test_choose_takes_most_unknown_among_eligible_then_fewer_wrong_then_higher_key():
    sel = _selection()
    S = sel.Scored

    def s(unknown, wrong=0, catalog=1.0, test=1.0):
        return S(unknown=unknown, catalog=catalog, right=5, unknown_real=0, wrong=wrong,
                 test=test)

    assert sel.choose([(s(0.9, catalog=0.9), "a"), (s(0.5), "b"), (s(0.4), "c")]) == "b"
    assert sel.choose([(s(0.5, wrong=2), 0.95), (s(0.5, wrong=1), 0.9)]) == 0.9
    assert sel.choose([(s(0.5), 0.95), (s(0.5), 0.98)]) == 0.98
    assert sel.choose([(s(0.9, test=0.5), "a")]) is None
