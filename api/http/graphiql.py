"""GraphiQL as ``GET /graphql/`` serves it (README, "GraphiQL"): strawberry's
page, but with its scripts and styles among the app's static files
(``api/static/graphiql/``), so that it works without internet, and opening on
a tab for each Conveyor example instead of a welcome text."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

PRODUCTS_PAGE = """\
# A page of the catalog, cheapest first; run it
# with ▶ (Ctrl-Enter). For the next page, write in
# Variables below: {"after": "<pageInfo.endCursor>"}
query ProductsPage($after: String) {
  products(
    first: 10
    after: $after
    orderBy: {field: PRICE, direction: ASC}
  ) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        id
        sku
        name
        price
        discountPercent
        discountedPrice
        category {
          name
        }
      }
    }
  }
}
"""

PRODUCT_STREAM = """\
# The whole catalog, pushed over a websocket in
# batches of 10, each shown as it arrives. After the
# snapshot (snapshotComplete), the stream stays open
# and sends each product created or changed as the
# change commits (try the admin, /admin/); ■ stops it.
subscription ProductStream {
  productStream(batchSize: 10, live: true) {
    phase
    sequence
    snapshotComplete
    cursor
    products {
      id
      sku
      name
      discountedPrice
      version
    }
    removedIds
  }
}
"""

# GraphiQL's tabs, as its `defaultTabs` takes them.
EXAMPLES = [{"query": PRODUCTS_PAGE}, {"query": PRODUCT_STREAM}]


def render_graphiql(request: HttpRequest) -> HttpResponse:
    return render(request, "api/graphiql.html", {"examples": EXAMPLES})
