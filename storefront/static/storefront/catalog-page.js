// The live catalog page's wiring: its queries, the DOM and the filters. The
// live logic it stands on is live-catalog.js; the websocket client is
// graphql-ws's, served beside it.
import { createClient } from "./graphql-ws@6.4.2/dist/client.js";
import { LiveCatalog, followStream } from "./live-catalog.js";

const PAGE_SIZE = 24;
const BATCH_SIZE = 100;
// Announcing every change of a busy catalog would drown a screen reader.
const ANNOUNCED_ONE_BY_ONE = 3;
const PONG_TIMEOUT = 5000;

const CARD = `fragment Card on Product {
  id sku name price discountPercent discountedPrice stock version createdAt
  category { name }
}`;

const BATCH = `fragment Batch on ProductBatch {
  phase snapshotComplete resumeToken removedIds
  products { ...Card }
}
${CARD}`;

const CATEGORIES = `query Categories { categories(first: 100) { edges { node { id name } } } }`;

const PAGE = `query CatalogPage($first: Int!, $after: String, $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ...Card } }
  }
}
${CARD}`;

// The cursor of the last product, for the stream to start after it: its
// snapshot is then (almost) empty, and it sends what changes from then on.
const TAIL = `query CatalogTail($filter: ProductFilter, $orderBy: ProductOrder) {
  products(last: 1, filter: $filter, orderBy: $orderBy) { edges { cursor } }
}`;

const STREAM = `subscription CatalogStream($filter: ProductFilter, $orderBy: ProductOrder,
    $after: String, $live: Boolean!) {
  productStream(filter: $filter, orderBy: $orderBy, after: $after, live: $live, batchSize: ${BATCH_SIZE}) {
    ...Batch
  }
}
${BATCH}`;

const RESUMED_STREAM = `subscription CatalogStreamResumed($filter: ProductFilter,
    $orderBy: ProductOrder, $resume: String!) {
  productStream(filter: $filter, orderBy: $orderBy, resume: $resume, batchSize: ${BATCH_SIZE}) {
    ...Batch
  }
}
${BATCH}`;

const $ = (id) => document.getElementById(id);
const graphqlPath = document.body.dataset.graphqlUrl;
const money = new Intl.NumberFormat("en", { style: "currency", currency: document.body.dataset.currency });

async function graphql(query, variables = {}) {
  const response = await fetch(graphqlPath, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) throw new Error(body.errors.map((error) => error.message).join("; "));
  return body.data;
}

function websocketClient() {
  const url = new URL(graphqlPath, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  let pongWait = null;
  return createClient({
    url: url.href,
    // followStream reconnects, resuming from its last token.
    retryAttempts: 0,
    // A connection that died without a word (a phone losing its network)
    // answers no ping: closing it lets followStream reconnect.
    keepAlive: 10000,
    on: {
      ping(received) {
        if (!received) pongWait = setTimeout(() => socket?.close(4408, "Pong timeout"), PONG_TIMEOUT);
      },
      pong(received) {
        if (received) clearTimeout(pongWait);
      },
      connected(opened) {
        socket = opened;
        showConnection("live");
      },
      closed() {
        clearTimeout(pongWait);
      },
    },
  });
}

let socket = null;
const client = websocketClient();
const cards = new Map(); // id → its <li>
let catalog = null;
let stopStream = null;
let totalCount = 0;
let generation = 0; // of the filters: answers to older ones are dropped
let loading = false;
let streaming = false; // pages are read once the stream has begun, not before

function announce(text) {
  $("announcer").textContent = text;
}

let offline = false;
function showConnection(state, delay) {
  const element = $("connection");
  element.dataset.state = state;
  element.textContent = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: `Offline — reconnecting in ${Math.ceil((delay ?? 0) / 1000)} s`,
    failed: "Live updates unavailable",
  }[state];
  if (state === "reconnecting" && !offline) announce("Connection lost; reconnecting.");
  if (state === "live" && offline) announce("Reconnected; prices are live again.");
  if (state === "reconnecting" || state === "live") offline = state === "reconnecting";
}

