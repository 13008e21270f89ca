from django.db import migrations, models


def unlogged(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE rate_limits_bucket SET UNLOGGED")


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Bucket",
            fields=[
                ("key", models.CharField(max_length=300, primary_key=True, serialize=False)),
                ("points", models.FloatField()),
                ("refilled_at", models.FloatField()),
                ("capacity", models.FloatField()),
                ("refill", models.FloatField()),
                ("cost", models.FloatField()),
                ("admitted", models.BooleanField()),
            ],
        ),
        migrations.RunPython(unlogged, migrations.RunPython.noop),
    ]
