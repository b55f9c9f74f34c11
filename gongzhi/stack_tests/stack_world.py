"""The stack test's data, built through the services in the stack's own database.

Run by the test as ``gongzhi shell -c "from gongzhi.stack_tests.stack_world import main; main()"``; prints one line
of JSON: a resident's login, their points account, an item they can claim and the server's today.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.utils import timezone

from gongzhi.people.tests.factories import PASSWORD
from gongzhi.places.tests.factories import make_tree
from gongzhi.points.tests.factories import make_item, resident_with_login


def main() -> None:
    with transaction.atomic():
        tree = make_tree()
        login, account = resident_with_login(tree["household_a1"], name="张三")
        item = make_item(tree["district"], value=5, name="楼道清扫")
    print(
        json.dumps(
            {
                "username": login.username,
                "password": PASSWORD,
                "account_id": account.pk,
                "item_id": item.pk,
                "today": timezone.localdate().isoformat(),
            }
        )
    )
