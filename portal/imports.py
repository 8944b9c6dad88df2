"""Products imported from a CSV file in the manufacturer portal: the template to fill in,
and the page that reads a file and hands all its products to services.products_import,
which saves all of them or none.

The file has one row per material; a product's rows share its `product_ref`, and its own
columns are read from the first of its rows that fills them in (later rows may leave them
empty or repeat them unchanged). This module only reads the file as spreadsheets write it
(UTF-8 with or without BOM, or UTF-16; comma, semicolon or tab; a decimal point or comma;
HS codes that lost their leading zero); every rule on the values is the service's, and its
refusals are shown against the rows they came from."""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms as django_forms
from django.contrib import messages
from django.db.models import Field
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from certification.exceptions import DomainError, NotFound
from certification.workflow import services
from portal import forms
from portal.producers import manufacturer_required
from portal.products import own_producers
from registry.models import Currency

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000  # rows under the header
MAX_LISTED = 100  # problems listed at the top of the page; the rest are counted
NAMED = 5  # products named in the message after an import; the rest are counted

PRODUCT_COLUMNS = (
    "product_ref",
    "name",
    "description",
    "hs_code",
    "ex_works_price",
    "currency",
    "process_steps",
)
# Each material column and the material's field it fills.
MATERIAL_COLUMNS = {
    "material_description": "description",
    "material_hs_code": "hs_code",
    "material_origin_country": "origin_country",
    "material_value": "value",
}
COLUMNS = PRODUCT_COLUMNS + tuple(MATERIAL_COLUMNS)

# The template's two products: a T-shirt knitted from Uzbek yarn with a German dye, and
# raisins whose HS codes start with 0 (which spreadsheets tend to drop) packed in a bag of
# unknown origin.
TEMPLATE_ROWS = (
    (
        "TSHIRT-01",
        "Cotton T-shirt, knitted",
        "Crew neck, 180 g/m2",
        "610910",
        "8.00",
        "USD",
        "knitting; cutting; sewing",
        "Combed cotton yarn",
        "520522",
        "UZ",
        "3.10",
    ),
    ("TSHIRT-01", "", "", "", "", "", "", "Reactive dye", "320416", "DE", "0.40"),
    (
        "RAISINS-1KG",
        "Sun-dried raisins",
        "1 kg bag",
        "080620",
        "2.40",
        "USD",
        "drying; sorting; packing",
        "Fresh grapes",
        "080610",
        "UZ",
        "1.30",
    ),
    ("RAISINS-1KG", "", "", "", "", "", "", "Plastic bag", "392321", "", "0.05"),
)


class FileProblem(Exception):
    """The file as a whole cannot be read; the message says why and what to do."""


@dataclass
class Problem:
    row: int  # as a spreadsheet numbers it: the header is row 1 in the template
    column: str | None
    message: str

    def __str__(self):
        if self.column:
            return _("Row %(row)d, %(column)s: %(message)s") % {
                "row": self.row,
                "column": self.column,
                "message": self.message,
            }
        return _("Row %(row)d: %(message)s") % {"row": self.row, "message": self.message}


@dataclass
class Group:
    """One product's rows: where each of its columns was read, and each material's row."""

    first_row: int
    values: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    materials: list = field(default_factory=list)
    material_rows: list = field(default_factory=list)


@dataclass
class Parsed:
    products: list  # as services.products_import takes them
    groups: list  # the Group of each product, in the same order
    problems: list  # Problem: what the file says that cannot be read as a value


# --- Reading the file ----------------------------------------------------------------------


def decode(raw):
    if raw.startswith(b"PK\x03\x04"):
        raise FileProblem(
            _(
                "This is a spreadsheet workbook (.xlsx), not a CSV file. In Excel choose "
                "File > Save As > “CSV UTF-8 (Comma delimited)”, then choose that file here."
            )
        )
    try:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = raw.decode("utf-16")  # Excel's "Unicode Text"
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(
            _(
                "The file is not UTF-8 text. In Excel choose File > Save As > “CSV UTF-8 "
                "(Comma delimited)”; in LibreOffice tick “Edit filter settings” and choose "
                "the character set “Unicode (UTF-8)”."
            )
        ) from None
    if not text.strip():
        raise FileProblem(_("The file is empty."))
    return text


