"""Login, home per role, my household, preferences and the translations, through the real test client."""

from __future__ import annotations

from datetime import timedelta

import polib
import pytest
from django.utils import timezone

from gongzhi.core.i18n import LOCALE_DIR, catalogue_paths
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.people.models import Account, Organisation
from gongzhi.people.tests.factories import PASSWORD, AccountFactory, ResidentFactory, account_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def resident_account(tree, resident_a1):
    return account_with_role(Role.RESIDENT, tree["household_a1"], username="zhangsan", resident=resident_a1)


# ---------------------------------------------------------------- login and logout


def test_login_page_is_chinese_by_default(client):
    response = client.get("/login/", headers={"Accept-Language": "en-US,en"})
    content = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in content
    assert "登录" in content and "用户名" in content


def test_login_with_wrong_password_keeps_the_username_and_explains(client, grid_worker_a1):
    response = client.post("/login/", {"username": "grid_a1", "password": "wrong"})
    assert response.status_code == 401
    content = response.content.decode()
    assert "用户名或密码不正确。" in content
    assert 'value="grid_a1"' in content
    assert "_auth_user_id" not in client.session


def test_locked_account_shows_the_lockout_message(client, grid_worker_a1):
    Account.objects.filter(pk=grid_worker_a1.pk).update(locked_until=timezone.now() + timedelta(minutes=10))
    response = client.post("/login/", {"username": "grid_a1", "password": PASSWORD})
    assert response.status_code == 423
    content = response.content.decode()
    assert "登录失败次数过多" in content
    assert "社区办公室" in content
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_through_the_page(client, grid_worker_a1, settings):
    settings.GONGZHI_LOGIN_MAX_FAILURES = 2
    assert client.post("/login/", {"username": "grid_a1", "password": "x"}).status_code == 401
    assert client.post("/login/", {"username": "grid_a1", "password": "x"}).status_code == 423


