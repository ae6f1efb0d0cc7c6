"""The duplicate decisions' own refusals (409): linking an appeal to itself, to an appeal with
followers, or undoing a link that is not there."""

from __future__ import annotations

from services.common.errors import Conflict


class HasFollowers(Conflict):
    code, title = "has_duplicates", "The appeal is itself the master of linked duplicates"
    message = "该诉求已有关联的重复诉求，不能再合并到其他诉求。"


class NotLinked(Conflict):
    code, title = "not_linked", "The appeal is not linked as a duplicate"
    message = "该诉求未被关联为重复诉求。"


class SameAppeal(Conflict):
    code, title = "same_appeal", "An appeal cannot be its own duplicate"
    message = "不能将诉求与其自身合并。"
