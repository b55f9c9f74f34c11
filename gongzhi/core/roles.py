"""Roles held on places, and what each role may do within the subtree of its place.

A role held on a place reaches that place's subtree. A resident holds the role ``resident`` on their household,
so the same rule gives them exactly their own household's records.
"""

from __future__ import annotations

from collections.abc import Collection

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
    PARTY_MANAGE = "party.manage", _("enter party members and their registration")
    ROLE_ASSIGN = "role.assign", _("assign roles")
    AUDIT_VIEW = "audit.view", _("read the audit log")
    CASE_VIEW = "case.view", _("see resident requests in the place's subtree")
    CASE_INTAKE = "case.intake", _("record resident requests on a resident's behalf")
    CASE_HANDLE = "case.handle", _("handle resident requests at one's own place and level")
    CASE_IMPORT = "case.import", _("import hotline requests")
    CASE_CONFIGURE = "case.configure", _("configure request categories, routing, deadlines and holidays")
    VISIT_LOG = "visit.log", _("log household visits")
    DISPUTE_MEDIATE = "dispute.mediate", _("register and mediate disputes")
    AGENT_SERVICE = "agent_service.handle", _("handle agent services for residents")
    PUBLICATION_MANAGE = "points.publication_manage", _("publish and lock the monthly points list")
    OBJECTION_RAISE = "points.objection_raise", _("raise objections to the monthly points list")
    OBJECTION_DECIDE = "points.objection_decide", _("uphold or dismiss objections to the points list")
    SELECTION_MANAGE = "points.selection_manage", _("propose, confirm and publish the annual selection")
    EVALUATION_EXPORT = "points.evaluation_export", _("export party members' and organisations' annual points")
    POINTS_VIEW = "points.view", _("see points accounts, balances, history and claims")
    CLAIM_SUBMIT_ON_BEHALF = "points.claim_on_behalf", _("record points claims on a resident's behalf")
    CLAIM_REVIEW = "points.claim_review", _("review (approve, reject, return) points claims")
    POINTS_ADJUST = "points.adjust", _("propose and approve manual points adjustments")
    CATALOGUE_MANAGE = "points.catalogue_manage", _("manage the points catalogue and its values")
    SHOP_MANAGE = "shop.manage", _("manage the points shop: alliance, offers, stock, exchange windows, settings")
    OFFER_APPROVE = "shop.offer_approve", _("approve merchants' offers before they show")
    REDEMPTION_VERIFY = "shop.redemption_verify", _("verify pickup codes at the community's own points shop")
    SETTLEMENT_VIEW = "shop.settlement_view", _("see and export merchants' monthly settlement and stock movements")
    # Volunteering (gongzhi/volunteering)
    VOLUNTEERING_MANAGE = "volunteering.manage", _("run volunteer teams and activities, close them, add honour hours")
    WISH_APPROVE = "volunteering.wish_approve", _("approve residents' micro-wishes for the wish wall")
    # end volunteering
    # Deliberation (gongzhi/deliberation)
    DELIBERATION_MANAGE = "deliberation.manage", _("keep the consultation catalogue, the agenda, steps and votes")
    BALLOT_ENTER = "deliberation.ballot_enter", _("enter paper ballots with the tally sheet")
    # end deliberation
    # Co-building (gongzhi/cobuilding)
    COBUILDING_MANAGE = "cobuilding.manage", _("manage co-building agreements, lists, projects, meetings and pairings")
    FUND_APPROVE = "cobuilding.fund_approve", _("approve spending from the community service fund")
    ASSESSMENT_SCORE = "cobuilding.assessment_score", _("score property management companies each quarter")
    # end co-building
    # Cockpit (gongzhi/cockpit)
    COCKPIT_VIEW = "cockpit.view", _("see the figures, dashboards and reports of the places in reach")
    REPORT_GENERATE = "cockpit.report_generate", _("generate work reports and ledger workbooks")
    # end cockpit
    # Personal information (gongzhi/people: anonymise.py)
    RESIDENT_ANONYMISE = "resident.anonymise", _("anonymise a person who has left (name, phone, ID number, login)")
    # end personal information


