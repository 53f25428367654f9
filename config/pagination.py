from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination as _Base


class PageNumberPagination(_Base):
    """``?page=`` and ``?page_size=`` (at most 100), as the contract says."""

    page_size_query_param = "page_size"
    max_page_size = 100


class CappedCountPaginator(Paginator):
    """The admin's paginator for the big tables (ledger, provider events, files, jobs).

    Django's paginator runs ``COUNT(*)`` over everything the list matches, a scan
    that grows with the table. This one counts at most ``cap`` + 1 rows (a
    ``COUNT`` over a ``LIMIT`` subquery), so a page costs the same on a thousand
    rows or a hundred million: past the cap the list says "10001" and staff
    narrow it with a filter or the search.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()
