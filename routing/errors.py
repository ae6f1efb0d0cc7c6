"""Routing's problems: stable codes, Chinese details (RFC 9457 via services.common.errors)."""

from __future__ import annotations

from services.common.errors import Conflict, InvalidInput


class SendBackRefused(Conflict):
    code, title = "send_back_refused", "Send-back not allowed"
    message = "该诉求已由镇街（市）决定承办单位或退单次数已达上限，不能再退回。"


class NotInQueue(Conflict):
    code, title = "not_in_queue", "Appeal not waiting for a decision"
    message = "该诉求当前不在人工分拣队列中。"


class CatalogueChanged(Conflict):
    code, title = "catalogue_version_conflict", "The catalogue changed meanwhile"
    message = "政策目录已被他人修改，请刷新后在最新版本上编辑。"


class ConsultationClosed(Conflict):
    code, title = "consultation_state", "Consultation not in a state that allows this"
    message = "该协商事项当前状态不允许此操作。"


class OverClaim(Conflict):
    code, title = "over_claim", "Claim exceeds what is still needed"
    message = "认领金额超过该诉求尚需的金额，请减少认领金额。"


class AlreadyClaimed(Conflict):
    code, title = "already_claimed", "Micro-wish already claimed"
    message = "该微心愿已被其他爱心人士认领。"


class ListingClosed(Conflict):
    code, title = "listing_not_open", "Appeal not open for claims"
    message = "该诉求当前不在认领池中。"


class NotClaimable(Conflict):
    code, title = "not_claimable", "Appeal not claimable by donors"
    message = "该诉求暂不能认领：微实事须经协商议事通过并公示期满，微心愿须分拣为“莞家直达”。"


class DonorNotVerified(Conflict):
    code, title = "donor_not_verified", "Donor not verified yet"
    message = "您的爱心资源库登记尚未通过审核，暂不能认领。"


class ClaimState(Conflict):
    code, title = "claim_state", "Claim not in a state that allows this"
    message = "该认领当前状态不允许此操作。"


class NotEscalable(Conflict):
    code, title = "not_escalable", "Appeal cannot be escalated to the city"
    message = "该诉求当前不能上报市级。"


class UnknownUnit(InvalidInput):
    code, title = "unknown_unit", "Unknown handling unit"
    message = "找不到指定的承办单位。"


class UnknownPolicy(InvalidInput):
    code, title = "unknown_policy", "Unknown policy"
    message = "政策目录中没有该政策。"
