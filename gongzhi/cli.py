"""The ``gongzhi`` console script: Django's management commands under one name.

gongzhi demo            prepare and serve the demo district
gongzhi seed --households 100000 --seed 1
gongzhi migrate | createsuperuser | runjobs | ...
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["gongzhi", *argv])
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
