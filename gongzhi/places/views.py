"""Pages for browsing the place tree."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import place_roots_for


@login_required
def place_index(request):
    return render(request, "places/index.html", {"roots": place_roots_for(request.user)})
