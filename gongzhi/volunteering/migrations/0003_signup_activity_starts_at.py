"""SignUp.activity_starts_at: the activity's start copied onto each sign-up (filled from the activities for the
existing rows), and the partial index of the credited sign-ups by resident and start. Reversible."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("volunteering", "0002_activity_change"),
    ]

    operations = [
        migrations.AddField(
            model_name="signup",
            name="activity_starts_at",
            field=models.DateTimeField(editable=False, null=True, verbose_name="activity starts"),
        ),
        migrations.RunSQL(
            "UPDATE volunteering_signup SET activity_starts_at = (SELECT a.starts_at FROM volunteering_activity a "
            "WHERE a.id = volunteering_signup.activity_id)",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="signup",
            name="activity_starts_at",
            field=models.DateTimeField(editable=False, verbose_name="activity starts"),
        ),
        migrations.AddIndex(
            model_name="signup",
            index=models.Index(
                condition=models.Q(("credit_minutes__gt", 0), ("state", "confirmed")),
                fields=["resident", "activity_starts_at"],
                name="signup_credited_idx",
            ),
        ),
    ]
