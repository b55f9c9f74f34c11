"""Helpers every module of the cases models uses: the choice constraint and the append-only base model."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from gongzhi.core.models import AppendOnlyError


def choice_check(
    field: str, choices: type[models.TextChoices], name: str, blank: bool = False
) -> models.CheckConstraint:
    """A database check that ``field`` holds one of ``choices`` (or is empty, when ``blank``)."""
    values = list(choices.values) + ([""] if blank else [])
    return models.CheckConstraint(condition=Q(**{f"{field}__in": values}), name=name)


class AppendOnlyModel(models.Model):
    """Rows written once: Python refuses updates and deletes (the migration adds database triggers too)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.verbose_name} rows are append-only.")
