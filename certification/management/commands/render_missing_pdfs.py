from django.core.management.base import BaseCommand

from certification.core import queueing
from certification.documents import store
from certification.models import Certificate


class Command(BaseCommand):
    help = (
        "Queue the PDF render of every certificate whose current version has no stored PDF "
        "(a render lost while the broker was down or a worker died). Safe to run at any "
        "time: a render of a version already stored does nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            action="store_true",
            help="Render here, one after the other, instead of queueing for the workers.",
        )
        parser.add_argument(
            "--check-files",
            action="store_true",
            help="Also look in storage for the recorded files (one lookup per certificate) "
            "and render those that are gone.",
        )

    def handle(self, *args, now, check_files, **options):
        ids = set(store.certificates_missing_pdf().values_list("pk", flat=True))
        if check_files:
            for certificate in Certificate.objects.exclude(pk__in=ids).only(
                "pk", "pdf", "pdf_sha256", "pdf_rendered_version", "version"
            ):
                if not store.is_stored(certificate):
                    ids.add(certificate.pk)
        ids = sorted(ids)
        if not now:
            queueing.queue(queueing.RENDER_CERTIFICATE_PDF, ids)
            self.stdout.write(self.style.SUCCESS(f"Queued {len(ids)} certificate PDF(s)."))
            return
        failed = 0
        for pk in ids:
            try:
                store.render_and_store(pk)
            except Exception as error:  # noqa: BLE001 - report and go on with the next
                failed += 1
                self.stderr.write(f"Certificate {pk}: {type(error).__name__}: {error}")
        self.stdout.write(
            self.style.SUCCESS(f"Rendered {len(ids) - failed} certificate PDF(s).")
            if not failed
            else self.style.WARNING(f"Rendered {len(ids) - failed}, {failed} failed.")
        )
