from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("assets", "0011_search_indexes")]

    operations = [
        migrations.CreateModel(
            name="UploadMapping",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("folder", models.CharField(max_length=255, unique=True)),
                ("template", models.CharField(max_length=1024)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["folder"]},
        ),
    ]