def delimiter_of(text):
    """Comma, semicolon (Excel where the decimal sign is a comma) or tab: the one the
    header row, whose names hold none of them, uses most."""
    header = next(line for line in text.splitlines() if line.strip())
    return max((",", ";", "\t"), key=header.count)


def number(text):
    """A number as spreadsheets write it ("1234.50", "1234,50", "1 234,50"), None if
    empty; ValueError if it is none."""
    compact = re.sub(r"\s", "", text)
    if not compact:
        return None
    if "," in compact and "." not in compact:
        compact = compact.replace(",", ".")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", compact):
        raise ValueError(text)
    return Decimal(compact)


def hs_code(text):
    """HS codes as people and spreadsheets write them: "6109.10", "6109 10", and 80620
    for 080620 (a spreadsheet drops the leading zero of a number)."""
    code = re.sub(r"[\s.]", "", text)
    return "0" + code if len(code) == 5 and code.isdigit() else code


def steps(text):
    return [step.strip() for step in re.split(r"[;,\n]", text) if step.strip()]


NOT_A_NUMBER = gettext_lazy(
    "“%(value)s” is not a number: write it with a decimal point or comma and no thousands "
    "separator, e.g. 1250.50."
)


def read_products(raw):
    """The products of a CSV file, grouped by product_ref; FileProblem if the file cannot
    be read as the template's columns at all."""
    text = decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))
    try:
        records = list(enumerate(reader, start=1))
    except csv.Error as error:
        raise FileProblem(
            _("Row %(row)d cannot be read as CSV (%(error)s).")
            % {"row": reader.line_num, "error": error}
        ) from None
    records = [(row, cells) for row, cells in records if any(cell.strip() for cell in cells)]
    if not records:
        raise FileProblem(_("The file is empty."))
    header_row, header = records[0]
    columns = header_columns(header_row, header)
    data = records[1:]
    if not data:
        raise FileProblem(_("The file has its header but no products under it."))
    if len(data) > MAX_ROWS:
        raise FileProblem(
            _(
                "The file has %(count)d rows; at most %(max)d can be imported at once. Split "
                "it into several files, keeping the header row in each."
            )
            % {"count": len(data), "max": MAX_ROWS}
        )
    groups, problems = {}, []
    for row, cells in data:
        if len(cells) > len(header):
            message = _(
                "The row has more cells than the header: a value holding a comma or "
                "semicolon must be in double quotes (spreadsheets add them when saving as "
                "CSV)."
            )
            problems.append(Problem(row, None, message))
            continue
        values = {name: cells[index].strip() for name, index in columns.items()}
        values.update({name: "" for name in COLUMNS if name not in values})
        ref = values["product_ref"]
        if not ref:
            message = _("The product_ref is empty: every row of a product starts with its ref.")
            problems.append(Problem(row, "product_ref", message))
            continue
        group = groups.setdefault(ref, Group(first_row=row))
        problems += add_row(group, ref, row, values)
    products = [to_product(group, problems) for group in groups.values()]
    return Parsed(products, list(groups.values()), problems)


def header_columns(row, header):
    """Each column's index in the file, or FileProblem naming what is wrong."""
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    seen = {}
    for index, name in enumerate(names):
        if name in seen:
            raise FileProblem(
                _("Row %(row)d, the header, names the column %(name)s twice.")
                % {"row": row, "name": name}
            )
        if name:
            seen[name] = index
    missing = [name for name in COLUMNS if name not in seen]
    unknown = [name for name in seen if name not in COLUMNS]
    if missing or unknown:
        wrong = []
        if missing:
            wrong.append(_("missing %(names)s") % {"names": ", ".join(missing)})
        if unknown:
            wrong.append(_("unknown %(names)s") % {"names": ", ".join(unknown)})
        raise FileProblem(
            _(
                "Row %(row)d is not the template's header (%(wrong)s). The first row names "
                "the columns, in any order: %(columns)s. Download the template to start "
                "from it."
            )
            % {"row": row, "wrong": "; ".join(wrong), "columns": ", ".join(COLUMNS)}
        )
    return seen


