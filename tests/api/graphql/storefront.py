"""The documents a storefront sends: the largest pages and batches the
contract allows, with every field a product page shows. GRAPHQL_MAX_COST's
default must admit all of them."""

PRODUCT_FIELDS = """id sku name description price discountPercent discountedPrice stock
  version createdAt updatedAt category { id name slug discountPercent }"""

STOREFRONT = {
    "catalog page": f"""query Catalog($after: String, $filter: ProductFilter, $order: ProductOrder) {{
      products(first: 100, after: $after, filter: $filter, orderBy: $order) {{
        edges {{ cursor node {{ {PRODUCT_FIELDS} priceIn(currency: "EUR") {{ amount currency }} }} }}
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} totalCount }} }}""",
    "category menu": """query Menu {
      categories(first: 100) { edges { node { id name slug discountPercent
        products(first: 4) { edges { node { id name discountedPrice } } totalCount } } }
        pageInfo { hasNextPage endCursor } } }""",
    "product page": f"""query Product($sku: String) {{ product(sku: $sku) {{ {PRODUCT_FIELDS}
      priceIn(currency: "EUR") {{ amount currency }} }} }}""",
    "cart": f"""query Cart($ids: [ID!]!) {{ nodes(ids: $ids) {{ id ... on Product {{ {PRODUCT_FIELDS} }} }} }}""",
    "live catalog": f"""subscription Live($filter: ProductFilter) {{
      productStream(filter: $filter, batchSize: 1000, live: true) {{
        phase sequence removedIds cursor snapshotComplete resumeToken
        products {{ {PRODUCT_FIELDS} priceIn(currency: "EUR") {{ amount currency }} }} }} }}""",
}

# What each costs (api.graphql.cost); a cart of 20 products.
COSTS = {
    "catalog page": 1 + 100 + 100 + 100 + 100 + 1,
    "category menu": 1 + 100 + 100 + 100 + 400 + 400 + 1,
    "product page": 1 + 1 + 1,
    "cart": 20 + 20,
    "live catalog": 1 + 1000 + 1000 + 1000,
}
