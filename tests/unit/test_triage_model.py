"""The triage model and its training: data, guard, split, cross-validation, persistence.

Honest accuracy is measured on the independent set (``bench/judgement_triage.py`` and
``tests/unit/test_judgement_triage.py``); here the figures are cross-validation and the
validation split on the training data, which say whether training works, not how good it is.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from routing.service.classifier import data, lexicon, training
from routing.service.classifier.linear import LinearHead, Vectoriser, decode_array, encode_array
from routing.service.classifier.model import ALL_CATEGORIES, KIND_OF, TriageModel, shipped_model
from routing.service.classifier.triage import triage

EXAMPLES = data.training_examples()


def test_the_training_set_covers_every_category_and_urgency() -> None:
    assert len(EXAMPLES) >= 1400
    per_category = Counter(e.category for e in EXAMPLES)
    assert min(per_category[c] for c in ALL_CATEGORIES) >= 60
    per_urgency = Counter(e.urgency for e in EXAMPLES)
    assert per_urgency["emergency"] >= 100 and per_urgency["urgent"] >= 80
    assert all(e.category in ALL_CATEGORIES and KIND_OF[e.category] == e.kind for e in EXAMPLES)


def test_the_shipped_model_is_trained_on_the_shipped_examples() -> None:
    model = shipped_model()
    # Adding examples without running `guanjia routing train --files-only --no-store --output ...`
    # would leave the shipped model behind its data.
    assert model.meta["examples"] == len(EXAMPLES)
    assert training.KIND_FLOOR <= model.thresholds.kind <= 0.99
    assert 0.3 <= model.thresholds.category <= 0.99
    assert model.meta["validation"]["n"] > 0 and model.meta["cv"]["folds"] == training.FOLDS


def test_an_evaluation_file_is_refused_as_training_data(tmp_path: Path) -> None:
    good = tmp_path / "a.yaml"
    good.write_text("- text: 路灯坏了\n  kind: micro_project\n  category: facility\n", encoding="utf-8")
    assert [e.category for e in data.training_examples(tmp_path)] == ["facility"]
    # The independent set's schema (id + labels), copied into a training folder: refused.
    (tmp_path / "b.yaml").write_text(
        "- id: A1\n  channel: web_portal\n  text: 路灯坏了\n"
        "  labels: {kind: micro_project, category: facility, urgency: normal, town: null}\n",
        encoding="utf-8",
    )
    with pytest.raises(data.EvaluationFileRefused):
        data.training_examples(tmp_path)
    (tmp_path / "b.yaml").unlink()
    # A file that declares itself evaluation-only in its header: refused.
    (tmp_path / "c.yaml").write_text(
        "# @evaluation-only: never train on this\n" + good.read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(data.EvaluationFileRefused):
        data.training_examples(tmp_path)


def test_a_label_that_contradicts_its_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        data.Example.from_mapping({"text": "x", "category": "facility", "kind": "micro_wish"}, "bad")


def test_the_validation_split_is_stratified_seeded_and_disjoint() -> None:
    fitting, held = training.split(EXAMPLES)
    assert len(fitting) + len(held) == len(EXAMPLES)
    assert not {id(e) for e in fitting} & {id(e) for e in held}
    assert 0.15 <= len(held) / len(EXAMPLES) <= 0.25
    assert {e.category for e in held} == set(ALL_CATEGORIES)
    assert Counter(e.urgency for e in held)["emergency"] >= 15
    assert training.split(EXAMPLES) == (fitting, held)  # seeded: the same every run


def test_training_tunes_on_folds_of_the_training_set_only() -> None:
    subset = EXAMPLES[::4]
    prepared = training.prepare(subset)
    tuning = training.tune(prepared, k=3)
    assert tuning.cv.n == len(subset)
    assert tuning.thresholds.kind >= training.KIND_FLOOR
    model = training.fit(prepared, fusion=tuning.fusion, thresholds=tuning.thresholds, version="t")
    assert model.category_head.classes == ALL_CATEGORIES
    assert model.kind_head.classes == ("micro_project", "micro_wish")
    # Learned: the training rows themselves are mostly right, and every fit is the same bytes.
    assert training.score(model, prepared).category >= 0.9
    again = training.fit(prepared, fusion=tuning.fusion, thresholds=tuning.thresholds, version="t")
    assert again.dumps() == model.dumps()


def test_cross_validation_on_the_training_data_is_sane() -> None:
    cv = shipped_model().meta["cv"]
    assert cv["kind"] >= 0.95 and cv["category"] >= 0.85
    assert cv["emergency_recall"] >= 0.9 and cv["urgency"] >= 0.85


def test_inference_matches_scikit_learn() -> None:
    prepared = training.prepare(EXAMPLES[::10])
    fitted = training.fit_heads(prepared, training.HYPER)
    model = training.fit(prepared, version="t")
    ours = [model.heads(p.terms) for p in prepared[:20]]
    theirs = fitted.heads(prepared[:20])
    for a, b in zip(ours, theirs, strict=True):
        for c in ALL_CATEGORIES:
            # float16 coefficients: a few thousandths of a log-probability apart at most.
            assert abs(a.category[c] - b.category[c]) < 0.05


def test_the_model_file_round_trips_is_plain_data_and_small() -> None:
    model = shipped_model()
    blob = model.dumps()
    assert len(blob) < 1_500_000
    again = TriageModel.loads(blob)
    assert again.dumps() == blob
    raw = json.loads(gzip.decompress(blob))
    assert raw["format"] == 2 and isinstance(raw["vectoriser"]["vocabulary"], list)
    with pytest.raises(ValueError):
        TriageModel.from_json({**raw, "format": 1})


def test_arrays_decode_only_numbers() -> None:
    values = np.array([[1.5, -2.0], [0.25, 3.0]])
    assert np.array_equal(decode_array(encode_array(values, "<f8")), values)
    with pytest.raises(ValueError):
        decode_array({"dtype": "|O", "shape": [1], "b64": ""})


def test_a_short_row_is_scaled_down_not_up() -> None:
    vec = Vectoriser(("a", "b", "c"), np.array([3.0, 4.0, 1.0]), norm_floor=10.0)
    cols, vals = vec.transform(("a", "b", "zzz"))
    assert cols == [0, 1] and np.allclose(vals, [0.3, 0.4])  # norm 5 < floor 10
    long = Vectoriser(("a", "b"), np.array([30.0, 40.0]), norm_floor=10.0)
    assert np.allclose(long.transform(("a", "b"))[1], [0.6, 0.8])  # plain L2 above the floor
    head = LinearHead(("x", "y"), np.array([[2.0, 0.0]]), np.array([0.0]))
    assert head.log_proba([0], np.array([1.0]))["y"] > np.log(0.5)


def test_model_words_come_from_the_appeal() -> None:
    for e in EXAMPLES[::97]:
        result = triage(e.title, e.text, e.hint)
        rules = {x.rule: x.matched for x in result.explanations}
        assert rules["model"][0] == f"model={shipped_model().version}"
        words = rules[f"category.{result.category}"]
        text = lexicon.read(e.title, e.text).text
        assert all(all(part in text for part in w.split("…")) for w in words), (words, text)


def test_a_written_call_is_also_learnt_as_the_gateway_passes_it_on() -> None:
    call = "话务员：您好，请讲。\n市民：我是樟村的，我妈妈脑梗了。\n话务员：交不上费用是吗？\n市民：是的"
    assert training.caller_words(call) == "我是樟村的，我妈妈脑梗了。\n是的"
    assert training.caller_words("来电人反映：路灯坏了") is None  # a summary, not a call
    rows = training.prepare(
        [data.Example(text=call, kind="micro_wish", category="medical", urgency="emergency")]
    )
    assert len(training.with_received_calls(rows)) == 2