P = Permission
_STAFF_VIEW = {P.PLACE_VIEW, P.RESIDENT_VIEW}
_MANAGERS = _STAFF_VIEW | {
    P.PLACE_MANAGE,
    P.RESIDENT_REVEAL,
    P.RESIDENT_EXPORT,
    P.ROSTER_IMPORT,
    P.PARTY_MANAGE,
    P.ROLE_ASSIGN,
    P.AUDIT_VIEW,
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.DISTRICT_ADMIN: frozenset(_MANAGERS),
    Role.STREET_ADMIN: frozenset(_MANAGERS),
    Role.COMMUNITY_SECRETARY: frozenset(_MANAGERS),
    Role.COMMUNITY_WORKER: frozenset(
        _STAFF_VIEW | {P.RESIDENT_REVEAL, P.RESIDENT_EXPORT, P.ROSTER_IMPORT, P.PARTY_MANAGE}
    ),
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

# Resident requests, visits, disputes and agent services (gongzhi/cases). Handling is limited further by the cases
# app to the place (and department) a case currently sits at; an organisation representative handles only cases
# sent to their own organisation.
_CASE_MANAGERS = {
    P.CASE_VIEW,
    P.CASE_INTAKE,
    P.CASE_HANDLE,
    P.CASE_IMPORT,
    P.CASE_CONFIGURE,
    P.VISIT_LOG,
    P.DISPUTE_MEDIATE,
    P.AGENT_SERVICE,
}
_CASE_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: _CASE_MANAGERS,
    Role.STREET_ADMIN: _CASE_MANAGERS,
    Role.COMMUNITY_SECRETARY: _CASE_MANAGERS,
    Role.COMMUNITY_WORKER: {
        P.CASE_VIEW,
        P.CASE_INTAKE,
        P.CASE_HANDLE,
        P.CASE_IMPORT,
        P.VISIT_LOG,
        P.DISPUTE_MEDIATE,
        P.AGENT_SERVICE,
    },
    Role.GRID_WORKER: {P.CASE_VIEW, P.CASE_INTAKE, P.CASE_HANDLE, P.VISIT_LOG},
    Role.BUILDING_HEAD: {P.CASE_VIEW, P.CASE_INTAKE, P.VISIT_LOG},
    Role.ENTRANCE_HEAD: {P.CASE_VIEW, P.CASE_INTAKE, P.VISIT_LOG},
    Role.MEDIATOR: {P.CASE_VIEW, P.DISPUTE_MEDIATE},
    Role.SERVICE_AGENT: {P.AGENT_SERVICE},
    Role.ORGANISATION_REPRESENTATIVE: {P.CASE_HANDLE},
}
for _role, _extra in _CASE_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)

# Red points: the monthly publication, objections, the annual selection and the evaluation export
# (gongzhi/points). The review committee certifies and publishes; residents raise objections from their household.
# Objections are decided where claims are reviewed (upholding one reverses a claim, which needs points.claim_review).
_POINTS_COMMITTEE = {P.PUBLICATION_MANAGE, P.OBJECTION_DECIDE, P.SELECTION_MANAGE}
_POINTS_PUBLICATION_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: {P.PUBLICATION_MANAGE, P.SELECTION_MANAGE, P.EVALUATION_EXPORT},
    Role.STREET_ADMIN: {P.PUBLICATION_MANAGE, P.SELECTION_MANAGE, P.EVALUATION_EXPORT},
    Role.COMMUNITY_SECRETARY: _POINTS_COMMITTEE | {P.EVALUATION_EXPORT},
    Role.COMMUNITY_WORKER: {P.EVALUATION_EXPORT},
    Role.REVIEW_COMMITTEE_MEMBER: _POINTS_COMMITTEE,
    Role.RESIDENT: {P.OBJECTION_RAISE},
}
for _role, _extra in _POINTS_PUBLICATION_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)

# Red points: accounts, claims, review, adjustments and the catalogue (gongzhi/points). The review committee and the
# community secretary review; community workers record claims on residents' behalf; adjustments need two people
# holding points.adjust (the second approves).
_POINTS_LEDGER_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: {P.POINTS_VIEW, P.POINTS_ADJUST, P.CATALOGUE_MANAGE},
    Role.STREET_ADMIN: {P.POINTS_VIEW, P.POINTS_ADJUST, P.CATALOGUE_MANAGE},
    Role.COMMUNITY_SECRETARY: {
        P.POINTS_VIEW,
        P.CLAIM_SUBMIT_ON_BEHALF,
        P.CLAIM_REVIEW,
        P.POINTS_ADJUST,
        P.CATALOGUE_MANAGE,
    },
    Role.COMMUNITY_WORKER: {P.POINTS_VIEW, P.CLAIM_SUBMIT_ON_BEHALF},
    Role.REVIEW_COMMITTEE_MEMBER: {P.POINTS_VIEW, P.CLAIM_REVIEW},
    Role.GRID_WORKER: {P.POINTS_VIEW},
}
for _role, _extra in _POINTS_LEDGER_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)

