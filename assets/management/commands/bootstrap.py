"""First-run setup: an admin account and an API key, printed once and kept in var/."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from assets.models import ApiKey


class Command(BaseCommand):
    help = "Create the first admin account and API key if there are none, and print how to use them."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="where the app will listen")

    def handle(self, *args, username: str, url: str, **options):
        url = url.rstrip("/") + "/"
        credentials = settings.VAR_DIR / "credentials.txt"
        lines: list[str] = []
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email="", password=password)
            lines += [f"Admin login:     {url}login/", f"  username:      {username}", f"  password:      {password}"]
        if not settings.DAM_ENV_API_KEY and not ApiKey.objects.filter(active=True).exists():
            owner = User.objects.filter(is_superuser=True).order_by("id").first()
            key = ApiKey.objects.create(name="default", owner=owner)
            lines += [
                f"API key:         {key.key}",
                f"API secret:      {key.secret}",
                f"CLOUDINARY_URL:  cloudinary://{key.key}:{key.secret}@{settings.DAM_CLOUD_NAME}",
                f"SDK upload_prefix: {url.rstrip('/')}",
            ]
        if lines:
            text = "\n".join(lines) + "\n"
            with open(credentials, "a") as fh:
                fh.write(text)
            credentials.chmod(0o600)
            self.stdout.write("\nFirst run: these credentials are not shown on later starts (a copy is in "
                              f"{credentials}, readable only by you):\n\n" + text)
        else:
            self.stdout.write(f"Accounts and keys exist already (first-run credentials: {credentials}).")
        self.stdout.write(f"\nCloud name: {settings.DAM_CLOUD_NAME}\nOpen {url}\n")
