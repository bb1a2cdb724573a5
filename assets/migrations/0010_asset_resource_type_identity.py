"""An asset's identity is (resource_type, type, public_id), as Cloudinary's: raw and video
files (assets.fileinfo) may share a public_id with an image."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assets', '0009_metadata_fields'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='asset',
            name='asset_unique_type_public_id',
        ),
        migrations.AddConstraint(
            model_name='asset',
            constraint=models.UniqueConstraint(fields=('resource_type', 'type', 'public_id'),
                                               name='asset_unique_resource_type_public_id'),
        ),
    ]
