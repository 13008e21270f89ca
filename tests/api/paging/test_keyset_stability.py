"""Keyset paging stays correct while the table changes under the reader."""

from decimal import Decimal

from products.models import Product
from tests.conftest import GraphQL

PAGE = """query($after: String) { products(first: 5, after: $after, orderBy: {field: PRICE}) {
  edges { node { id sku } } pageInfo { hasNextPage endCursor } } }"""


def test_inserts_before_and_deletes_after_the_cursor_skip_and_repeat_nothing(
    graphql: GraphQL, product_factory
) -> None:
    for i in range(30):
        product_factory(sku=f"P{i:02d}", price=Decimal(10 + i))
    seen: list[str] = []
    after = None
    deleted: set[str] = set()
    round_ = 0
    while True:
        products = graphql(PAGE, {"after": after})["data"]["products"]
        seen += [edge["node"]["sku"] for edge in products["edges"]]
        if not products["pageInfo"]["hasNextPage"]:
            break
        after = products["pageInfo"]["endCursor"]
        # Rows appear before the cursor (cheaper than anything seen) and at
        # its very price, and rows not yet read disappear.
        product_factory(sku=f"NEW-CHEAP-{round_}", price=Decimal("1.00"))
        product_factory(sku=f"NEW-SAME-{round_}", price=Decimal(10 + len(seen) - 1))
        victim = (
            Product.objects.filter(price__gt=Decimal(10 + len(seen) + 1)).order_by("price").last()
        )
        if victim is not None:
            deleted.add(victim.sku)
            victim.delete()
        round_ += 1

    assert len(seen) == len(set(seen)), "a row was seen twice"
    originals = {f"P{i:02d}" for i in range(30)}
    assert originals - deleted <= set(seen), "a surviving row was skipped"
    assert not deleted & set(seen)
    assert not any(sku.startswith("NEW-CHEAP") for sku in seen)
