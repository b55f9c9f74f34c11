"""Every row lock of volunteering, built on ``core.locks``: own table only (``FOR UPDATE OF``), by primary key.

Lock order, everywhere in the app: activity → sign-up; wish alone; registration → post. Sign-ups, cancellations,
offers and their expiry of one activity all queue on the activity's row, so the count of places taken and the
waiting order are read and moved by one transaction at a time.
"""

from __future__ import annotations

from gongzhi.core.locks import lock_row

from .models import Activity, DualRegistration, Post, SignUp, Wish


def lock_activity(activity_id: int) -> Activity:
    """The activity, locked: its places taken, waiting serial and state are the latest committed."""
    return lock_row(Activity.objects.all(), activity_id)


def lock_signup(signup_id: int) -> SignUp:
    return lock_row(SignUp.objects.all(), signup_id)


def lock_wish(wish_id: int) -> Wish:
    return lock_row(Wish.objects.all(), wish_id)


def lock_registration(registration_id: int) -> DualRegistration:
    return lock_row(DualRegistration.objects.all(), registration_id)


def lock_post(post_id: int) -> Post:
    return lock_row(Post.objects.all(), post_id)
