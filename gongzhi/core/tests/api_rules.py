"""The rule of every API operation, by operation id: what it needs, how to fill its path (see ``ApiRule``).

A new endpoint must get a line here (``test_every_operation_has_a_rule`` fails without one). ``needs`` is the
permission the operation's service checks; ``only`` names the roles that pass where the service narrows it further
(its own records, its own organisation, the place and level a case sits at): there the comment says why.
"""

from __future__ import annotations

from gongzhi.core.roles import Permission as P
from gongzhi.core.roles import Role as R
from gongzhi.core.testing_matrix import PUBLIC, SIGNED_IN, ApiRule


def roles(*members: R) -> frozenset[str]:
    return frozenset(members)


# Role sets several rules share.
# The reporter and the staff who see a case where it sits.
CASE_READERS = roles(
    R.BUILDING_HEAD,
    R.COMMUNITY_SECRETARY,
    R.COMMUNITY_WORKER,
    R.DISTRICT_ADMIN,
    R.ENTRANCE_HEAD,
    R.GRID_WORKER,
    R.MEDIATOR,
    R.RESIDENT,
    R.STREET_ADMIN,
)
# Every role but the resident.
STAFF_NOT_RESIDENT = frozenset(R) - {R.RESIDENT}
# Every role but the merchant's clerk.
ALL_BUT_MERCHANT_CLERKS = frozenset(R) - {R.MERCHANT_CLERK}


# Body and query fields that name an object: filled with the in-scope (community A) or out-of-scope (B) object.
ID_FIELDS = {
    "place_id": "place",
    "place": "place",
    "community_id": "community",
    "community": "community",
    "household_id": "household",
    "resident_id": "resident",
    "item_id": "item",
    "organisation_id": "organisation",
    "case_id": "case",
    # Named by the request bodies of case intake, merging and visits passed up as cases: the world's own objects,
    # never a guessed id (PostgreSQL's sequences move on across tests, SQLite's ids repeat and would hide it).
    "category_id": "case_category",
    "into_id": "case",
}
# Other required query fields, with a value the endpoints accept.
QUERY_VALUES = {"period": "2031-01", "year": 2031, "title": "电梯", "month": "2031-01"}