# Points shop and merchant alliance (gongzhi/shop). Merchant clerks need no permission here: they act only for
# the merchant named on their role (RoleAssignment.organisation), which the shop app checks itself.
_SHOP_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: {P.SHOP_MANAGE, P.OFFER_APPROVE, P.SETTLEMENT_VIEW},
    Role.STREET_ADMIN: {P.SHOP_MANAGE, P.OFFER_APPROVE, P.SETTLEMENT_VIEW},
    Role.COMMUNITY_SECRETARY: {P.SHOP_MANAGE, P.OFFER_APPROVE, P.REDEMPTION_VERIFY, P.SETTLEMENT_VIEW},
    Role.COMMUNITY_WORKER: {P.SHOP_MANAGE, P.REDEMPTION_VERIFY, P.SETTLEMENT_VIEW},
}
for _role, _extra in _SHOP_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)

# Volunteering (gongzhi/volunteering): which roles run teams, activities and wishes.
_VOLUNTEERING_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: {P.VOLUNTEERING_MANAGE, P.WISH_APPROVE},
    Role.STREET_ADMIN: {P.VOLUNTEERING_MANAGE, P.WISH_APPROVE},
    Role.COMMUNITY_SECRETARY: {P.VOLUNTEERING_MANAGE, P.WISH_APPROVE},
    Role.COMMUNITY_WORKER: {P.VOLUNTEERING_MANAGE, P.WISH_APPROVE},
}
for _role, _extra in _VOLUNTEERING_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)
# end volunteering

# Deliberation (gongzhi/deliberation): who keeps the catalogue, agenda, steps and votes, and who enters paper ballots.
_DELIBERATION_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: {P.DELIBERATION_MANAGE},
    Role.STREET_ADMIN: {P.DELIBERATION_MANAGE},
    Role.COMMUNITY_SECRETARY: {P.DELIBERATION_MANAGE, P.BALLOT_ENTER},
    Role.COMMUNITY_WORKER: {P.DELIBERATION_MANAGE, P.BALLOT_ENTER},
}
for _role, _extra in _DELIBERATION_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)
# end deliberation

# Co-building (gongzhi/cobuilding): agreements, lists, projects, fund approvals and property assessments.
_COBUILDING_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: {P.COBUILDING_MANAGE, P.FUND_APPROVE, P.ASSESSMENT_SCORE},
    Role.STREET_ADMIN: {P.COBUILDING_MANAGE, P.FUND_APPROVE, P.ASSESSMENT_SCORE},
    Role.COMMUNITY_SECRETARY: {P.COBUILDING_MANAGE, P.FUND_APPROVE, P.ASSESSMENT_SCORE},
    Role.COMMUNITY_WORKER: {P.COBUILDING_MANAGE},
}
for _role, _extra in _COBUILDING_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)
# end co-building

# Cockpit (gongzhi/cockpit): who sees the figures of the places they reach, and who generates reports.
_COCKPIT_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: {P.COCKPIT_VIEW, P.REPORT_GENERATE},
    Role.STREET_ADMIN: {P.COCKPIT_VIEW, P.REPORT_GENERATE},
    Role.COMMUNITY_SECRETARY: {P.COCKPIT_VIEW, P.REPORT_GENERATE},
    Role.COMMUNITY_WORKER: {P.COCKPIT_VIEW, P.REPORT_GENERATE},
    Role.GRID_WORKER: {P.COCKPIT_VIEW},
}
for _role, _extra in _COCKPIT_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)
# end cockpit

# Personal information (gongzhi/people): anonymising a person who left is for the community secretary and above.
_PERSONAL_INFORMATION_PERMISSIONS: dict[str, Collection[str]] = {
    Role.DISTRICT_ADMIN: {P.RESIDENT_ANONYMISE},
    Role.STREET_ADMIN: {P.RESIDENT_ANONYMISE},
    Role.COMMUNITY_SECRETARY: {P.RESIDENT_ANONYMISE},
}
for _role, _extra in _PERSONAL_INFORMATION_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | frozenset(_extra)
# end personal information

# Roles that work in the back office (staff pages, tables, exports) rather than the resident's phone pages.
STAFF_ROLES = frozenset(set(Role) - {Role.RESIDENT, Role.MERCHANT_CLERK, Role.ORGANISATION_REPRESENTATIVE})

# Who may grant which role: a role can be granted only by a manager whose place covers the target place.
ROLE_RANK: dict[str, int] = {
    Role.DISTRICT_ADMIN: 1,
    Role.STREET_ADMIN: 2,
    Role.COMMUNITY_SECRETARY: 3,
}
