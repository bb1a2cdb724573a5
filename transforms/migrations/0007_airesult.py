import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Cut-outs become the first kind of stored AI result: the table is renamed (rows, ids
    and stored files kept, so derived-cache keys naming a cut-out's id stay valid) and
    gains the kind and the lifecycle's fields."""

    dependencies = [
        ('assets', '0003_apikey_role_library_indexes'),
        ('transforms', '0006_derived_depends'),
    ]

    operations = [
        migrations.RemoveConstraint(model_name='cutout', name='cutout_version_options'),
        migrations.RenameModel(old_name='Cutout', new_name='AIResult'),
        migrations.CreateModel(
            name='Cutout',
            fields=[
            ],
            options={
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('transforms.airesult',),
        ),
        migrations.AddField(
            model_name='airesult',
            name='attempts',
            field=models.PositiveIntegerField(default=0, help_text='How many times a job started on this row'),
        ),
        migrations.AddField(
            model_name='airesult',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='airesult',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text='Last sign of life of the running job', null=True),
        ),
        migrations.AddField(
            model_name='airesult',
            name='kind',
            field=models.CharField(default='background_removal', help_text='The producer (transforms.ai.producers), e.g. background_removal', max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='airesult',
            name='lease',
            field=models.CharField(blank=True, default='', help_text='The job that claimed the row', max_length=32),
        ),
        migrations.AddField(
            model_name='airesult',
            name='metadata',
            field=models.JSONField(blank=True, default=dict, help_text='What the producer reports, e.g. a confidence'),
        ),
        migrations.AddField(
            model_name='airesult',
            name='requested_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='airesult',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='airesult',
            name='asset',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='ai_results', to='assets.asset'),
        ),
        migrations.AlterField(
            model_name='airesult',
            name='etag',
            field=models.CharField(blank=True, default='', help_text='MD5 of the stored file', max_length=32),
        ),
        migrations.AlterField(
            model_name='airesult',
            name='options',
            field=models.CharField(blank=True, default='', help_text="Canonical options, '' = defaults", max_length=255),
        ),
        migrations.AlterField(
            model_name='airesult',
            name='runs',
            field=models.PositiveIntegerField(default=0, help_text='How many times the producer finished for this row'),
        ),
        migrations.AlterField(
            model_name='airesult',
            name='seconds',
            field=models.FloatField(blank=True, help_text='Compute time of the last run', null=True),
        ),
        migrations.AlterField(
            model_name='airesult',
            name='status',
            field=models.CharField(choices=[('pending', 'pending'), ('processing', 'processing'), ('done', 'done'), ('failed', 'failed')], default='pending', max_length=16),
        ),
        migrations.AddIndex(
            model_name='airesult',
            index=models.Index(fields=['status', 'updated_at'], name='ai_result_status'),
        ),
        migrations.AddConstraint(
            model_name='airesult',
            constraint=models.UniqueConstraint(fields=('kind', 'version_id', 'options'), name='ai_result_options'),
        ),
    ]
