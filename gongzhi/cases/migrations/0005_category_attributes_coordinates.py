"""Questions per request category (Open311 service attributes), answers and coordinates on cases, revoked Open311
keys, and the trail's events for undoing a merge. SQLite rebuilds the trail's table for its new choices: its trigger
is put back."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from gongzhi.core.append_only import append_only_kept_on_sqlite

TRAIL_MESSAGE = "the case trail is append-only"


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_open311key"),
        ("places", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        append_only_kept_on_sqlite("cases_caseevent", message=TRAIL_MESSAGE),
        migrations.CreateModel(
            name="CategoryAttribute",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.SlugField(max_length=40, verbose_name="code")),
                ("description", models.CharField(max_length=255, verbose_name="question")),
                (
                    "datatype",
                    models.CharField(
                        choices=[
                            ("string", "short text"),
                            ("number", "number"),
                            ("datetime", "date and time"),
                            ("text", "long text"),
                            ("singlevaluelist", "one choice from a list"),
                            ("multivaluelist", "several choices from a list"),
                        ],
                        max_length=16,
                        verbose_name="answer type",
                    ),
                ),
                (
                    "datatype_description",
                    models.CharField(
                        blank=True,
                        help_text="How to answer, for example “in metres”.",
                        max_length=255,
                        verbose_name="answer hint",
                    ),
                ),
                ("required", models.BooleanField(default=False, verbose_name="required")),
                (
                    "variable",
                    models.BooleanField(
                        default=True,
                        help_text="Uncheck for information shown to the person filing only.",
                        verbose_name="takes an answer",
                    ),
                ),
                ("order", models.PositiveSmallIntegerField(default=1, verbose_name="order")),
                ("values", models.JSONField(blank=True, default=list, verbose_name="choices")),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="created at"),
                ),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "request category question",
                "verbose_name_plural": "request category questions",
                "ordering": ["category", "order", "id"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="caseevent",
            name="caseevent_kind_valid",
        ),
        migrations.AddField(
            model_name="case",
            name="attributes",
            field=models.JSONField(blank=True, default=dict, verbose_name="answers to the category's questions"),
        ),
        migrations.AddField(
            model_name="case",
            name="latitude",
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True, verbose_name="latitude"),
        ),
        migrations.AddField(
            model_name="case",
            name="longitude",
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True, verbose_name="longitude"),
        ),
        migrations.AddField(
            model_name="open311key",
            name="revoked_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="revoked at"),
        ),
        migrations.AlterField(
            model_name="caseevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("submitted", "submitted"),
                    ("routed", "routed"),
                    ("accepted", "accepted"),
                    ("started", "started"),
                    ("resolved", "resolved"),
                    ("referred", "referred"),
                    ("escalated", "escalated"),
                    ("auto_escalated", "escalated for being overdue"),
                    ("overdue", "overdue"),
                    ("summoned", "department summoned"),
                    ("summons_responded", "department responded"),
                    ("summons_overdue", "department response overdue"),
                    ("rated", "rated"),
                    ("reopened", "reopened"),
                    ("closed", "closed"),
                    ("rejected", "rejected"),
                    ("withdrawn", "withdrawn"),
                    ("merged", "merged as a duplicate"),
                    ("absorbed", "duplicate merged into this case"),
                    ("unmerged", "merge undone"),
                    ("separated", "merged duplicate separated again"),
                ],
                max_length=24,
                verbose_name="what",
            ),
        ),
        migrations.AddConstraint(
            model_name="case",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("latitude__isnull", True), ("longitude__isnull", True)),
                    models.Q(
                        ("latitude__gte", -90), ("latitude__lte", 90), ("longitude__gte", -180), ("longitude__lte", 180)
                    ),
                    _connector="OR",
                ),
                name="case_coordinates_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="caseevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "submitted",
                            "routed",
                            "accepted",
                            "started",
                            "resolved",
                            "referred",
                            "escalated",
                            "auto_escalated",
                            "overdue",
                            "summoned",
                            "summons_responded",
                            "summons_overdue",
                            "rated",
                            "reopened",
                            "closed",
                            "rejected",
                            "withdrawn",
                            "merged",
                            "absorbed",
                            "unmerged",
                            "separated",
                        ],
                    )
                ),
                name="caseevent_kind_valid",
            ),
        ),
        migrations.AddField(
            model_name="categoryattribute",
            name="category",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attributes",
                to="cases.casecategory",
                verbose_name="category",
            ),
        ),
        migrations.AddConstraint(
            model_name="categoryattribute",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_active", True)),
                fields=("category", "code"),
                name="categoryattribute_unique_code",
            ),
        ),
        migrations.AddConstraint(
            model_name="categoryattribute",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("datatype__in", ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"])
                ),
                name="categoryattribute_datatype_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="categoryattribute",
            constraint=models.CheckConstraint(
                condition=models.Q(("variable", True), ("required", False), _connector="OR"),
                name="categoryattribute_required_is_variable",
            ),
        ),
        append_only_kept_on_sqlite("cases_caseevent", message=TRAIL_MESSAGE),
    ]
