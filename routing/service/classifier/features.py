"""What the classifier sees of an appeal: jieba words and character n-grams of the normalised text.

The text is the one the rules read (:func:`routing.service.classifier.lexicon.read`): simplified, half-width,
colloquial Cantonese and common typos rewritten, lower-cased. Words carry meaning (住院, 路灯);
single characters and character bigrams catch what the tokenizer splits oddly, unseen compounds and
misspellings (楼道灯 → 楼道, 道灯). Digits fold to ``0`` so that 3栋 and 5栋 are one feature.
Presence counts, not frequency: appeals are short and a repeated word says little more. The
linear model weighs each term by its inverse document frequency (``routing.service.classifier.linear``).
"""

from __future__ import annotations

import re

from routing.service.classifier import lexicon

_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Runs of CJK characters (and the digit placeholder): n-grams never span punctuation or spaces.
_RUNS = re.compile(r"[\u4e00-\u9fff0]+")
_WORD = re.compile(r"[\u4e00-\u9fffa-z]")
# Chosen by cross-validation on the training files: single characters help (category 91.5% ->
# 93.7%, manual queue 17% -> 8%); trigrams, with them, do not.
UNIGRAMS = True
TRIGRAMS = False
_STOP_WORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "我",
        "我们",
        "你",
        "他",
        "她",
        "它",
        "和",
        "与",
        "也",
        "都",
        "就",
        "还",
        "又",
        "很",
        "太",
        "好",
        "啊",
        "呀",
        "吧",
        "呢",
        "嘛",
        "哦",
        "这",
        "那",
        "这个",
        "那个",
        "一个",
        "有",
        "没",
        "不",
        "去",
        "来",
        "说",
        "要",
        "会",
        "能",
        "可以",
        "被",
        "把",
        "给",
        "让",
        "对",
        "着",
        "过",
        "上",
        "下",
        "里",
        "中",
        "请",
        "您",
        "你好",
        "喂",
    ]
)


def _fold(text: str) -> str:
    return _DIGITS.sub("0", text)


def featurise(doc: lexicon.Doc) -> tuple[str, ...]:
    """The terms of a read appeal: ``w:`` words, ``u:`` characters, ``b:`` bigrams (``t:`` trigrams).

    Sorted and unique, so the same text always gives the same terms (presence, not counts).
    """
    features: set[str] = set()
    for token in doc.tokens:
        token = _fold(token.strip())
        if token and token not in _STOP_WORDS and _WORD.search(token):
            features.add("w:" + token)
    for run in _RUNS.findall(_fold(doc.text)):
        if UNIGRAMS:
            features.update("u:" + ch for ch in run if ch != "0")
        for i in range(len(run) - 1):
            features.add("b:" + run[i : i + 2])
        if TRIGRAMS:
            for i in range(len(run) - 2):
                features.add("t:" + run[i : i + 3])
    return tuple(sorted(features))


def readable(feature: str) -> str:
    """A feature as a person reads it in an explanation (the prefix dropped)."""
    return feature.split(":", 1)[1]
