"""The certificate as a document: the one-page A4 PDF rendered by WeasyPrint from
templates/certificates/ with its QR code (``render``, independent of the database), and
the stored file built from the certificate's snapshots, with its SHA-256, rendered by a
worker after the approval commits (``store``)."""
