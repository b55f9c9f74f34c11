"""Pages of the points shop: residents on phones, clerks at the counter, staff in tables.

Thin views: parse → access_<thing> → one service call → render. A DomainError from a form's service call is shown
beside the form (what was typed is kept); anything else out of reach renders the same "not found" page.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.masking import mask_name
from gongzhi.core.pagination import page_of
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors, private_file_response

from . import selectors, services
from .exports import XLSX_CONTENT_TYPE, settlement_export
from .forms import AllianceJoinForm, OfferForm, SettingsForm, WindowForm
from .models import Offer, Redemption, ShopSettings


def qr_svg(data: str, *, scale: int = 5) -> str:
    """A QR code as inline SVG, drawn on the server (no script, no outside service)."""
    import segno

    return mark_safe(segno.make_qr(data, error="m").svg_inline(scale=scale, border=2, omitsize=True))


def _new_key() -> str:
    return uuid.uuid4().hex


def _roles(user) -> dict:
    return {
        "can_manage": not reach(user, Permission.SHOP_MANAGE).is_empty,
        "can_approve": not reach(user, Permission.OFFER_APPROVE).is_empty,
        "can_settle": not reach(user, Permission.SETTLEMENT_VIEW).is_empty or user.is_superuser,
        "can_verify": bool(services.clerk_merchant_ids(user)) or not reach(user, Permission.REDEMPTION_VERIFY).is_empty,
    }


# ---------------------------------------------------------------- residents


@login_required
@domain_errors
def home(request):
    user = request.user
    now = timezone.now()
    account = selectors.shop_account(user)  # the account /points/ shows first; nothing is written on a GET
    offers = list(selectors.offers_for_account(account, now=now)) if account is not None else []
    window = selectors.window_state(account.community_id, now) if account is not None else None
    context = {
        "account": account,
        "offers": offers,
        "window": window,
        "open_orders": selectors.my_orders(user, state="held").count() if account is not None else 0,
        "merchants": selectors.clerk_merchants(user),
        **_roles(user),
    }
    if context["can_approve"]:
        context["pending_count"] = selectors.offers_to_approve(user).count()
    return render(request, "shop/home.html", context)


@login_required
@domain_errors
def home_card(request):
    """The shop's card on the home page (loaded by htmx): the counter for a merchant's clerk, the organisation's
    points for its representative (the account /points/ and /shop/ show). Nothing to show: an empty answer."""
    user = request.user
    context = {
        "merchants": selectors.clerk_merchants(user),
        "organisation_accounts": [account for account in selectors.shop_accounts(user) if account.organisation_id],
    }
    if not context["merchants"] and not context["organisation_accounts"]:
        return HttpResponse("")
    return render(request, "shop/_home_card.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def offer_detail(request, offer_id: int):
    user = request.user
    offer = selectors.access_offer(user, offer_id)
    account = selectors.shop_account(user)
    error = None
    quantity = 1
    key = request.POST.get("idempotency_key") or _new_key()
    if request.method == "POST":
        if account is None:
            raise NotFound()
        try:
            quantity = int(request.POST.get("quantity", "1"))
        except ValueError:
            quantity = 0
        try:
            rate_limit_request(request, "order", now=timezone.now())
            order = services.redemption_place(
                actor=user, offer=offer, account=account, quantity=quantity, idempotency_key=key
            )
        except DomainError as refusal:
            error = refusal
            key = _new_key()  # nothing was written: a new attempt is a new order
        else:
            messages.success(request, _("Order placed. Show the code at the counter to pick it up."))
            return redirect("shop:order", order.pk)
    now = timezone.now()
    if account is not None and account.pk:
        account.refresh_from_db()
    offer.refresh_from_db(fields=["stock", "state"])
    window = selectors.window_state(account.community_id if account else offer.community_id, now)
    eligible = account is not None and selectors.offer_eligible(offer, account)
    choice = None
    if account is not None and eligible and window.open:
        choice = selectors.redeem_choice(offer, account, window=window, now=now)
    context = {
        "offer": offer,
        "account": account,
        "eligible": eligible,
        "window": window,
        "choice": choice,
        "error": error,
        "quantity": max(1, min(quantity, choice.most)) if choice and choice.possible else 1,
        "idempotency_key": key,
        "today": timezone.localdate(now),
        **_roles(user),
    }
    return render(request, "shop/offer.html", context, status=error.status if error else 200)


@login_required
@domain_errors
def offer_photo(request, offer_id: int):
    """An offer's photo, for whoever may see the offer (never a public media URL)."""
    offer = selectors.access_offer(request.user, offer_id)
    return private_file_response(offer.photo)


