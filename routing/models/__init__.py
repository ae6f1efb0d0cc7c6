"""Routing's tables (schema ``routing``), one module per concern."""

from __future__ import annotations

from routing.models.base import Base, commands, messaging
from routing.models.catalogue import CataloguePolicy, CatalogueVersion
from routing.models.consultations import Consultation, ConsultationObjection
from routing.models.dispositions import AgendaItem, Assignment, JointMeeting
from routing.models.donors import Claim, ClaimListing, Donor
from routing.models.facts import AppealFact
from routing.models.stations import ServiceRecord, Station
from routing.models.triage import ManualTriageItem, TriageCorrection, TriageModelRecord, TriageResult

__all__ = [
    "AgendaItem",
    "AppealFact",
    "Assignment",
    "Base",
    "CataloguePolicy",
    "CatalogueVersion",
    "Claim",
    "ClaimListing",
    "Consultation",
    "ConsultationObjection",
    "Donor",
    "JointMeeting",
    "ManualTriageItem",
    "ServiceRecord",
    "Station",
    "TriageCorrection",
    "TriageModelRecord",
    "TriageResult",
    "commands",
    "messaging",
]
