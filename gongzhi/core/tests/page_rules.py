"""The access rule of every named page (URL name), for core/tests/test_page_matrix.py.

``needs``: PUBLIC or SIGNED_IN (a login; what the page then shows is filtered by the viewer's reach). ``params``:
URL arguments → a world kind (community A's object, or community B's for the out-of-scope visit) or ``"=value"``.
``anonymous``: what an anonymous visitor gets when it is not the login page (302): 404 for pages that hide
themselves, 405 for POST-only ones. ``inside_ok=False``: the community secretary of A is not the one who may open
the in-scope object (only its owner, a resident, a clerk ...); out of scope is still 404 for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gongzhi.core.roles import Role
from gongzhi.core.testing_matrix import PUBLIC, SIGNED_IN


@dataclass(frozen=True)
class PageRule:
    needs: str
    params: Mapping[str, str] = field(default_factory=dict)
    anonymous: int = 302
    inside_ok: bool = True
    method: str = "get"
    role: str = Role.COMMUNITY_SECRETARY
    across: bool = False  # the other community's object is open to this page's visitors too

    @property
    def scoped(self) -> bool:
        return any(not kind.startswith("=") for kind in self.params.values())


# Namespaces with one rule for all their names: the Django admin (its own staff login, ScopedAdmin querysets) and
# the API (its own matrix: test_authorisation_matrix.py).
NAMESPACE_RULES = {"admin": "the Django admin: staff login; ScopedAdmin filters by reach", "api": "the API matrix"}

PAGE_RULES: dict[str, PageRule] = {
    "audit_export": PageRule(SIGNED_IN),
    "audit_list": PageRule(SIGNED_IN),
    # takes POST only
    "cases:act": PageRule(SIGNED_IN, params={"case_id": "case"}, method="post"),
    # takes POST only
    "cases:attribute_archive": PageRule(SIGNED_IN, params={"attribute_id": "attribute"}, method="post"),
    # the secretary gets 404 in scope
    "cases:attribute_edit": PageRule(SIGNED_IN, params={"attribute_id": "attribute"}, inside_ok=False),
    # the secretary gets 404 in scope
    "cases:categories": PageRule(SIGNED_IN, inside_ok=False),
    # the secretary gets 404 in scope
    "cases:category_attributes": PageRule(SIGNED_IN, params={"category_id": "category"}, inside_ok=False),
    "cases:detail": PageRule(SIGNED_IN, params={"case_id": "case"}),
    "cases:home": PageRule(SIGNED_IN),
    "cases:home_card": PageRule(SIGNED_IN),
    "cases:hotline_import": PageRule(SIGNED_IN),
    "cases:hotline_new": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "cases:hotline_progress": PageRule(SIGNED_IN, params={"progress_id": "progress"}, inside_ok=False),
    "cases:inbox": PageRule(SIGNED_IN),
    "cases:inbox_badge": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "cases:inbox_open": PageRule(SIGNED_IN, params={"notification_id": "notification"}, inside_ok=False),
    # takes POST only
    "cases:inbox_read": PageRule(SIGNED_IN, method="post"),
    # the secretary gets 404 in scope
    "cases:merge": PageRule(SIGNED_IN, params={"case_id": "case"}, inside_ok=False),
    "cases:mine": PageRule(SIGNED_IN),
    # the secretary gets 403 in scope
    "cases:new": PageRule(SIGNED_IN, inside_ok=False),
    # takes POST only
    "cases:open311_key_revoke": PageRule(SIGNED_IN, params={"key_id": "key"}, method="post"),
    "cases:open311_keys": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "cases:photo": PageRule(SIGNED_IN, params={"photo_id": "photo"}, inside_ok=False),
    "cases:queue": PageRule(SIGNED_IN),
    # takes POST only
    "cases:unmerge": PageRule(SIGNED_IN, params={"case_id": "case"}, method="post"),
    "cases:visit_households": PageRule(SIGNED_IN),
    "cases:visit_new": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "cobuilding:agreement_file": PageRule(SIGNED_IN, params={"agreement_id": "agreement"}, inside_ok=False),
    "cobuilding:agreements": PageRule(SIGNED_IN),
    "cobuilding:assessments": PageRule(SIGNED_IN),
    # takes POST only
    "cobuilding:commitment_mark": PageRule(SIGNED_IN, params={"commitment_id": "commitment"}, method="post"),
    "cobuilding:fund": PageRule(SIGNED_IN, params={"community_id": "community", "year": "=2031"}),
    "cobuilding:home": PageRule(SIGNED_IN),
    "cobuilding:home_card": PageRule(SIGNED_IN),
    # takes POST only
    "cobuilding:match_answer": PageRule(SIGNED_IN, params={"match_id": "match"}, method="post"),
    # takes POST only
    "cobuilding:matter_solve": PageRule(SIGNED_IN, params={"matter_id": "matter"}, method="post"),
    "cobuilding:needs": PageRule(SIGNED_IN),
    "cobuilding:network": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "cobuilding:progress_photo": PageRule(SIGNED_IN, params={"photo_id": "photo"}, inside_ok=False),
    "cobuilding:project": PageRule(SIGNED_IN, params={"project_id": "project"}),
    # takes POST only; the action needs a state the world's object is not in (404 in scope)
    "cobuilding:project_action": PageRule(
        SIGNED_IN, params={"project_id": "project", "action": "=approve"}, method="post", inside_ok=False
    ),
    "cobuilding:projects": PageRule(SIGNED_IN),
    "cobuilding:report_back": PageRule(SIGNED_IN, params={"organisation_id": "organisation", "year": "=2031"}),
    "cobuilding:report_back_index": PageRule(SIGNED_IN, params={"year": "=2031"}),
    "cobuilding:report_back_xlsx": PageRule(SIGNED_IN, params={"organisation_id": "organisation", "year": "=2031"}),
    # the secretary gets 404 in scope
    "cobuilding:resource_new": PageRule(SIGNED_IN, inside_ok=False),
    # takes POST only
    "cobuilding:spending_action": PageRule(
        SIGNED_IN, params={"spending_id": "spending", "action": "=approve"}, method="post"
    ),
    "cockpit:compare": PageRule(SIGNED_IN, params={"place_id": "place"}),
    "cockpit:home": PageRule(SIGNED_IN),
    "cockpit:ledger": PageRule(SIGNED_IN, params={"place_id": "place", "domain": "=cases"}),
    "cockpit:place": PageRule(SIGNED_IN, params={"place_id": "place"}),
    "cockpit:report": PageRule(SIGNED_IN, params={"place_id": "place"}),
    # the secretary gets 404 in scope
    "cockpit:report_file": PageRule(SIGNED_IN, params={"run_id": "report_run"}, inside_ok=False),
    # takes POST only
    "cockpit:report_request": PageRule(SIGNED_IN, params={"place_id": "place"}, method="post"),
    # the secretary gets 404 in scope
    "cockpit:report_run": PageRule(SIGNED_IN, params={"run_id": "report_run"}, inside_ok=False),
    "cockpit:trend": PageRule(SIGNED_IN, params={"place_id": "place"}),
    "cockpit:workbook": PageRule(SIGNED_IN, params={"place_id": "place"}),
    "deliberation:agenda": PageRule(SIGNED_IN),
    # takes POST only
    "deliberation:cast": PageRule(SIGNED_IN, params={"vote_id": "vote"}, method="post"),
    "deliberation:catalogue": PageRule(SIGNED_IN, params={"community_id": "community"}),
    # takes POST only
    "deliberation:cosign": PageRule(SIGNED_IN, params={"topic_id": "topic"}, method="post"),
    "deliberation:home": PageRule(SIGNED_IN),
    "deliberation:home_card": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "deliberation:propose": PageRule(SIGNED_IN, inside_ok=False),
    "deliberation:public_index": PageRule(PUBLIC),
    "deliberation:public_record": PageRule(PUBLIC, params={"community_id": "community"}),
    # the secretary gets 404 in scope
    "deliberation:public_topic": PageRule(SIGNED_IN, params={"topic_id": "topic"}, anonymous=404, inside_ok=False),
    # the secretary gets 404 in scope
    "deliberation:public_vote": PageRule(SIGNED_IN, params={"vote_id": "vote"}, anonymous=404, inside_ok=False),
    # takes POST only
    "deliberation:rate": PageRule(SIGNED_IN, params={"topic_id": "topic"}, method="post"),
    "deliberation:staff_topic": PageRule(SIGNED_IN, params={"topic_id": "topic"}),
    # takes POST only; the action needs a state the world's object is not in (404 in scope)
    "deliberation:staff_topic_action": PageRule(
        SIGNED_IN, params={"topic_id": "topic", "action": "=approve"}, method="post", inside_ok=False
    ),
    # the secretary gets 404 in scope
    "deliberation:staff_vote": PageRule(SIGNED_IN, params={"vote_id": "vote"}, inside_ok=False),
    "deliberation:topic": PageRule(SIGNED_IN, params={"topic_id": "topic"}),
    # a display preference anyone may set (kept in the session)
    "elder_mode": PageRule(PUBLIC, method="post"),
    "healthz": PageRule(PUBLIC),
    "home": PageRule(SIGNED_IN),
    # a display preference anyone may set (kept in the session)
    "language": PageRule(PUBLIC, method="post"),
    "login": PageRule(PUBLIC),
    "login_code": PageRule(SIGNED_IN),
    # takes POST only
    "logout": PageRule(SIGNED_IN, method="post"),
    "me": PageRule(SIGNED_IN),
    "my_household": PageRule(SIGNED_IN),
    "my_personal_data": PageRule(SIGNED_IN),
    # takes POST only
    "my_personal_data_download": PageRule(SIGNED_IN, method="post"),
    # the secretary gets 404 in scope
    "open311_request": PageRule(
        SIGNED_IN, params={"service_request_id": "=x", "fmt": "=json"}, anonymous=404, inside_ok=False
    ),
    "open311_requests": PageRule(PUBLIC, params={"fmt": "=json"}),
    # the secretary gets 404 in scope
    "open311_service": PageRule(
        SIGNED_IN, params={"service_code": "=x", "fmt": "=json"}, anonymous=404, inside_ok=False
    ),
    "open311_services": PageRule(PUBLIC, params={"fmt": "=json"}),
    # the secretary gets 404 in scope
    "open311_token": PageRule(SIGNED_IN, params={"token": "=x", "fmt": "=json"}, anonymous=404, inside_ok=False),
    "party_index": PageRule(SIGNED_IN),
    "party_member_add": PageRule(SIGNED_IN, params={"community_id": "community"}),
    "party_member_edit": PageRule(SIGNED_IN, params={"membership_id": "membership"}),
    "party_member_end": PageRule(SIGNED_IN, params={"membership_id": "membership"}),
    "party_members": PageRule(SIGNED_IN, params={"community_id": "community"}),
    "place_detail": PageRule(SIGNED_IN, params={"place_id": "place"}),
    "place_index": PageRule(SIGNED_IN),
    "place_residents": PageRule(SIGNED_IN, params={"place_id": "place"}),
    "place_residents_export": PageRule(SIGNED_IN, params={"place_id": "place"}),
    # takes POST only; the action needs a state the world's object is not in (404 in scope)
    "points:adjustment_decide": PageRule(
        SIGNED_IN, params={"adjustment_id": "adjustment"}, method="post", inside_ok=False
    ),
    "points:adjustments": PageRule(SIGNED_IN),
    "points:catalogue": PageRule(SIGNED_IN),
    # takes POST only
    "points:claim_decide": PageRule(SIGNED_IN, params={"claim_id": "claim"}, method="post"),
    "points:claim_detail": PageRule(SIGNED_IN, params={"claim_id": "claim"}),
    "points:claim_new": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "points:claim_photo": PageRule(SIGNED_IN, params={"photo_id": "photo"}, inside_ok=False),
    # takes POST only
    "points:claim_resubmit": PageRule(SIGNED_IN, params={"claim_id": "claim"}, method="post"),
    # takes POST only
    "points:claim_withdraw": PageRule(SIGNED_IN, params={"claim_id": "claim"}, method="post"),
    "points:evaluation": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "points:history": PageRule(SIGNED_IN, inside_ok=False),
    "points:home": PageRule(SIGNED_IN),
    "points:home_card": PageRule(SIGNED_IN),
    "points:item_detail": PageRule(SIGNED_IN, params={"item_id": "item"}),
    "points:item_new": PageRule(SIGNED_IN),
    # takes POST only; the action needs a state the world's object is not in (404 in scope)
    "points:item_toggle": PageRule(SIGNED_IN, params={"item_id": "item"}, method="post", inside_ok=False),
    "points:my_claims": PageRule(SIGNED_IN),
    # takes POST only; hides itself (404) from anonymous visitors
    "points:objection_new": PageRule(
        SIGNED_IN,
        params={"community_id": "community", "year": "=2031", "month": "=1"},
        method="post",
        anonymous=404,
        inside_ok=False,
    ),
    "points:public_community": PageRule(PUBLIC, params={"community_id": "community"}),
    "points:public_index": PageRule(PUBLIC),
    # the secretary gets 404 in scope
    "points:public_publication": PageRule(
        SIGNED_IN, params={"community_id": "community", "year": "=2031", "month": "=1"}, anonymous=404, inside_ok=False
    ),
    # the secretary gets 404 in scope
    "points:public_publication_xlsx": PageRule(
        SIGNED_IN, params={"community_id": "community", "year": "=2031", "month": "=1"}, anonymous=404, inside_ok=False
    ),
    "points:public_rankings": PageRule(PUBLIC, params={"place_id": "place"}),
    "points:public_selection": PageRule(PUBLIC, params={"community_id": "community", "year": "=2031"}),
    # the secretary gets 404 in scope
    "points:publication_manage": PageRule(SIGNED_IN, params={"publication_id": "publication"}, inside_ok=False),
    "points:publications": PageRule(SIGNED_IN),
    "points:record": PageRule(SIGNED_IN),
    "points:record_claim": PageRule(SIGNED_IN, params={"resident_id": "resident"}),
    # takes POST only
    "points:review_decide": PageRule(SIGNED_IN, method="post"),
    "points:review_queue": PageRule(SIGNED_IN),
    "points:selections": PageRule(SIGNED_IN),
    "resident_anonymise": PageRule(SIGNED_IN, params={"resident_id": "resident"}),
    "resident_detail": PageRule(SIGNED_IN, params={"resident_id": "resident"}),
    "resident_search": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "roster_errors": PageRule(SIGNED_IN, params={"progress_id": "progress"}, inside_ok=False),
    "roster_index": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "roster_progress": PageRule(SIGNED_IN, params={"progress_id": "progress"}, inside_ok=False),
    "roster_template": PageRule(SIGNED_IN),
    # redirects elsewhere
    "set_language": PageRule(PUBLIC),
    # an alliance membership (not built in the world: the id exists nowhere, so 404 out of scope and no in-scope
    # check; "membership" would be a party membership, whose id only matches one on SQLite by chance)
    "shop:alliance_agreement": PageRule(SIGNED_IN, params={"membership_id": "alliance"}),
    # takes POST only
    "shop:alliance_end": PageRule(SIGNED_IN, params={"membership_id": "alliance"}, method="post"),
    # takes POST only
    "shop:alliance_join": PageRule(SIGNED_IN, params={"community_id": "community"}, method="post"),
    # the secretary gets 404 in scope
    "shop:card": PageRule(SIGNED_IN, inside_ok=False),
    "shop:counter": PageRule(SIGNED_IN),
    "shop:home": PageRule(SIGNED_IN),
    "shop:home_card": PageRule(SIGNED_IN),
    "shop:manage": PageRule(SIGNED_IN),
    "shop:offer": PageRule(SIGNED_IN, params={"offer_id": "offer"}),
    # takes POST only
    "shop:offer_action": PageRule(SIGNED_IN, params={"offer_id": "offer", "action": "=approve"}, method="post"),
    "shop:offer_new": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "shop:offer_photo": PageRule(SIGNED_IN, params={"offer_id": "offer"}, inside_ok=False),
    # takes POST only
    "shop:offer_restock": PageRule(SIGNED_IN, params={"offer_id": "offer"}, method="post"),
    # the secretary gets 404 in scope
    "shop:order": PageRule(SIGNED_IN, params={"order_id": "order"}, inside_ok=False),
    # takes POST only
    "shop:order_cancel": PageRule(SIGNED_IN, params={"order_id": "order"}, method="post"),
    "shop:orders": PageRule(SIGNED_IN),
    # takes POST only
    "shop:settings": PageRule(SIGNED_IN, params={"community_id": "community"}, method="post"),
    "shop:settlement": PageRule(SIGNED_IN),
    "shop:settlement_xlsx": PageRule(SIGNED_IN),
    "shop:stock": PageRule(SIGNED_IN),
    # takes POST only
    "shop:window_new": PageRule(SIGNED_IN, params={"community_id": "community"}, method="post"),
    "two_factor": PageRule(SIGNED_IN),
    # takes POST only
    "two_factor_off": PageRule(SIGNED_IN, method="post"),
    # takes POST only
    "two_factor_on": PageRule(SIGNED_IN, method="post"),
    # takes POST only
    "two_factor_start": PageRule(SIGNED_IN, method="post"),
    # activities are open to volunteers of any community
    "volunteering:activity": PageRule(SIGNED_IN, params={"activity_id": "activity"}, across=True),
    "volunteering:activity_new": PageRule(SIGNED_IN),
    # activities are open to volunteers of any community
    "volunteering:check_in": PageRule(SIGNED_IN, params={"activity_id": "activity"}, across=True),
    # the secretary gets 404 in scope
    "volunteering:employer": PageRule(SIGNED_IN, inside_ok=False),
    "volunteering:employer_report": PageRule(SIGNED_IN, params={"organisation_id": "organisation"}),
    "volunteering:home": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "volunteering:hours": PageRule(SIGNED_IN, inside_ok=False),
    "volunteering:manage": PageRule(SIGNED_IN),
    # the secretary gets 404 in scope
    "volunteering:registration": PageRule(SIGNED_IN, inside_ok=False),
    "volunteering:roster": PageRule(SIGNED_IN, params={"activity_id": "activity"}),
    "volunteering:screen": PageRule(SIGNED_IN, params={"activity_id": "activity"}),
    "volunteering:team": PageRule(SIGNED_IN, params={"team_id": "team"}),
    "volunteering:teams": PageRule(SIGNED_IN),
    "volunteering:wish": PageRule(SIGNED_IN, params={"wish_id": "wish"}),
    # the secretary gets 404 in scope
    "volunteering:wish_new": PageRule(SIGNED_IN, inside_ok=False),
    # the secretary gets 404 in scope
    "volunteering:wish_photo": PageRule(SIGNED_IN, params={"wish_id": "wish"}, inside_ok=False),
    "volunteering:wishes": PageRule(SIGNED_IN),
    "volunteering:wishes_manage": PageRule(SIGNED_IN),
}

__all__ = ["PUBLIC", "SIGNED_IN"]
