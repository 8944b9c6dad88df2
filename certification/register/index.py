"""Writing the register: the RegisterEntry of a certificate and the vocabulary's counts,
inside the caller's transaction (certification/workflow/services.py calls these in the
transaction of the change), so that the register never shows what was rolled back and
never lags behind what was committed.

What an entry holds, and why:
- the product as certified: name, HS code and description from the certificate's
  snapshot. A product edited after issue does not change its certificates (what was
  assessed is the snapshot), so product edits are not indexed;
- the producer as it is named now (legal and trade name; its state, tax id and kind
  cannot change) and as it was certified: the search finds either, the pages show the
  current name and the certified one beside it when they differ;
- listed only while the producer is verified (attested by its state's reviewer);
- the stored status and the validity period as instants in the issuing state's time zone,
  so that whether it is valid now is one comparison with the clock, in SQL too.
"""

from django.db import connection
from django.utils import timezone

from certification.core import lifecycle
from certification.models import Certificate, RegisterEntry, RegisterWord
from certification.register import text
from registry.models import HSCode, Producer


def entry_values(certificate, producer, hs_section, now):
    """The fields of a certificate's entry (all but the certificate itself)."""
    product = certificate.product_snapshot
    certified = certificate.producer_snapshot
    hs_code = product["hs_code"]
    starts_at, ends_at = lifecycle.validity_instants(
        certificate.member_state, certificate.valid_from, certificate.valid_until
    )
    individual = producer.kind == Producer.Kind.INDIVIDUAL
    others = [
        producer.legal_name,
        producer.trade_name,
        certified["legal_name"],
        certified.get("trade_name", ""),
        hs_code,
        product.get("hs_description", ""),
    ]
    return {
        "number": certificate.number,
        "member_state_id": certificate.member_state_id,
        "producer_id": producer.pk,
        "product_id": certificate.product_id,
        "listed": producer.verified_at is not None,
        "status": certificate.status,
        "issued_at": certificate.issued_at,
        "valid_from": certificate.valid_from,
        "valid_until": certificate.valid_until,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "product_name": product["name"],
        "hs_code": hs_code,
        "hs_heading": hs_code[:4],
        "hs_chapter": hs_code[:2],
        "hs_section": hs_section,
        "hs_description": product.get("hs_description", ""),
        "producer_name": producer.legal_name,
        "producer_trade_name": producer.trade_name,
        "certified_producer_name": certified["legal_name"],
        "producer_kind": producer.kind,
        "producer_tax_id": "" if individual else producer.tax_id,
        "origin_criterion": certificate.origin_criterion,
        "terms": text.terms(product["name"], others),
        "updated_at": now,
    }


def _sections():
    """{HS chapter: its section}, from the nomenclature's chapters."""
    return dict(HSCode.objects.filter(level=2).values_list("code", "section"))


def _section_of(hs_code):
    return HSCode.objects.filter(code=hs_code[:2]).values_list("section", flat=True).first() or ""


def reindex_certificate(certificate, *, producer=None, now=None):
    """Write the certificate's entry as the certificate and its producer are now."""
    producer = producer or Producer.objects.get(pk=certificate.producer_id)
    now = now or timezone.now()
    before = RegisterEntry.objects.filter(pk=certificate.pk).values_list("terms", "listed").first()
    section = _section_of(certificate.product_snapshot["hs_code"])
    _write(certificate, producer, section, before, now)


def _write(certificate, producer, section, before, now):
    """Write the entry, and move the vocabulary's counts from `before` ((terms, listed) of
    the entry as it was, None when there was none)."""
    values = entry_values(certificate, producer, section, now)
    RegisterEntry.objects.update_or_create(certificate_id=certificate.pk, defaults=values)
    count_words(
        before[0] if before and before[1] else "",
        values["terms"] if values["listed"] else "",
    )


def reindex_producer(producer, *, now=None):
    """Write the entries of every certificate of the producer (a new name, an attestation):
    the sections and the entries as they were read once for all of them, so that only the
    writes are per certificate."""
    now = now or timezone.now()
    certificates = list(
        Certificate.objects.filter(producer_id=producer.pk)
        .select_related("member_state")
        .order_by("pk")
    )
    if not certificates:
        return
    sections = _sections()
    before = {
        pk: (terms, listed)
        for pk, terms, listed in RegisterEntry.objects.filter(
            pk__in=[c.pk for c in certificates]
        ).values_list("pk", "terms", "listed")
    }
    for certificate in certificates:
        section = sections.get(certificate.product_snapshot["hs_code"][:2], "")
        _write(certificate, producer, section, before.get(certificate.pk), now)


def count_words(old_terms, new_terms):
    """Move the vocabulary's counts from an entry's old terms to its new ones ("" for an
    entry not listed). Words are taken in order, so that two transactions never wait for
    each other's rows."""
    old, new = set(text.words_of_terms(old_terms)), set(text.words_of_terms(new_terms))
    old_names = set(text.name_words_of_terms(old_terms))
    new_names = set(text.name_words_of_terms(new_terms))
    table = connection.ops.quote_name(RegisterWord._meta.db_table)
    with connection.cursor() as cursor:
        for word in sorted(old | new):
            entries = (word in new) - (word in old)
            names = (word in new_names) - (word in old_names)
            if word not in old:
                cursor.execute(
                    f"INSERT INTO {table} (word, entries, names) VALUES (%s, 1, %s)"  # noqa: S608
                    f" ON CONFLICT (word) DO UPDATE SET entries = {table}.entries + 1,"
                    f" names = {table}.names + EXCLUDED.names",
                    [word, names],
                )
            elif entries or names:
                cursor.execute(
                    f"UPDATE {table} SET entries = entries + %s, names = names + %s"  # noqa: S608
                    " WHERE word = %s",
                    [entries, names, word],
                )


def rebuild():
    """Write every certificate's entry again, and the vocabulary from them: after a restore,
    or to fill the register of a database that had certificates before it existed
    (`manage.py rebuild_register`). Returns the number of entries. Run it in a transaction."""
    RegisterEntry.objects.all().delete()
    RegisterWord.objects.all().delete()
    now = timezone.now()
    sections = _sections()
    producers = {}
    counts = {}
    entries = []
    certificates = Certificate.objects.select_related("member_state").order_by("pk")
    for certificate in certificates.iterator(chunk_size=2000):
        producer = producers.get(certificate.producer_id)
        if producer is None:
            producer = producers[certificate.producer_id] = Producer.objects.get(
                pk=certificate.producer_id
            )
        hs_code = certificate.product_snapshot["hs_code"]
        values = entry_values(certificate, producer, sections.get(hs_code[:2], ""), now)
        entries.append(RegisterEntry(certificate_id=certificate.pk, **values))
        if values["listed"]:
            text.add_counts(counts, values["terms"])
        if len(entries) >= 2000:
            RegisterEntry.objects.bulk_create(entries)
            entries = []
    RegisterEntry.objects.bulk_create(entries)
    RegisterWord.objects.bulk_create(
        [RegisterWord(word=w, entries=n, names=m) for w, (n, m) in sorted(counts.items())],
        batch_size=2000,
    )
    return RegisterEntry.objects.count()
