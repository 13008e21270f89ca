// The live logic of a Conveyor catalog view, for any app to import: no DOM,
// no framework, no transport of its own.
//
// - LiveCatalog holds what a view shows: the pages loaded through the
//   `products` connection, and every product a `productStream` batch brings,
//   kept per id at its highest `version`, in the view's order, without those
//   removed (deleted, or moved out of the filter).
// - followStream subscribes to `productStream` with any client that has
//   graphql-ws's `subscribe(payload, sink)`, and when the connection drops,
//   subscribes again after a growing delay with the last batch's
//   `resumeToken`: the server sends what changed in between, nothing else.

const ORDER_KEYS = {
  CREATED_AT: (product) => Date.parse(product.createdAt),
  NAME: (product) => product.name,
  PRICE: (product) => Number(product.price),
  DISCOUNTED_PRICE: (product) => Number(product.discountedPrice),
};

/** The primary key in a Relay global ID, base64("Product:42"). */
export function primaryKey(id) {
  return Number(atob(id).split(":")[1]);
}

/** Compares two products as the server orders them for `orderBy`: by the
 * field, then by primary key, in the same direction. */
export function compareBy(orderBy = {}) {
  const key = ORDER_KEYS[orderBy.field ?? "CREATED_AT"];
  if (!key) throw new Error(`unknown order field ${orderBy.field}`);
  const sign = orderBy.direction === "DESC" ? -1 : 1;
  return (a, b) => {
    const [x, y] = [key(a), key(b)];
    const byField = x < y ? -1 : x > y ? 1 : 0;
    return sign * (byField || primaryKey(a.id) - primaryKey(b.id));
  };
}

export class LiveCatalog {
  /** @param {{orderBy?: {field?: string, direction?: string}}} options */
  constructor({ orderBy } = {}) {
    this.compare = compareBy(orderBy);
    this.latest = new Map(); // id → the product at its highest version seen
    this.removed = new Map(); // id → the version it was removed at (Infinity: unknown)
    this.end = null; // the last product of the pages loaded, as it was loaded
    this.hasNextPage = true;
    this.endCursor = null;
    this.view = [];
  }

  /** The products to show, in order. */
  rows() {
    return this.view;
  }

  /** Adds a page of the connection (its `edges` and `pageInfo`). A row older
   * than what a batch brought, or removed since, is not shown again. */
  addPage({ edges, pageInfo }) {
    for (const { node } of edges) {
      const removedAt = this.removed.get(node.id);
      if (removedAt !== undefined && node.version <= removedAt) continue;
      this.removed.delete(node.id);
      this.keep(node);
    }
    if (edges.length) this.end = edges[edges.length - 1].node;
    this.hasNextPage = pageInfo.hasNextPage;
    this.endCursor = pageInfo.endCursor ?? this.endCursor;
    return this.refresh();
  }

  /** Applies a `productStream` batch; a batch's products are newer than
   * anything removed before them, as batches come in commit order. */
  applyBatch({ products = [], removedIds = [] }) {
    for (const id of removedIds) {
      this.removed.set(id, this.latest.get(id)?.version ?? Infinity);
      this.latest.delete(id);
    }
    for (const product of products) {
      this.removed.delete(product.id);
      this.keep(product);
    }
    return this.refresh();
  }

  keep(product) {
    const known = this.latest.get(product.id);
    if (!known || product.version > known.version) this.latest.set(product.id, product);
  }

  /** Whether `product` falls within the pages loaded: after their end, it
   * belongs to a page not loaded yet, where it will come in its turn. */
  inView(product) {
    return !this.hasNextPage || (this.end !== null && this.compare(product, this.end) <= 0);
  }

  /** Recomputes the view; returns what changed in it: the products that
   * joined, those that left (their ids) and those updated ({before, after}). */
  refresh() {
    const before = new Map(this.view.map((product) => [product.id, product]));
    this.view = [...this.latest.values()].filter((p) => this.inView(p)).sort(this.compare);
    const joined = [];
    const updated = [];
    for (const product of this.view) {
      const previous = before.get(product.id);
      before.delete(product.id);
      if (!previous) joined.push(product);
      else if (previous.version !== product.version) updated.push({ before: previous, after: product });
    }
    return { joined, left: [...before.keys()], updated };
  }
}

/** Milliseconds to wait before the `attempt`-th reconnection (0, 1, 2…):
 * doubling from `base` up to `max`, with a random half of it as jitter so that
 * clients dropped together do not all come back at once. */
export function backoffDelay(attempt, { base = 500, max = 15000, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

function errorCodes(errors) {
  return (Array.isArray(errors) ? errors : []).map((error) => error?.extensions?.code);
}

/**
 * Follows `productStream(…, live: true)` through drops of the connection.
 *
 * `variables` are the stream's (`filter`, `orderBy`, `after`, `batchSize`).
 * `query` subscribes with them and `live: $live`; `resumeQuery`, the same
 * subscription with `resume: $resume` in place of `after` and `live` (the
 * server refuses a document that names them beside a token). Callbacks: `onBatch(batch)`, `onStatus(status, detail)` with
 * status "connecting", "live", "reconnecting" (detail: the delay in ms) or
 * "failed" (detail: the errors), and `onRestart()` when the server no longer
 * has the changes since the last token (RESUME_EXPIRED, or a token it does
 * not take): following has stopped, and the app starts over (a new
 * LiveCatalog, its first page, a new stream).
 *
 * Returns a function that stops following.
 */
export function followStream(client, { query, resumeQuery, variables, onBatch, onStatus = () => {}, onRestart = () => {}, delay = backoffDelay, setTimer = setTimeout, clearTimer = clearTimeout }) {
  let token = null;
  let attempt = 0;
  let stopped = false;
  let unsubscribe = null;
  let timer = null;

  function subscribe() {
    onStatus("connecting");
    const { after, ...rest } = variables;
    // A token stands for `after` and `live`: the server refuses them beside it.
    const [document, current] = token
      ? [resumeQuery, { ...rest, resume: token }]
      : [query, { ...variables, live: true }];
    let ended = false;
    const end = (then) => {
      if (ended || stopped) return;
      ended = true;
      unsubscribe?.();
      then();
    };
    unsubscribe = client.subscribe(
      { query: document, variables: current },
      {
        next(result) {
          if (result.errors?.length) return end(() => failed(result.errors));
          const batch = result.data.productStream;
          attempt = 0;
          token = batch.resumeToken;
          if (batch.snapshotComplete) onStatus("live");
          onBatch(batch);
        },
        // The connection dropped, or the server refused the operation.
        error(error) {
          end(() => (Array.isArray(error) ? failed(error) : retry()));
        },
        // A live stream ends only when the server goes away.
        complete() {
          end(retry);
        },
      },
    );
  }

  function failed(errors) {
    stopped = true;
    // Resuming failed: the server cannot go on from this token.
    if (token !== null) onRestart(errorCodes(errors));
    else onStatus("failed", errors);
  }

  function retry() {
    const wait = delay(attempt++);
    onStatus("reconnecting", wait);
    timer = setTimer(() => {
      timer = null;
      if (!stopped) subscribe();
    }, wait);
  }

  subscribe();
  return () => {
    stopped = true;
    if (timer !== null) clearTimer(timer);
    unsubscribe?.();
  };
}