@login_required
@domain_errors
def my_orders(request):
    page = page_of(request, selectors.my_orders(request.user))
    return render(request, "shop/orders.html", {"orders": page.object_list, "page": page})


@login_required
@domain_errors
def order_detail(request, order_id: int):
    order = selectors.access_redemption(request.user, order_id)
    context = {"order": order, "may_cancel": order.state == Redemption.State.HELD}
    if order.state == Redemption.State.HELD:
        context["qr"] = qr_svg(services.pickup_token(order))
    response = render(request, "shop/order.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@domain_errors
@require_POST
def order_cancel(request, order_id: int):
    order = selectors.access_redemption(request.user, order_id)
    try:
        services.redemption_cancel(actor=request.user, redemption=order)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Order cancelled: the points are back in your balance."))
    return redirect("shop:order", order.pk)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def my_card(request):
    user = request.user
    if request.method == "POST":
        account = services.ensure_resident_account(user)
        if account is None:
            raise NotFound()
        services.points_card_issue(actor=user, account=account, reissue=True)
        messages.success(request, _("You have a new card code; the old one no longer works."))
        return redirect("shop:card")
    card = services.resident_card(actor=user)
    if card is None:
        raise NotFound()
    response = render(
        request,
        "shop/card.html",
        {"card": card, "qr": qr_svg(services.card_token(card), scale=6), "name": card.account.display_name},
    )
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- clerks


def _counter_from(request) -> tuple[dict, str, str]:
    """(service arguments, counter key, label) for the counter chosen by ?merchant= / ?community=."""
    user = request.user
    merchant_id = request.POST.get("merchant") or request.GET.get("merchant")
    community_id = request.POST.get("community") or request.GET.get("community")
    if merchant_id:
        merchant = selectors.access_merchant(user, merchant_id)
        return {"merchant": merchant}, services.require_counter(user, merchant=merchant), merchant.name
    if community_id:
        community = selectors.access_shop_place(user, community_id, Permission.REDEMPTION_VERIFY)
        counter = services.require_counter(user, community=community)
        return {"community": community}, counter, _("%(community)s points shop") % {"community": community.name}
    merchants = selectors.clerk_merchants(user)
    if merchants:
        return {"merchant": merchants[0]}, f"m{merchants[0].pk}", merchants[0].name
    places = selectors.shop_places(user, Permission.REDEMPTION_VERIFY)
    communities = [place for place in places if place.kind == "community"]
    if communities:
        community = communities[0]
        return (
            {"community": community},
            f"c{community.pk}",
            _("%(community)s points shop") % {"community": community.name},
        )
    raise NotFound()


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def counter(request):
    user = request.user
    args, counter_key, label = _counter_from(request)
    context = {
        "label": label,
        "merchant": args.get("merchant"),
        "community": args.get("community"),
        "merchants": selectors.clerk_merchants(user),
        "code": "",
        "verified": None,
        "lookup": None,
        "error": None,
    }
    status = 200
    if request.method == "POST":
        code = (request.POST.get("code") or "").strip()[:600]
        context["code"] = code if len(code) <= 8 else ""
        try:
            if services.is_card_code(code):
                found = services.card_lookup(actor=user, code=code, **args)
                context["lookup"] = {
                    "name": mask_name(found.account.display_name),
                    "balance": found.account.balance,
                    "orders": found.open_orders,
                }
            else:
                context["verified"] = services.redemption_verify(actor=user, code=code, **args)
                context["code"] = ""
        except DomainError as error:
            context["error"] = error
            status = error.status
    page = page_of(request, selectors.counter_orders_today(counter_key), per_page=50)
    context.update(orders=page.object_list, page=page)
    return render(request, "shop/counter.html", context, status=status)


# ---------------------------------------------------------------- staff


@login_required
@domain_errors
def manage(request):
    user = request.user
    roles = _roles(user)
    if not (roles["can_manage"] or roles["can_approve"] or services.clerk_merchant_ids(user) or user.is_superuser):
        raise NotFound()
    places = selectors.shop_places(user)
    community = None
    if request.GET.get("community"):
        community = selectors.access_shop_place(user, request.GET["community"])
    elif places:
        community = next((place for place in places if place.kind == "community"), places[0])
    state = request.GET.get("state") or ""
    page = page_of(request, selectors.managed_offers(user, state=state or None), per_page=50)
    context = {
        "pending": list(selectors.offers_to_approve(user)[:100]),
        "offers": page.object_list,
        "page": page,
        "state": state,
        "states": Offer.State.choices,
        "places": places,
        "community": community,
        **roles,
    }
    if community is not None and roles["can_manage"]:
        settings = ShopSettings.objects.filter(community=community).first()
        context.update(
            windows=list(selectors.windows_of(community)[:20]),
            window_form=WindowForm(),
            settings_form=SettingsForm(
                initial={
                    "always_open": settings.always_open if settings else False,
                    "unclaimed_expiry_hours": settings.unclaimed_expiry_hours if settings else 72,
                }
            ),
            alliance=list(selectors.alliance_of(community)),
            alliance_form=AllianceJoinForm(community),
            window_now=selectors.window_state(community.pk),
        )
    return render(request, "shop/manage.html", context)


@login_required
@domain_errors
@require_POST
def offer_action(request, offer_id: int, action: str):
    offer = selectors.access_offer(request.user, offer_id)
    actions = {
        "submit": services.offer_submit,
        "approve": services.offer_approve,
        "withdraw": services.offer_withdraw,
    }
    if action not in actions:
        raise NotFound()
    try:
        actions[action](actor=request.user, offer=offer)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Done: “%(title)s”.") % {"title": offer.title})
    return redirect(request.POST.get("next") or "shop:manage")


@login_required
@domain_errors
@require_POST
def offer_restock(request, offer_id: int):
    offer = selectors.access_offer(request.user, offer_id)
    try:
        change = int(request.POST.get("change", ""))
    except ValueError:
        change = 0
    try:
        services.offer_restock(actor=request.user, offer=offer, change=change, note=request.POST.get("note", ""))
    except DomainError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Stock updated."))
    return redirect("shop:manage")


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def offer_new(request):
    user = request.user
    form = OfferForm(user, request.POST or None, request.FILES or None)
    if not form.fields["community"].queryset.exists():
        raise NotFound()
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            offer = services.offer_create(
                actor=user,
                community=data["community"],
                merchant=data["merchant"],
                data=form.offer_input(),
                photo=data.get("photo"),
            )
            if request.POST.get("submit_now"):
                services.offer_submit(actor=user, offer=offer)
        except DomainError as error:
            form.add_domain_error(error)
            status = error.status
        else:
            messages.success(request, _("Offer saved. The community approves it before residents see it."))
            return redirect("shop:manage")
    elif request.method == "POST":
        status = 422
    return render(request, "shop/offer_form.html", {"form": form}, status=status)


@login_required
@domain_errors
@require_POST
def window_new(request, community_id: int):
    community = selectors.access_shop_place(request.user, community_id)
    form = WindowForm(request.POST)
    if form.is_valid():
        try:
            services.window_create(actor=request.user, community=community, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Exchange window saved."))
    else:
        messages.error(request, _("Enter a name and when the window opens and closes."))
    return redirect(f"{_manage_url()}?community={community.pk}")


@login_required
@domain_errors
@require_POST
def settings_save(request, community_id: int):
    community = selectors.access_shop_place(request.user, community_id)
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            services.shop_settings_update(actor=request.user, community=community, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Shop settings saved."))
    else:
        messages.error(request, _("Enter a number of hours between 1 and 1440 (60 days)."))
    return redirect(f"{_manage_url()}?community={community.pk}")


@login_required
@domain_errors
@require_POST
def alliance_join(request, community_id: int):
    """Enrol a merchant located in the community (or street) in its alliance, with the signed agreement."""
    place = selectors.access_shop_place(request.user, community_id)
    form = AllianceJoinForm(place, request.POST, request.FILES)
    if form.is_valid():
        try:
            membership = services.alliance_join(actor=request.user, place=place, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("%(merchant)s joined the alliance.") % {"merchant": membership.merchant.name})
    else:
        messages.error(request, "; ".join(str(message) for errors in form.errors.values() for message in errors))
    return redirect(f"{_manage_url()}?community={place.pk}")


@login_required
@domain_errors
@require_POST
def alliance_end(request, membership_id: int):
    membership = selectors.access_membership(request.user, membership_id)
    services.alliance_end(actor=request.user, membership=membership)
    messages.success(request, _("%(merchant)s left the alliance.") % {"merchant": membership.merchant.name})
    return redirect(f"{_manage_url()}?community={membership.place_id}")


@login_required
@domain_errors
def alliance_agreement(request, membership_id: int):
    """The signed agreement, for the staff who manage that alliance (never a public media URL)."""
    membership = selectors.access_membership(request.user, membership_id)
    agreement = membership.agreement_file
    return private_file_response(agreement, cache_seconds=0, filename=agreement.name.rsplit("/", 1)[-1])


def _error_text(error: DomainError) -> str:
    """The error and what each field needs, as one message line."""
    return "; ".join([str(error.message), *map(str, error.fields.values())])


def _manage_url() -> str:
    from django.urls import reverse

    return reverse("shop:manage")


def _settlement_args(request):
    month = selectors.parse_month(request.GET.get("month"))
    merchant = selectors.access_merchant(request.user, request.GET["merchant"]) if request.GET.get("merchant") else None
    return month, merchant


@login_required
@domain_errors
def settlement(request):
    user = request.user
    month, merchant = _settlement_args(request)
    if not (_roles(user)["can_settle"] or services.clerk_merchant_ids(user)):
        raise NotFound()
    rows = selectors.settlement(user, month, merchant=merchant)
    totals = {
        "orders": sum(row.orders for row in rows),
        "points": sum(row.points for row in rows),
        "discount_value": sum((row.discount_value for row in rows), start=0),
        "cash_due": sum((row.cash_due for row in rows), start=0),
    }
    context = {"rows": rows, "totals": totals, "month": month, "merchant": merchant}
    return render(request, "shop/settlement.html", context)


@login_required
@domain_errors
def settlement_xlsx(request):
    month, merchant = _settlement_args(request)
    content = settlement_export(actor=request.user, month=month, merchant=merchant)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="settlement-{month:%Y-%m}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@domain_errors
def stock(request):
    user = request.user
    month = selectors.parse_month(request.GET.get("month"))
    community = (
        selectors.access_shop_place(user, request.GET["community"], Permission.SETTLEMENT_VIEW)
        if request.GET.get("community")
        else None
    )
    page = page_of(request, selectors.stock_movements(user, month, community=community), per_page=100)
    context = {"movements": page.object_list, "page": page, "month": month, "community": community}
    return render(request, "shop/stock.html", context)
