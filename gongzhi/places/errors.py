"""The places app's error codes: every refusal of the place tree's services, beside the core kinds'.

Raise a member (``raise PlacesError.DUPLICATE_NAME(message, fields=...)``). ``docs/errors.md`` lists them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import ErrorCode, ValidationFailed


class PlacesError(ErrorCode):
    INVALID_PARENT = ("invalid_parent", ValidationFailed, _("This kind of place cannot sit there."))
    GRID_TOO_DEEP = ("grid_too_deep", ValidationFailed, _("Grids nest at most three levels."))
    DUPLICATE_NAME = ("duplicate_name", ValidationFailed, _("There is already a place with this name here."))
    NOT_EMPTY = ("not_empty", ValidationFailed, _("Move or archive what is inside this place first."))
