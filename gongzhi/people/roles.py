"""Roles held on places, and what each role may do within the subtree of its place.

A role held on a place reaches that place's subtree. A resident holds the role ``resident`` on their household,
so the same rule gives them exactly their own household's records.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("district admin")
    STREET_ADMIN = "street_admin", _("street admin")
    COMMUNITY_SECRETARY = "community_secretary", _("community secretary")
    COMMUNITY_WORKER = "community_worker", _("community worker")
    REVIEW_COMMITTEE_MEMBER = "review_committee_member", _("review committee member")
    GRID_WORKER = "grid_worker", _("grid worker")
    BUILDING_HEAD = "building_head", _("building head")
    ENTRANCE_HEAD = "entrance_head", _("entrance head")
    MEDIATOR = "mediator", _("mediator")
    SERVICE_AGENT = "service_agent", _("service agent")
    MERCHANT_CLERK = "merchant_clerk", _("merchant clerk")
    ORGANISATION_REPRESENTATIVE = "organisation_representative", _("resident organisation representative")
    RESIDENT = "resident", _("resident")


class Permission(models.TextChoices):
    PLACE_VIEW = "place.view", _("see places")
    PLACE_MANAGE = "place.manage", _("create, rename and move places")
    RESIDENT_VIEW = "resident.view", _("see residents (masked)")
    RESIDENT_REVEAL = "resident.reveal", _("see unmasked personal data for a stated purpose")
    RESIDENT_EXPORT = "resident.export", _("export residents to Excel")
    ROSTER_IMPORT = "roster.import", _("import rosters")
    ROLE_ASSIGN = "role.assign", _("assign roles")
    AUDIT_VIEW = "audit.view", _("read the audit log")


P = Permission
_STAFF_VIEW = {P.PLACE_VIEW, P.RESIDENT_VIEW}
_MANAGERS = _STAFF_VIEW | {
    P.PLACE_MANAGE,
    P.RESIDENT_REVEAL,
    P.RESIDENT_EXPORT,
    P.ROSTER_IMPORT,
    P.ROLE_ASSIGN,
    P.AUDIT_VIEW,
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.DISTRICT_ADMIN: frozenset(_MANAGERS),
    Role.STREET_ADMIN: frozenset(_MANAGERS),
    Role.COMMUNITY_SECRETARY: frozenset(_MANAGERS),
    Role.COMMUNITY_WORKER: frozenset(_STAFF_VIEW | {P.RESIDENT_REVEAL, P.RESIDENT_EXPORT, P.ROSTER_IMPORT}),
    Role.REVIEW_COMMITTEE_MEMBER: frozenset({P.PLACE_VIEW}),
    Role.GRID_WORKER: frozenset(_STAFF_VIEW | {P.RESIDENT_REVEAL, P.RESIDENT_EXPORT}),
    Role.BUILDING_HEAD: frozenset(_STAFF_VIEW),
    Role.ENTRANCE_HEAD: frozenset(_STAFF_VIEW),
    Role.MEDIATOR: frozenset(_STAFF_VIEW),
    Role.SERVICE_AGENT: frozenset(_STAFF_VIEW | {P.RESIDENT_REVEAL}),
    Role.MERCHANT_CLERK: frozenset({P.PLACE_VIEW}),
    Role.ORGANISATION_REPRESENTATIVE: frozenset({P.PLACE_VIEW}),
    Role.RESIDENT: frozenset({P.PLACE_VIEW, P.RESIDENT_VIEW}),
}

# Roles that work in the back office (staff pages, tables, exports) rather than the resident's phone pages.
STAFF_ROLES = frozenset(set(Role) - {Role.RESIDENT, Role.MERCHANT_CLERK, Role.ORGANISATION_REPRESENTATIVE})

# Who may grant which role: a role can be granted only by a manager whose place covers the target place.
ROLE_RANK: dict[str, int] = {
    Role.DISTRICT_ADMIN: 1,
    Role.STREET_ADMIN: 2,
    Role.COMMUNITY_SECRETARY: 3,
}