function currentFilters() {
  const form = $("filters");
  const filter = {};
  const search = form.search.value.trim();
  if (search) filter.search = search;
  if (form.category.value) filter.categories = [form.category.value];
  if (form.onSale.checked) filter.onSale = true;
  if (form.inStock.checked) filter.inStock = true;
  const [field, direction] = form.order.value.split(":");
  return { filter, orderBy: { field, direction } };
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function newCard(product) {
  const card = element("li", "card");
  card.dataset.id = product.id;
  const article = element("article");
  const heading = element("h3", "name");
  heading.id = `product-${product.id}`;
  article.setAttribute("aria-labelledby", heading.id);
  const prices = element("p", "prices");
  prices.append(element("span", "visually-hidden", "Price: "), element("span", "price-now"), " ", element("s", "price-was"), " ", element("span", "badge"));
  article.append(heading, element("p", "meta"), prices, element("p", "stock"));
  card.append(article);
  fillCard(card, product);
  return card;
}

function fillCard(card, product) {
  card.dataset.version = product.version;
  card.querySelector(".name").textContent = product.name;
  card.querySelector(".meta").textContent = [product.sku, product.category?.name].filter(Boolean).join(" · ");
  const now = card.querySelector(".price-now");
  now.dataset.price = product.discountedPrice;
  now.textContent = money.format(Number(product.discountedPrice));
  const onSale = Number(product.discountPercent) > 0;
  const was = card.querySelector(".price-was");
  was.hidden = !onSale;
  was.textContent = onSale ? money.format(Number(product.price)) : "";
  was.setAttribute("aria-label", `was ${was.textContent}`);
  const badge = card.querySelector(".badge");
  badge.hidden = !onSale;
  badge.textContent = onSale ? `−${Number(product.discountPercent)}%` : "";
  const stock = card.querySelector(".stock");
  stock.dataset.inStock = product.stock > 0;
  stock.textContent = product.stock > 0 ? `In stock: ${product.stock}` : "Out of stock";
}

function flash(card) {
  const now = card.querySelector(".price-now");
  now.classList.remove("flash");
  void now.offsetWidth; // restarts the animation when it is running
  now.classList.add("flash");
}

/** Shows the catalog's rows, reusing each product's card, and tells what changed. */
function render({ joined, left, updated }, { quietly = false } = {}) {
  const grid = $("grid");
  const names = new Map([...cards].map(([id, card]) => [id, card.querySelector(".name").textContent]));
  for (const id of left) {
    cards.get(id)?.remove();
    cards.delete(id);
  }
  for (const { before, after } of updated) {
    const card = cards.get(after.id);
    fillCard(card, after);
    if (before.discountedPrice !== after.discountedPrice) flash(card);
  }
  let previous = null;
  for (const product of catalog.rows()) {
    let card = cards.get(product.id);
    if (!card) {
      card = newCard(product);
      cards.set(product.id, card);
    }
    const expected = previous ? previous.nextSibling : grid.firstChild;
    if (card !== expected) grid.insertBefore(card, expected);
    previous = card;
  }
  $("empty").hidden = cards.size > 0 || catalog.hasNextPage;
  $("load-more").hidden = !catalog.hasNextPage;
  $("count").textContent = `(${cards.size} of ${Math.max(totalCount, cards.size)} shown)`;
  if (!quietly) announceChanges(joined, left.map((id) => names.get(id)), updated);
}

function announceChanges(joined, leftNames, updated) {
  const priced = updated.filter(({ before, after }) => before.discountedPrice !== after.discountedPrice);
  const lines = [];
  if (priced.length + joined.length + leftNames.length <= ANNOUNCED_ONE_BY_ONE) {
    for (const { after } of priced) lines.push(`${after.name} now ${money.format(Number(after.discountedPrice))}.`);
    for (const product of joined) lines.push(`${product.name} joined the list.`);
    for (const name of leftNames) lines.push(`${name} left the list.`);
  } else {
    lines.push(`${priced.length} prices changed, ${joined.length} products joined, ${leftNames.length} left.`);
  }
  if (lines.length) announce(lines.join(" "));
}

async function loadMore() {
  if (!streaming || loading || !catalog.hasNextPage) return;
  loading = true;
  const mine = generation;
  const { filter, orderBy } = currentFilters();
  try {
    const { products } = await graphql(PAGE, { first: PAGE_SIZE, after: catalog.endCursor, filter, orderBy });
    if (mine !== generation) return;
    totalCount = products.totalCount;
    const firstPage = catalog.endCursor === null;
    render(catalog.addPage(products), { quietly: true });
    $("grid").setAttribute("aria-busy", "false");
    announce(firstPage ? `${totalCount} products.` : `${products.edges.length} more products loaded.`);
  } catch (error) {
    announce(`The products could not be loaded: ${error.message}`);
  } finally {
    loading = false;
  }
  // A tall screen may show the end of the grid with room to spare.
  if (mine === generation && nearTheEnd()) loadMore();
}

/** Starts over for the current filters: a stream that sends what changes
 * from now on, then the first page, read after the stream began. */
async function restart() {
  const mine = ++generation;
  stopStream?.();
  stopStream = null;
  streaming = false;
  const { filter, orderBy } = currentFilters();
  catalog = new LiveCatalog({ orderBy });
  cards.clear();
  $("grid").replaceChildren();
  $("grid").setAttribute("aria-busy", "true");
  let after = null;
  try {
    after = (await graphql(TAIL, { filter, orderBy })).products.edges[0]?.cursor ?? null;
  } catch (error) {
    announce(`The products could not be loaded: ${error.message}`);
    return;
  }
  if (mine !== generation) return;
  await new Promise((started) => {
    stopStream = followStream(client, {
      query: STREAM,
      resumeQuery: RESUMED_STREAM,
      variables: { filter, orderBy, after },
      onBatch(batch) {
        if (mine !== generation) return;
        render(catalog.applyBatch(batch));
        if (batch.snapshotComplete) started();
      },
      onStatus(status, detail) {
        if (mine !== generation) return;
        showConnection(status, detail);
        // Without live updates the catalog can still be browsed.
        if (status !== "connecting") started();
      },
      onRestart() {
        if (mine === generation) restart();
      },
    });
  });
  if (mine !== generation) return;
  streaming = true;
  await loadMore();
}

async function fillCategories() {
  const { categories } = await graphql(CATEGORIES);
  const select = $("category");
  for (const { node } of categories.edges) {
    const option = element("option", "", node.name);
    option.value = node.id;
    select.append(option);
  }
}

// Pages load before the end of the grid comes into sight.
const AHEAD = 400;
const nearTheEnd = () => $("sentinel").getBoundingClientRect().top < innerHeight + AHEAD;
new IntersectionObserver(([entry]) => entry.isIntersecting && loadMore(), {
  rootMargin: `${AHEAD}px 0px`,
}).observe($("sentinel"));

let typing = null;
const form = $("filters");
form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("input", (event) => {
  clearTimeout(typing);
  typing = setTimeout(restart, event.target.type === "search" ? 300 : 0);
});
$("load-more").addEventListener("click", loadMore);

fillCategories().catch((error) => announce(`The categories could not be loaded: ${error.message}`));
restart();