def test_login_success_redirects_to_a_safe_next_only(client, grid_worker_a1):
    response = client.post("/login/?next=/places/", {"username": "grid_a1", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/places/"
    client.post("/logout/")
    response = client.post("/login/?next=https://evil.example/", {"username": "grid_a1", "password": PASSWORD})
    assert response["Location"] == "/"
    assert AuditEntry.objects.filter(action="auth.login", actor_id=grid_worker_a1.pk).count() == 2


def test_logout_is_post_only(client, grid_worker_a1):
    client.force_login(grid_worker_a1)
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_pages_need_login(client):
    for url in ("/", "/me/", "/me/household/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


# ---------------------------------------------------------------- home per role


def test_home_for_a_grid_worker_shows_their_grid_with_counts(client, tree, grid_worker_a1, resident_a1):
    client.force_login(grid_worker_a1)
    response = client.get("/")
    assert response.status_code == 200
    [item] = response.context["staff_places"]
    assert item["place"] == tree["grid_a1"]
    assert (item["counts"]["building"], item["counts"]["household"], item["residents"]) == (1, 2, 1)
    content = response.content.decode()
    assert "第一网格" in content and "幸福社区" not in content
    assert f'href="/places/{tree["grid_a1"].pk}/residents/"' in content


def test_home_for_a_superuser_shows_the_districts(client, tree):
    admin = AccountFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    response = client.get("/")
    assert [item["place"] for item in response.context["staff_places"]] == [tree["district"]]


def test_home_for_a_resident_shows_only_their_household(client, tree, resident_account, resident_a1, resident_a2):
    client.force_login(resident_account)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["household"] == tree["household_a1"]
    assert [member.pk for member in response.context["household_members"]] == [resident_a1.pk]
    assert "staff_places" not in response.context
    content = response.content.decode()
    assert "张三" in content and "李四" not in content
    assert 'href="/me/household/"' in content
    assert 'href="/places/"' not in content  # no staff navigation


def test_home_for_a_merchant_clerk_shows_their_organisation(client, tree):
    shop = Organisation.objects.create(kind="merchant", name="便民超市", place=tree["community_a"])
    clerk = account_with_role(Role.MERCHANT_CLERK, tree["community_a"], organisation=shop)
    client.force_login(clerk)
    response = client.get("/")
    assert response.context["organisations"] == [shop]
    assert "便民超市" in response.content.decode()


def test_home_without_a_role_says_what_to_do(client):
    client.force_login(AccountFactory(username="newcomer"))
    response = client.get("/")
    content = response.content.decode()
    assert 'data-testid="empty-home"' in content
    assert "社区办公室" in content and "newcomer" in content


# ---------------------------------------------------------------- my household


def test_my_household_lists_members_masked(client, tree, resident_account, resident_a1, resident_a2):
    spouse = ResidentFactory(household=tree["household_a1"], name="张妻", relation="spouse")
    client.force_login(resident_account)
    response = client.get("/me/household/")
    assert response.status_code == 200
    [entry] = response.context["entries"]
    assert {member.pk for member in entry["members"]} == {resident_a1.pk, spouse.pk}
    assert [place.name for place in entry["address"]] == ["示范区", "东街道", "和平社区", "第一网格", "1号楼", "1单元"]
    content = response.content.decode()
    assert resident_a1.id_card_masked in content
    assert resident_a1.phone not in content
    assert "李四" not in content


def test_a_resident_cannot_open_another_household(client, tree, resident_account, resident_a2):
    client.force_login(resident_account)
    assert client.get(f"/places/residents/{resident_a2.pk}/").status_code == 404
    assert client.get(f"/places/{tree['household_a2'].pk}/").status_code == 404
    assert client.get(f"/places/{tree['grid_a1'].pk}/residents/").status_code == 404
    assert client.get(f"/places/{tree['household_a1'].pk}/residents.xlsx").status_code == 404
    assert not AuditEntry.objects.filter(action="resident.export").exists()


def test_my_household_empty_state(client):
    client.force_login(AccountFactory())
    response = client.get("/me/household/")
    assert 'data-testid="no-household"' in response.content.decode()


# ---------------------------------------------------------------- elder mode and language


def test_elder_mode_is_saved_on_the_account_and_in_a_cookie(client, resident_account):
    client.force_login(resident_account)
    response = client.post("/me/elder-mode/", {"elder": "1", "next": "/me/household/"})
    assert response.status_code == 302 and response["Location"] == "/me/household/"
    assert response.cookies["gongzhi_elder"].value == "1"
    resident_account.refresh_from_db()
    assert resident_account.elder_mode is True
    assert '<body class="elder' in client.get("/").content.decode()
    assert AuditEntry.objects.filter(action="account.preferences", actor_id=resident_account.pk).exists()

    response = client.post("/me/elder-mode/", {"elder": "0", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    resident_account.refresh_from_db()
    assert resident_account.elder_mode is False
    assert response.cookies["gongzhi_elder"].value == ""


def test_login_page_honours_the_elder_cookie_and_login_keeps_it(client, resident_account):
    client.cookies["gongzhi_elder"] = "1"
    assert '<body class="elder' in client.get("/login/").content.decode()
    client.post("/login/", {"username": "zhangsan", "password": PASSWORD})
    resident_account.refresh_from_db()
    assert resident_account.elder_mode is True


def test_login_restores_the_accounts_elder_mode_and_language(client, resident_account):
    Account.objects.filter(pk=resident_account.pk).update(elder_mode=True, preferred_language="en")
    response = client.post("/login/", {"username": "zhangsan", "password": PASSWORD})
    assert response.cookies["gongzhi_elder"].value == "1"
    assert response.cookies["gongzhi_language"].value == "en"
    content = client.get("/").content.decode()
    assert '<html lang="en" class="elder">' in content and "My household" in content


def test_home_is_chinese_by_default_and_english_after_switching(client, resident_account):
    client.force_login(resident_account)
    chinese = client.get("/", headers={"Accept-Language": "en"}).content.decode()
    assert '<html lang="zh-Hans">' in chinese and "我的家" in chinese and "首页" in chinese

    response = client.post("/me/language/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["gongzhi_language"].value == "en"
    resident_account.refresh_from_db()
    assert resident_account.preferred_language == "en"

    english = client.get("/").content.decode()
    assert '<html lang="en">' in english and "My household" in english and "我的家" not in english

    client.post("/me/language/", {"language": "zh-hans", "next": "/"})
    assert "我的家" in client.get("/").content.decode()


def test_language_switch_works_before_login_without_saving(client):
    response = client.post("/me/language/", {"language": "en", "next": "/login/"})
    assert response.cookies["gongzhi_language"].value == "en"
    assert "Password" in client.get("/login/").content.decode()
    assert not AuditEntry.objects.filter(action="account.preferences").exists()


def test_unknown_language_changes_nothing(client, resident_account):
    client.force_login(resident_account)
    client.post("/me/language/", {"language": "xx", "next": "/"})
    resident_account.refresh_from_db()
    assert resident_account.preferred_language == ""


def test_djangos_set_language_view_is_there_too(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.cookies["gongzhi_language"].value == "en"


# ---------------------------------------------------------------- the catalogue


def test_every_message_has_a_chinese_translation():
    paths = catalogue_paths()
    assert LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po" in paths
    total = 0
    for path in paths:
        catalogue = polib.pofile(str(path))
        assert not catalogue.metadata_is_fuzzy, path
        untranslated = [entry.msgid for entry in catalogue if not entry.translated()]
        fuzzy = [entry.msgid for entry in catalogue if "fuzzy" in entry.flags]
        assert (path, untranslated, fuzzy) == (path, [], [])
        total += len(catalogue)
    assert total > 100


# ---------------------------------------------------------------- error pages


def test_unknown_address_gets_the_same_not_found_page(client, grid_worker_a1):
    client.force_login(grid_worker_a1)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert 'data-testid="error-page"' in content and "没有找到" in content


def test_expired_form_gets_a_readable_page():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()