API_RULES: dict[str, ApiRule] = {
    # the resident's own username and password
    "gongzhi_people_api_token_create": ApiRule(
        PUBLIC, body={"username": "matrix_resident", "password": "correct-horse-battery"}
    ),
    "gongzhi_people_api_me": ApiRule(SIGNED_IN),
    "gongzhi_people_api_my_personal_data": ApiRule(SIGNED_IN),
    "gongzhi_people_api_my_personal_data_download": ApiRule(SIGNED_IN),
    # a resident reaches only their household, not the community
    "gongzhi_places_api_place_detail": ApiRule(
        P.PLACE_VIEW,
        params={"place_id": "place"},
        only=STAFF_NOT_RESIDENT,
    ),
    # a resident reaches only their household, not the community
    "gongzhi_places_api_place_children_list": ApiRule(
        P.PLACE_VIEW,
        params={"place_id": "place"},
        only=STAFF_NOT_RESIDENT,
    ),
    "gongzhi_people_api_residents_list": ApiRule(SIGNED_IN),
    "gongzhi_people_api_resident_detail": ApiRule(P.RESIDENT_VIEW, params={"resident_id": "resident"}),
    "gongzhi_people_api_resident_reveal_endpoint": ApiRule(P.RESIDENT_REVEAL, params={"resident_id": "resident"}),
    "gongzhi_people_api_resident_anonymise_endpoint": ApiRule(P.RESIDENT_ANONYMISE, params={"resident_id": "resident"}),
    "gongzhi_people_api_party_organisations_list": ApiRule(SIGNED_IN),
    "gongzhi_people_api_party_memberships_list": ApiRule(SIGNED_IN),
    "gongzhi_people_api_party_membership_create": ApiRule(P.PARTY_MANAGE),
    "gongzhi_people_api_party_membership_detail": ApiRule(P.RESIDENT_VIEW, params={"membership_id": "membership"}),
    "gongzhi_people_api_party_membership_update": ApiRule(P.PARTY_MANAGE, params={"membership_id": "membership"}),
    "gongzhi_people_api_party_membership_end_endpoint": ApiRule(P.PARTY_MANAGE, params={"membership_id": "membership"}),
    "gongzhi_points_api_accounts_mine": ApiRule(SIGNED_IN),
    # the resident's own records
    "gongzhi_points_api_balance": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    # the resident's own records
    "gongzhi_points_api_history": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    # the resident's own records
    "gongzhi_points_api_rank_mine": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    # the resident's own records
    "gongzhi_points_api_catalogue": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    "gongzhi_points_api_claim_create": ApiRule(SIGNED_IN),
    "gongzhi_points_api_claims_mine": ApiRule(SIGNED_IN),
    # the resident's own records
    "gongzhi_points_api_claim_create_form": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    # the claimant and holders of points.view
    "gongzhi_points_api_claim_detail": ApiRule(
        P.PLACE_VIEW,
        params={"claim_id": "claim"},
        only=roles(
            R.COMMUNITY_SECRETARY,
            R.COMMUNITY_WORKER,
            R.DISTRICT_ADMIN,
            R.GRID_WORKER,
            R.RESIDENT,
            R.REVIEW_COMMITTEE_MEMBER,
            R.STREET_ADMIN,
        ),
    ),
    # the claimant and who may claim on their behalf
    "gongzhi_points_api_claim_resubmit": ApiRule(
        P.RESIDENT_VIEW, params={"claim_id": "claim"}, only=roles(R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.RESIDENT)
    ),
    # the claimant and who may claim on their behalf
    "gongzhi_points_api_claim_withdraw": ApiRule(
        P.RESIDENT_VIEW, params={"claim_id": "claim"}, only=roles(R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.RESIDENT)
    ),
    "gongzhi_points_api_review_queue": ApiRule(SIGNED_IN),
    "gongzhi_points_api_review_approve": ApiRule(P.CLAIM_REVIEW, params={"claim_id": "claim"}),
    "gongzhi_points_api_review_reject": ApiRule(
        P.CLAIM_REVIEW, params={"claim_id": "claim"}, body={"reason": "理由：矩阵测试写明的充分理由"}
    ),
    "gongzhi_points_api_review_return": ApiRule(
        P.CLAIM_REVIEW, params={"claim_id": "claim"}, body={"reason": "理由：矩阵测试写明的充分理由"}
    ),
    "gongzhi_points_api_review_batch": ApiRule(SIGNED_IN),
    "gongzhi_points_api_public_publications": ApiRule(PUBLIC),
    "gongzhi_points_api_public_publication": ApiRule(PUBLIC, params={"community_id": "community", "month": "=2031-01"}),
    "gongzhi_points_api_public_rankings": ApiRule(PUBLIC),
    "gongzhi_points_api_public_selections": ApiRule(PUBLIC),
    "gongzhi_points_api_objection_create": ApiRule(SIGNED_IN),
    "gongzhi_shop_api_offer_list": ApiRule(SIGNED_IN),
    "gongzhi_shop_api_offer_create": ApiRule(P.SHOP_MANAGE),
    # the community's residents, shop staff and the merchant's clerk
    "gongzhi_shop_api_offer_detail": ApiRule(
        P.PLACE_VIEW,
        params={"offer_id": "offer"},
        only=roles(
            R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.MERCHANT_CLERK, R.RESIDENT, R.STREET_ADMIN
        ),
    ),
    # found by who sees the offer, then refused (409/422)
    "gongzhi_shop_api_offer_redeem": ApiRule(
        P.PLACE_VIEW,
        params={"offer_id": "offer"},
        only=roles(
            R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.MERCHANT_CLERK, R.RESIDENT, R.STREET_ADMIN
        ),
    ),
    "gongzhi_shop_api_order_list": ApiRule(SIGNED_IN),
    "gongzhi_shop_api_order_detail": ApiRule(SIGNED_IN, params={"order_id": "order"}),
    "gongzhi_shop_api_order_cancel": ApiRule(SIGNED_IN, params={"order_id": "order"}),
    # the resident's own records
    "gongzhi_shop_api_card_mine": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    # the malformed pickup code is refused (422) before the counter is looked up
    "gongzhi_shop_api_order_verify": ApiRule(
        P.PLACE_VIEW,
        only=ALL_BUT_MERCHANT_CLERKS,
    ),
    # a malformed card code is refused (422) before the counter is looked up
    "gongzhi_shop_api_card_find": ApiRule(
        P.PLACE_VIEW,
        only=ALL_BUT_MERCHANT_CLERKS,
    ),
    # only the merchant's own clerk
    "gongzhi_shop_api_counter_today": ApiRule(
        P.PLACE_VIEW, params={"merchant_id": "merchant"}, only=roles(R.MERCHANT_CLERK)
    ),
    # shop staff and the merchant's clerk
    "gongzhi_shop_api_offer_submit": ApiRule(
        P.PLACE_VIEW,
        params={"offer_id": "offer"},
        only=roles(R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.MERCHANT_CLERK, R.STREET_ADMIN),
    ),
    "gongzhi_shop_api_offer_approve": ApiRule(P.OFFER_APPROVE, params={"offer_id": "offer"}),
    "gongzhi_shop_api_window_create": ApiRule(P.SHOP_MANAGE),
    "gongzhi_shop_api_settlement": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_categories": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_mine": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_queue": ApiRule(SIGNED_IN),
    # the reporter and staff who see cases in the place
    "gongzhi_cases_api_case_detail": ApiRule(
        P.RESIDENT_VIEW,
        params={"case_id": "case"},
        only=CASE_READERS,
    ),
    # the reporter and staff who see cases in the place
    "gongzhi_cases_api_case_duplicates": ApiRule(
        P.RESIDENT_VIEW,
        params={"case_id": "case"},
        only=CASE_READERS,
    ),
    # the resident's own records
    "gongzhi_cases_api_case_submit": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    "gongzhi_cases_api_hotline_import_endpoint": ApiRule(P.CASE_IMPORT),
    # the case sits at grid level; no account of the world handles there
    "gongzhi_cases_api_accept": ApiRule(P.CASE_HANDLE, params={"case_id": "case"}, only=roles()),
    # the case sits at grid level; no account of the world handles there
    "gongzhi_cases_api_start": ApiRule(P.CASE_HANDLE, params={"case_id": "case"}, only=roles()),
    # the case sits at grid level; no account of the world handles there
    "gongzhi_cases_api_resolve": ApiRule(P.CASE_HANDLE, params={"case_id": "case"}, only=roles()),
    # found first (reporter, staff who see it), then refused with 422
    "gongzhi_cases_api_refer": ApiRule(
        P.RESIDENT_VIEW,
        params={"case_id": "case"},
        only=CASE_READERS,
    ),
    # the case sits at grid level; no account of the world handles there
    "gongzhi_cases_api_escalate": ApiRule(
        P.CASE_HANDLE, params={"case_id": "case"}, only=roles(), body={"reason": "理由：矩阵测试写明的充分理由"}
    ),
    # the case sits at grid level; no account of the world handles there
    "gongzhi_cases_api_summon": ApiRule(P.CASE_HANDLE, params={"case_id": "case"}, only=roles()),
    "gongzhi_cases_api_summons_respond": ApiRule(P.CASE_HANDLE, params={"summons_id": "summons"}),
    # the reporter (409: not resolved yet)
    "gongzhi_cases_api_rate": ApiRule(
        SIGNED_IN, params={"case_id": "case"}, only=roles(R.RESIDENT), body={"rating": "satisfied"}
    ),
    # the case sits at grid level; no account of the world handles there
    "gongzhi_cases_api_close": ApiRule(P.CASE_HANDLE, params={"case_id": "case"}, only=roles()),
    # the case sits at grid level; no account of the world handles there
    "gongzhi_cases_api_reject": ApiRule(
        P.CASE_HANDLE, params={"case_id": "case"}, only=roles(), body={"reason": "理由：矩阵测试写明的充分理由"}
    ),
    # the resident's own records
    "gongzhi_cases_api_withdraw": ApiRule(SIGNED_IN, params={"case_id": "case"}, only=roles(R.RESIDENT)),
    # the case is found first (reporter, staff who see it), then the merge refused
    "gongzhi_cases_api_merge": ApiRule(
        P.RESIDENT_VIEW,
        params={"case_id": "case"},
        only=CASE_READERS,
    ),
    "gongzhi_cases_api_notifications": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_notifications_read": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_visit_list": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_visit_create": ApiRule(P.VISIT_LOG),
    "gongzhi_cases_api_visit_my_summary": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_visit_summaries": ApiRule(P.CASE_VIEW),
    "gongzhi_cases_api_visit_detail": ApiRule(P.CASE_VIEW, params={"visit_id": "visit"}),
    "gongzhi_cases_api_visit_handle": ApiRule(P.VISIT_LOG, params={"visit_id": "visit"}),
    "gongzhi_cases_api_visit_to_case": ApiRule(P.VISIT_LOG, params={"visit_id": "visit"}),
    "gongzhi_cases_api_dispute_list": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_dispute_create": ApiRule(P.DISPUTE_MEDIATE),
    "gongzhi_cases_api_dispute_detail": ApiRule(P.DISPUTE_MEDIATE, params={"dispute_id": "dispute"}),
    "gongzhi_cases_api_dispute_mediator": ApiRule(P.DISPUTE_MEDIATE, params={"dispute_id": "dispute"}),
    "gongzhi_cases_api_dispute_session": ApiRule(P.DISPUTE_MEDIATE, params={"dispute_id": "dispute"}),
    "gongzhi_cases_api_dispute_resolve": ApiRule(P.DISPUTE_MEDIATE, params={"dispute_id": "dispute"}),
    "gongzhi_cases_api_dispute_refer": ApiRule(P.DISPUTE_MEDIATE, params={"dispute_id": "dispute"}),
    "gongzhi_cases_api_dispute_close_unresolved": ApiRule(P.DISPUTE_MEDIATE, params={"dispute_id": "dispute"}),
    "gongzhi_cases_api_agent_service_list": ApiRule(SIGNED_IN),
    "gongzhi_cases_api_agent_service_create": ApiRule(P.AGENT_SERVICE),
    # staff who see cases in the place
    "gongzhi_cases_api_agent_service_counts": ApiRule(
        P.RESIDENT_VIEW,
        only=roles(
            R.BUILDING_HEAD,
            R.COMMUNITY_SECRETARY,
            R.COMMUNITY_WORKER,
            R.DISTRICT_ADMIN,
            R.ENTRANCE_HEAD,
            R.GRID_WORKER,
            R.MEDIATOR,
            R.SERVICE_AGENT,
            R.STREET_ADMIN,
        ),
    ),
    "gongzhi_cases_api_agent_service_detail": ApiRule(P.AGENT_SERVICE, params={"service_id": "agent_service"}),
    "gongzhi_cases_api_agent_service_step_add": ApiRule(P.AGENT_SERVICE, params={"service_id": "agent_service"}),
    "gongzhi_cases_api_agent_service_step_done": ApiRule(
        P.AGENT_SERVICE, params={"service_id": "agent_service", "position": "=1"}
    ),
    "gongzhi_cases_api_agent_service_complete": ApiRule(P.AGENT_SERVICE, params={"service_id": "agent_service"}),
    "gongzhi_cases_api_agent_service_cancel": ApiRule(P.AGENT_SERVICE, params={"service_id": "agent_service"}),
    "gongzhi_cases_api_kpis": ApiRule(P.CASE_VIEW),
    # staff who see cases in the place, and the resident (own figures)
    "gongzhi_cases_api_performance": ApiRule(
        P.RESIDENT_VIEW,
        only=CASE_READERS,
    ),
    # found first, then refused with 409
    "gongzhi_cases_api_performance_points_claim": ApiRule(
        P.RESIDENT_VIEW,
        only=CASE_READERS,
    ),
    "gongzhi_volunteering_api_activity_near": ApiRule(SIGNED_IN),
    "gongzhi_volunteering_api_activity_create": ApiRule(SIGNED_IN),
    "gongzhi_volunteering_api_activity_managed": ApiRule(SIGNED_IN),
    # activities are open to volunteers of any community
    "gongzhi_volunteering_api_activity_detail": ApiRule(
        SIGNED_IN, params={"activity_id": "activity"}, across=frozenset(R)
    ),
    # a resident may volunteer in any community
    "gongzhi_volunteering_api_activity_join": ApiRule(
        SIGNED_IN, params={"activity_id": "activity"}, only=roles(R.RESIDENT), across=roles(R.RESIDENT)
    ),
    "gongzhi_volunteering_api_signup_cancel": ApiRule(SIGNED_IN, params={"signup_id": "signup"}),
    "gongzhi_volunteering_api_signup_confirm": ApiRule(SIGNED_IN, params={"signup_id": "signup"}),
    # open activities: the time window is checked first (409)
    "gongzhi_volunteering_api_activity_check_in": ApiRule(
        SIGNED_IN, params={"activity_id": "activity"}, across=frozenset(R)
    ),
    # open activities: the time window is checked first (409)
    "gongzhi_volunteering_api_activity_check_out": ApiRule(
        SIGNED_IN, params={"activity_id": "activity"}, across=frozenset(R)
    ),
    "gongzhi_volunteering_api_my_signups": ApiRule(SIGNED_IN),
    # the resident's own records
    "gongzhi_volunteering_api_my_hours": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    "gongzhi_volunteering_api_activity_roster": ApiRule(P.VOLUNTEERING_MANAGE, params={"activity_id": "activity"}),
    "gongzhi_volunteering_api_activity_token": ApiRule(P.VOLUNTEERING_MANAGE, params={"activity_id": "activity"}),
    "gongzhi_volunteering_api_activity_close": ApiRule(P.VOLUNTEERING_MANAGE, params={"activity_id": "activity"}),
    # nobody of the world has registered (报到): not found for every role
    "gongzhi_volunteering_api_my_registration": ApiRule(SIGNED_IN, only=roles()),
    # the resident's own records
    "gongzhi_volunteering_api_my_registration_create": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    "gongzhi_volunteering_api_registration_confirm": ApiRule(
        P.PARTY_MANAGE, params={"registration_id": "registration"}
    ),
    "gongzhi_volunteering_api_registration_post_claim": ApiRule(
        P.PARTY_MANAGE, params={"registration_id": "registration"}
    ),
    # volunteering staff and the employer's own representative
    "gongzhi_volunteering_api_employer_report": ApiRule(
        P.CASE_HANDLE,
        params={"organisation_id": "organisation"},
        only=roles(
            R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.ORGANISATION_REPRESENTATIVE, R.STREET_ADMIN
        ),
    ),
    "gongzhi_volunteering_api_wish_wall": ApiRule(SIGNED_IN),
    # the resident's own records
    "gongzhi_volunteering_api_wish_post": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    "gongzhi_volunteering_api_wish_approve": ApiRule(P.WISH_APPROVE, params={"wish_id": "wish"}),
    # the wisher and wish approvers (422: reason missing)
    "gongzhi_volunteering_api_wish_refuse": ApiRule(
        P.RESIDENT_VIEW,
        params={"wish_id": "wish"},
        only=roles(R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.RESIDENT, R.STREET_ADMIN),
    ),
    "gongzhi_volunteering_api_wish_claim": ApiRule(P.WISH_APPROVE, params={"wish_id": "wish"}),
    # the world's wish is not claimed: only its claimer may act, refused for every role
    "gongzhi_volunteering_api_wish_withdraw": ApiRule(SIGNED_IN, params={"wish_id": "wish"}, only=roles()),
    # the world's wish is not claimed: only its claimer may act, refused for every role
    "gongzhi_volunteering_api_wish_fulfil": ApiRule(SIGNED_IN, params={"wish_id": "wish"}, only=roles()),
    # the resident's own records
    "gongzhi_volunteering_api_wish_confirm": ApiRule(SIGNED_IN, params={"wish_id": "wish"}, only=roles(R.RESIDENT)),
    "gongzhi_volunteering_api_team_list": ApiRule(SIGNED_IN),
    "gongzhi_volunteering_api_team_create": ApiRule(P.VOLUNTEERING_MANAGE),
    # the resident's own records
    "gongzhi_volunteering_api_team_join": ApiRule(SIGNED_IN, params={"team_id": "team"}, only=roles(R.RESIDENT)),
    "gongzhi_volunteering_api_team_member_approve": ApiRule(P.VOLUNTEERING_MANAGE, params={"member_id": "team_member"}),
    "gongzhi_volunteering_api_team_leave": ApiRule(SIGNED_IN, params={"member_id": "team_member"}),
    "gongzhi_volunteering_api_figures": ApiRule(P.VOLUNTEERING_MANAGE),
    "gongzhi_deliberation_api_topic_list": ApiRule(SIGNED_IN),
    # the resident's own records
    "gongzhi_deliberation_api_topic_propose": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    # the resident's own records
    "gongzhi_deliberation_api_topic_similar": ApiRule(SIGNED_IN, only=roles(R.RESIDENT)),
    # residents of the community and deliberation staff
    "gongzhi_deliberation_api_topic_detail": ApiRule(
        P.RESIDENT_VIEW,
        params={"topic_id": "topic"},
        only=roles(R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.RESIDENT, R.STREET_ADMIN),
    ),
    # who sees the topic (residents of the community, deliberation staff)
    "gongzhi_deliberation_api_topic_cosign": ApiRule(
        P.RESIDENT_VIEW,
        params={"topic_id": "topic"},
        only=roles(R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.RESIDENT, R.STREET_ADMIN),
    ),
    "gongzhi_deliberation_api_topic_accept": ApiRule(P.DELIBERATION_MANAGE, params={"topic_id": "topic"}),
    "gongzhi_deliberation_api_topic_decline": ApiRule(P.DELIBERATION_MANAGE, params={"topic_id": "topic"}),
    "gongzhi_deliberation_api_vote_cast": ApiRule(SIGNED_IN, params={"vote_id": "vote"}),
    "gongzhi_deliberation_api_vote_result": ApiRule(SIGNED_IN, params={"vote_id": "vote"}),
    "gongzhi_deliberation_api_public_record": ApiRule(PUBLIC, params={"community_id": "community"}),
    "gongzhi_deliberation_api_public_vote": ApiRule(PUBLIC, params={"vote_id": "vote"}),
    "gongzhi_deliberation_api_public_chain": ApiRule(PUBLIC, params={"vote_id": "vote"}),
    "gongzhi_deliberation_api_resolution_step": ApiRule(P.DELIBERATION_MANAGE, params={"topic_id": "topic"}),
    # no resolution recorded in the world: not found for every role
    "gongzhi_deliberation_api_resolution_detail": ApiRule(SIGNED_IN, params={"topic_id": "topic"}, only=roles()),
    "gongzhi_deliberation_api_resolution_publish": ApiRule(P.DELIBERATION_MANAGE, params={"topic_id": "topic"}),
    "gongzhi_deliberation_api_resolution_result": ApiRule(P.DELIBERATION_MANAGE, params={"topic_id": "topic"}),
    "gongzhi_deliberation_api_vote_create": ApiRule(P.DELIBERATION_MANAGE, params={"topic_id": "topic"}),
    "gongzhi_deliberation_api_vote_publish": ApiRule(P.DELIBERATION_MANAGE, params={"vote_id": "vote"}),
    "gongzhi_cobuilding_api_agreement_list": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_agreement_sign": ApiRule(P.COBUILDING_MANAGE),
    "gongzhi_cobuilding_api_resource_list": ApiRule(SIGNED_IN),
    # only an organisation's representative publishes resources
    "gongzhi_cobuilding_api_resource_publish": ApiRule(P.CASE_HANDLE, only=roles(R.ORGANISATION_REPRESENTATIVE)),
    "gongzhi_cobuilding_api_need_list": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_need_create": ApiRule(P.COBUILDING_MANAGE),
    "gongzhi_cobuilding_api_match_list": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_match_answer": ApiRule(P.COBUILDING_MANAGE, params={"match_id": "match"}),
    "gongzhi_cobuilding_api_project_list": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_project_create": ApiRule(P.COBUILDING_MANAGE),
    # co-building staff and the organisation's representative
    "gongzhi_cobuilding_api_project_detail": ApiRule(
        P.CASE_HANDLE,
        params={"project_id": "project"},
        only=roles(
            R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.ORGANISATION_REPRESENTATIVE, R.STREET_ADMIN
        ),
    ),
    # only an organisation's representative claims a project
    "gongzhi_cobuilding_api_project_claim": ApiRule(
        P.CASE_HANDLE, params={"project_id": "project"}, only=roles(R.ORGANISATION_REPRESENTATIVE)
    ),
    "gongzhi_cobuilding_api_project_release": ApiRule(P.COBUILDING_MANAGE, params={"project_id": "project"}),
    # co-building staff and the representative (409: not claimed)
    "gongzhi_cobuilding_api_project_progress": ApiRule(
        P.CASE_HANDLE,
        params={"project_id": "project"},
        only=roles(
            R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.ORGANISATION_REPRESENTATIVE, R.STREET_ADMIN
        ),
    ),
    "gongzhi_cobuilding_api_project_confirm": ApiRule(P.COBUILDING_MANAGE, params={"project_id": "project"}),
    # needs what the world lacks (a confirmed project, a property company): refused for every role
    "gongzhi_cobuilding_api_project_rate": ApiRule(SIGNED_IN, params={"project_id": "project"}, only=roles()),
    "gongzhi_cobuilding_api_project_points": ApiRule(P.COBUILDING_MANAGE, params={"project_id": "project"}),
    "gongzhi_cobuilding_api_fund_list": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_fund_set": ApiRule(P.FUND_APPROVE),
    "gongzhi_cobuilding_api_spending_request": ApiRule(P.COBUILDING_MANAGE, params={"fund_id": "fund"}),
    "gongzhi_cobuilding_api_spending_decide": ApiRule(
        P.FUND_APPROVE, params={"spending_id": "spending", "action": "=approve"}
    ),
    "gongzhi_cobuilding_api_alliance_ranking": ApiRule(SIGNED_IN, params={"alliance_id": "alliance"}),
    "gongzhi_cobuilding_api_commitment_mark": ApiRule(P.COBUILDING_MANAGE, params={"commitment_id": "commitment"}),
    # needs what the world lacks (a confirmed project, a property company): refused for every role
    "gongzhi_cobuilding_api_score_enter": ApiRule(P.ASSESSMENT_SCORE, only=roles()),
    # needs what the world lacks (a confirmed project, a property company): refused for every role
    "gongzhi_cobuilding_api_quarter_publish": ApiRule(P.ASSESSMENT_SCORE, only=roles()),
    "gongzhi_cobuilding_api_results": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_figures": ApiRule(P.COBUILDING_MANAGE),
    # co-building staff and the organisation's own representative
    "gongzhi_cobuilding_api_report_back": ApiRule(
        P.CASE_HANDLE,
        params={"organisation_id": "organisation"},
        only=roles(
            R.COMMUNITY_SECRETARY, R.COMMUNITY_WORKER, R.DISTRICT_ADMIN, R.ORGANISATION_REPRESENTATIVE, R.STREET_ADMIN
        ),
    ),
    "gongzhi_cobuilding_api_report_back_send": ApiRule(P.COBUILDING_MANAGE, params={"organisation_id": "organisation"}),
    "gongzhi_cobuilding_api_agreement_end": ApiRule(P.COBUILDING_MANAGE, params={"agreement_id": "agreement"}),
    "gongzhi_cobuilding_api_agreement_renew": ApiRule(P.COBUILDING_MANAGE, params={"agreement_id": "agreement"}),
    "gongzhi_cobuilding_api_resource_withdraw": ApiRule(SIGNED_IN, params={"resource_id": "resource"}),
    "gongzhi_cobuilding_api_alliance_list": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_alliance_create": ApiRule(P.COBUILDING_MANAGE),
    "gongzhi_cobuilding_api_alliance_join": ApiRule(P.COBUILDING_MANAGE, params={"alliance_id": "alliance"}),
    "gongzhi_cobuilding_api_pairing_list": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_pairing_create": ApiRule(P.COBUILDING_MANAGE),
    "gongzhi_cobuilding_api_commitment_add": ApiRule(P.COBUILDING_MANAGE, params={"pairing_id": "pairing"}),
    "gongzhi_cobuilding_api_activity_record": ApiRule(P.COBUILDING_MANAGE),
    "gongzhi_cobuilding_api_meeting_list": ApiRule(SIGNED_IN),
    "gongzhi_cobuilding_api_meeting_record": ApiRule(P.COBUILDING_MANAGE),
    "gongzhi_cobuilding_api_matter_follow_up": ApiRule(P.COBUILDING_MANAGE, params={"matter_id": "matter"}),
    "gongzhi_cobuilding_api_weights_set": ApiRule(P.ASSESSMENT_SCORE),
    "gongzhi_cockpit_api_kpis": ApiRule(P.COCKPIT_VIEW),
    "gongzhi_cockpit_api_catalogue": ApiRule(SIGNED_IN),
    "gongzhi_cockpit_api_report_ask": ApiRule(P.REPORT_GENERATE),
    "gongzhi_cockpit_api_report_status": ApiRule(P.REPORT_GENERATE, params={"run_id": "report_run"}),
    "gongzhi_cockpit_api_report_file": ApiRule(P.REPORT_GENERATE, params={"run_id": "report_run"}),
}
