"""Shared pieces of the security tests, by concern: who may call which gateway route (`access`), the
callers (`callers`), requests that reach every route (`samples`), the commands that name an appeal
(`commands`), and the whole system in-process (`system`: the gateway in front of the real intake,
routing, deadlines and ledger apps and their real workers).

The tests import from the package; the names below are its surface.
"""

from tests.fixtures import bearer
from tests.integration.security_support.access import ACCESS, PROBLEM, gateway_routes
from tests.integration.security_support.callers import (
    AUDITOR,
    BEIZHA,
    BY_ROLE,
    CHANGAN,
    CITY,
    DEPARTMENT,
    HUMEN,
    HUMENZHAI,
    OTHER_DEPARTMENT,
    OTHER_STATION_STAFF,
    OTHER_TOWN,
    OTHER_VILLAGE,
    STATION,
    STATION_CODE,
    TOWN,
    VILLAGE,
    forged,
    person,
    resident_bearer,
)
from tests.integration.security_support.commands import (
    Command,
    appeal_commands,
    consultation_commands,
    minutes,
)
from tests.integration.security_support.samples import sample_path, sample_request
from tests.integration.security_support.system import (
    System,
    holder_of,
    register_station,
    running_system,
    settle,
)

__all__ = [
    "ACCESS",
    "AUDITOR",
    "BEIZHA",
    "BY_ROLE",
    "CHANGAN",
    "CITY",
    "DEPARTMENT",
    "HUMEN",
    "HUMENZHAI",
    "OTHER_DEPARTMENT",
    "OTHER_STATION_STAFF",
    "OTHER_TOWN",
    "OTHER_VILLAGE",
    "PROBLEM",
    "STATION",
    "STATION_CODE",
    "TOWN",
    "VILLAGE",
    "Command",
    "System",
    "appeal_commands",
    "bearer",
    "consultation_commands",
    "forged",
    "gateway_routes",
    "holder_of",
    "minutes",
    "person",
    "register_station",
    "resident_bearer",
    "running_system",
    "sample_path",
    "sample_request",
    "settle",
]