def add_row(group, ref, row, values):
    """One row into its product's group; the problems of a product column that another
    row of the product fills in otherwise."""
    problems = []
    for name in PRODUCT_COLUMNS[1:]:
        value = values[name]
        if not value:
            continue
        if name not in group.values:
            group.values[name], group.rows[name] = value, row
        elif group.values[name] != value:
            message = _(
                "Row %(first)d of %(ref)s says “%(value)s”: fill in a product's columns on "
                "one of its rows, or repeat them unchanged."
            ) % {"first": group.rows[name], "ref": ref, "value": group.values[name]}
            problems.append(Problem(row, name, message))
    material = {MATERIAL_COLUMNS[name]: values[name] for name in MATERIAL_COLUMNS}
    if any(material.values()):  # a row without material columns: a product without materials
        group.materials.append(material)
        group.material_rows.append(row)
    return problems


def to_product(group, problems):
    """The product and its materials as the service takes them; what is not a number is
    a problem (and left empty, for the service to check the rest)."""

    def amount(value, row, column):
        try:
            return number(value)
        except ValueError:
            problems.append(Problem(row, column, str(NOT_A_NUMBER % {"value": value})))
            return None

    values = group.values
    data = {
        "name": values.get("name", ""),
        "description": values.get("description", ""),
        "hs_code": hs_code(values.get("hs_code", "")),
        "ex_works_price": amount(
            values.get("ex_works_price", ""),
            group.rows.get("ex_works_price", group.first_row),
            "ex_works_price",
        ),
        "currency": values.get("currency", "").upper(),
        "process_steps": steps(values.get("process_steps", "")),
    }
    materials = [
        {
            "description": material["description"],
            "hs_code": hs_code(material["hs_code"]),
            "origin_country": material["origin_country"].upper() or None,
            "value": amount(material["value"], row, "material_value"),
        }
        for material, row in zip(group.materials, group.material_rows, strict=True)
    ]
    return {"data": data, "materials": materials}


# --- The service's refusal, row by row -------------------------------------------------------

COLUMN_OF_MATERIAL_FIELD = {value: key for key, value in MATERIAL_COLUMNS.items()}


def _empty_messages():
    """Django's "may not be blank/null" messages in the active language (worked out per
    call: at import they would be English whatever the reader's language)."""
    return {str(Field.default_error_messages[code]) for code in ("blank", "null")}


def _problem(row, column, message):
    message = str(message)
    if message in _empty_messages():
        message = _("The cell is empty; fill it in.")
    elif column == "currency":
        message += " " + _("Write one of %(codes)s.") % {"codes": ", ".join(Currency.values)}
    return Problem(row, column, message)


def service_problems(error, parsed):
    """services.products_import's refusal as problems of the rows the values came from."""
    refused = error.fields.get("products")
    if not isinstance(refused, dict):
        return []
    problems = []
    for index, fields in refused.items():
        group = parsed.groups[int(index)]
        for name, messages_ in fields.items():
            if name == "materials":
                for material_index, material_fields in messages_.items():
                    row = group.material_rows[int(material_index)]
                    for material_field, texts in material_fields.items():
                        column = COLUMN_OF_MATERIAL_FIELD.get(material_field)
                        problems += [_problem(row, column, text) for text in texts]
            else:
                row = group.rows.get(name, group.first_row)
                column = name if name in PRODUCT_COLUMNS else None
                problems += [_problem(row, column, text) for text in messages_]
    return problems


# --- The pages ---------------------------------------------------------------------------


class ImportForm(forms.AccessibleForm, django_forms.Form):
    producer = django_forms.ChoiceField(
        label=gettext_lazy("Producer"),
        choices=(),
        help_text=gettext_lazy("The products in the file are added to this producer."),
    )
    file = django_forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text="",
        error_messages={
            "required": gettext_lazy("Choose the CSV file to import."),
            "empty": gettext_lazy("The file is empty."),
        },
        widget=django_forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, producers=(), **kwargs):
        self.producers = producers
        super().__init__(*args, **kwargs)

    def setup_fields(self):
        self.fields["producer"].choices = [(p.pk, p.legal_name) for p in self.producers]
        self.fields["file"].help_text = _(
            "The template filled in and saved as CSV (in Excel: “CSV UTF-8”). At most "
            "%(size)s and %(rows)s rows."
        ) % {"size": filesizeformat(MAX_BYTES), "rows": limit_rows()}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise django_forms.ValidationError(
                _(
                    "The file is %(size)s; at most %(max)s can be imported at once. Split it "
                    "into several files, keeping the header row in each."
                )
                % {"size": filesizeformat(upload.size), "max": filesizeformat(MAX_BYTES)}
            )
        return upload


