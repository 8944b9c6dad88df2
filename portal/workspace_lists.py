"""What the workspace's searchable lists share (portal/workspace_certificates.py,
portal/workspace_producers.py): a search box `q` beside the filters of each list, read from
the query string, and pages (portal/paging.py) whose links keep the search."""

from django import forms as django_forms
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from portal import forms
from portal.paging import page_of
from registry.models import User


class SearchForm(forms.AccessibleForm, django_forms.Form):
    """The search box; a subclass labels it (Q_LABEL) and adds its filters."""

    is_filter = True  # its fields are all optional: the page does not say so on each

    Q_LABEL = gettext_lazy("Search")

    q = django_forms.CharField(
        required=False,
        max_length=200,
        widget=django_forms.TextInput(
            attrs={"type": "search", "spellcheck": "false", "class": "width-medium"}
        ),
    )

    def setup_fields(self):
        self.fields["q"].label = self.Q_LABEL

    def criteria(self):
        """What was asked, cleaned, by field name (the list's selector takes them as
        keyword arguments); nothing if the form is not valid (it shows why)."""
        return self.cleaned_data if self.is_bound and self.is_valid() else {}


def filter_choice(label, blank, choices):
    """A filter of a list: one of `choices`, or `blank` (the default: no filter)."""
    return django_forms.ChoiceField(label=label, required=False, choices=[("", blank), *choices])


def render_list(request, form, items, template, prepare=None):
    """The list page: the filter form, the page of `items` asked for (given to `prepare`
    first, if any), the query string for the page links (without the page number) and
    whether the caller reads every state's rows (the secretariat). 400 if the filter is
    not valid: the error summary says why."""
    page, query = page_of(request, items)
    if prepare is not None:
        prepare(page)
    context = {
        "form": form,
        "page": page,
        "query": query,
        "all_states": request.user.role == User.Role.SECRETARIAT,
    }
    return render(request, template, context, status=400 if form.errors else 200)
