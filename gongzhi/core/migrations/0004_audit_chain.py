"""The audit log's hash chains (core/audit_chain.py): chain fields on each entry, a head row per chain, the daily
checkpoints; entries written before this migration are chained in id order (one chain per district)."""

from django.conf import settings
from django.db import migrations, models

from gongzhi.core.append_only import append_only, append_only_kept_on_sqlite

MESSAGE = "the audit log is append-only"


def chain_existing_entries(apps, schema_editor):
    """Chain the entries already written, in id order, and create their heads (a one-off UPDATE of the log)."""
    from gongzhi.core.audit_chain import GENESIS, canonical_body, chain_of, current_key, entry_hash

    AuditEntry = apps.get_model("core", "AuditEntry")
    AuditChainHead = apps.get_model("core", "AuditChainHead")
    connection = schema_editor.connection
    if not AuditEntry.objects.exists():
        return
    key_id, key = current_key()
    heads: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update")
        for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
            chain = chain_of(entry.place_path)
            seq, previous = heads.get(chain, (0, GENESIS))
            seq += 1
            digest = entry_hash(key=key, chain=chain, seq=seq, previous_hash=previous, body=canonical_body(entry))
            cursor.execute(
                "UPDATE core_auditentry SET chain = %s, seq = %s, previous_hash = %s, key_id = %s, hash = %s "
                "WHERE id = %s",
                [chain, seq, previous, key_id, digest, entry.pk],
            )
            heads[chain] = (seq, digest)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER USER")
    AuditChainHead.objects.bulk_create(
        [AuditChainHead(chain=chain, seq=seq, last_hash=digest) for chain, (seq, digest) in heads.items()]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        append_only_kept_on_sqlite("core_auditentry", message=MESSAGE),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("chain", models.CharField(max_length=32, primary_key=True, serialize=False, verbose_name="chain")),
                ("seq", models.PositiveBigIntegerField(default=0, verbose_name="sequence")),
                (
                    "last_hash",
                    models.CharField(
                        default="0000000000000000000000000000000000000000000000000000000000000000",
                        max_length=64,
                        verbose_name="last hash",
                    ),
                ),
            ],
            options={
                "verbose_name": "audit chain head",
                "verbose_name_plural": "audit chain heads",
            },
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("chain", models.CharField(max_length=32, verbose_name="chain")),
                ("seq", models.PositiveBigIntegerField(verbose_name="sequence")),
                ("hash", models.CharField(max_length=64, verbose_name="hash")),
                ("recorded_at", models.DateTimeField(verbose_name="recorded at")),
                ("run_key", models.CharField(max_length=64, verbose_name="period")),
            ],
            options={
                "verbose_name": "audit checkpoint",
                "verbose_name_plural": "audit checkpoints",
                "ordering": ["chain", "seq"],
            },
        ),
        migrations.AddField(
            model_name="auditentry",
            name="chain",
            field=models.CharField(default="", editable=False, max_length=32, verbose_name="chain"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="hash",
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name="hash"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(blank=True, editable=False, max_length=16, verbose_name="key"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="previous_hash",
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name="previous hash"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False, null=True, verbose_name="sequence"),
        ),
        migrations.RunPython(chain_existing_entries, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["place_path", "occurred_at"], name="audit_place_time_idx"),
        ),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(fields=("chain", "seq"), name="audit_one_entry_per_chain_seq"),
        ),
        migrations.AddConstraint(
            model_name="auditcheckpoint",
            constraint=models.UniqueConstraint(fields=("chain", "run_key"), name="audit_checkpoint_once_per_day"),
        ),
        append_only(
            "core_auditcheckpoint",
            function="core_auditcheckpoint_append_only",
            message="audit checkpoints are append-only",
        ),
        append_only_kept_on_sqlite("core_auditentry", message=MESSAGE),
    ]