@manufacturer_required
@require_GET
def import_template(request):
    """The CSV template: the header and two example products (with a BOM, so that Excel
    opens it as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(TEMPLATE_ROWS)
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="products-template.csv"'
    return response


@manufacturer_required
@require_http_methods(["GET", "POST"])
def product_import(request):
    producers = own_producers(request)
    if not producers:
        return redirect("portal:producer-create")
    if request.method == "GET":
        form = ImportForm(producers=producers, initial={"producer": request.GET.get("producer")})
        return _render(request, form, status=200)
    form = ImportForm(request.POST, request.FILES, producers=producers)
    if not form.is_valid():
        return _render(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        parsed = read_products(upload.read())
    except FileProblem as problem:
        form.add_error("file", str(problem))
        form.mark_errors()
        return _render(request, form, status=400)
    # Values the file does not hold readably are left empty, and the service checks the
    # rest without saving anything, so that one round lists every problem.
    problems = list(parsed.problems)
    if not parsed.products:  # no row could be read as a product
        return _refused(request, form, upload.name, problems)
    try:
        created = services.products_import(
            actor=request.user,
            producer_id=form.cleaned_data["producer"],
            products=parsed.products,
            check_only=bool(problems),
        )
    except NotFound as error:
        raise Http404 from error
    except DomainError as error:
        refused = service_problems(error, parsed)
        if not refused:
            form.add_domain_error(error)
            return _render(request, form, status=400)
        flagged = {(problem.row, problem.column) for problem in problems}
        problems += [p for p in refused if (p.row, p.column) not in flagged]
    if not problems:
        count = len(created)
        names = "; ".join(product.name for product in created[:NAMED])
        message = ngettext(
            "%(count)d product imported from %(file)s: %(names)s. Open it to see its origin check.",
            "%(count)d products imported from %(file)s: %(names)s%(more)s. Open each to see its "
            "origin check.",
            count,
        ) % {
            "count": count,
            "file": upload.name,
            "names": names,
            "more": _(" and %(n)d more") % {"n": count - NAMED} if count > NAMED else "",
        }
        messages.success(request, message)
        return redirect("portal:products")
    return _refused(request, form, upload.name, problems)


def _refused(request, form, name, problems):
    """The page again, nothing imported: each problem at the top, linked to the file."""
    problems.sort(key=lambda problem: (problem.row, _column_order(problem.column)))
    form.add_error(
        "file",
        ngettext(
            "Nothing was imported: the file has %(count)d problem, listed at the top of the "
            "page. Correct it and choose the file again.",
            "Nothing was imported: the file has %(count)d problems, listed at the top of the "
            "page. Correct them and choose the file again.",
            len(problems),
        )
        % {"count": len(problems)},
    )
    form.mark_errors()
    anchor = f"#{form['file'].id_for_label}"
    intro = ngettext(
        "Nothing was imported from %(name)s. Correct this problem and choose the file again:",
        "Nothing was imported from %(name)s. Correct these %(count)d problems and choose the "
        "file again:",
        len(problems),
    ) % {"name": name, "count": len(problems)}
    summary = [(None, intro)] + [(anchor, str(p)) for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        more = len(problems) - MAX_LISTED
        summary.append((None, _("… and %(count)d more.") % {"count": more}))
    return _render(request, form, summary=summary, status=400)


def limit_rows():
    return number_format(MAX_ROWS, force_grouping=True)


def _column_order(column):
    return COLUMNS.index(column) if column in COLUMNS else -1


def _render(request, form, *, status, summary=None):
    context = {
        "form": form,
        "summary": summary,
        "columns": COLUMNS,
        "currencies": ", ".join(Currency.values),
        "max_rows": limit_rows(),
        "max_size": filesizeformat(MAX_BYTES),
    }
    return render(request, "portal/products/import.html", context, status=status)
