"""Pages of the red points, one module per audience (``urls.py`` names them):

- ``resident``: the resident's phone pages (claim in three taps, balance, history, rank);
- ``review``: the review committee's weekly queue and staff recording a claim for a resident;
- ``public``: the public lists, no login (monthly publication with print style and .xlsx, rankings, annual
  selection) and objections;
- ``staff``: catalogue, adjustments, publication, selection, evaluation export;
- ``common``: the few parsing helpers they share.

Views are thin: parse input → fetch through a selector or ``access_*`` helper → one service call → render. Every
state change goes through a service module (``catalogue``, ``claims``, ``review``, ``adjustments``,
``publication``); refusals come back as DomainError and are shown on the form that caused them, with what was typed
kept.
"""
