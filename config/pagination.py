from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination as _Base


class PageNumberPagination(_Base):
    """``?page=`` and ``?page_size=`` (at most 100), as the contract says."""

    page_size_query_param = "page_size"
    max_page_size = 100
    page_size_query_description = "Results per page, at most 100 (a larger value gives 100)."

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # Every key is always sent; next/previous are null at the ends (OpenAPI 3.1 types).
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0, "example": 123},
                "next": {**link, "example": "https://api.example.org/api/tasks/user/tasks?page=3"},
                "previous": {
                    **link,
                    "example": "https://api.example.org/api/tasks/user/tasks?page=1",
                },
                "results": schema,
            },
        }


class CappedCountPaginator(Paginator):
    """The admin's paginator for the big tables (ledger, provider events, files, jobs).

    Django's paginator runs ``COUNT(*)`` over everything the list matches, a scan
    that grows with the table. This one counts at most ``cap`` + 1 rows (a
    ``COUNT`` over a ``LIMIT`` subquery), so a page costs the same on a thousand
    rows or a hundred million: past the cap the list says "10001" and staff
    narrow it with a filter or the search.
    """

    cap = 10_000
    # The admin hands it a queryset (sliced and counted below), not any sequence.
    object_list: QuerySet[Any]

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()
