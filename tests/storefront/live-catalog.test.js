// The live catalog page's module on its own, in Node (`node --test`), as an
// app that imports it would use it; run by test_live_catalog_module.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  LiveCatalog,
  backoffDelay,
  compareBy,
  followStream,
  primaryKey,
} from "../../storefront/static/storefront/live-catalog.js";

const id = (pk) => btoa(`Product:${pk}`);

function product(pk, fields = {}) {
  return {
    id: id(pk),
    name: `Product ${pk}`,
    price: "10.00",
    discountedPrice: "10.00",
    createdAt: `2026-01-01T00:00:${String(pk).padStart(2, "0")}+00:00`,
    version: 1,
    ...fields,
  };
}

const page = (products, hasNextPage) => ({
  edges: products.map((node) => ({ node, cursor: `cursor-${node.id}` })),
  pageInfo: { hasNextPage, endCursor: products.length ? `cursor-${products.at(-1).id}` : null },
});

const pks = (catalog) => catalog.rows().map((p) => primaryKey(p.id));

describe("compareBy", () => {
  it("orders by the field, then the primary key, in one direction", () => {
    const rows = [product(3, { price: "5.00" }), product(1, { price: "9.00" }), product(2, { price: "5.00" })];
    const ascending = [...rows].sort(compareBy({ field: "PRICE", direction: "ASC" }));
    assert.deepEqual(ascending.map((p) => primaryKey(p.id)), [2, 3, 1]);
    const descending = [...rows].sort(compareBy({ field: "PRICE", direction: "DESC" }));
    assert.deepEqual(descending.map((p) => primaryKey(p.id)), [1, 3, 2]);
  });

  it("orders by creation by default", () => {
    const rows = [product(2), product(1)];
    assert.deepEqual(rows.sort(compareBy()).map((p) => primaryKey(p.id)), [1, 2]);
  });

  it("refuses an unknown field", () => {
    assert.throws(() => compareBy({ field: "COLOUR" }), /unknown order field/);
  });
});

describe("LiveCatalog", () => {
  it("shows the pages loaded, in order", () => {
    const catalog = new LiveCatalog();
    const first = catalog.addPage(page([product(1), product(2)], true));
    assert.deepEqual(first.joined.map((p) => primaryKey(p.id)), [1, 2]);
    catalog.addPage(page([product(3)], false));
    assert.deepEqual(pks(catalog), [1, 2, 3]);
    assert.equal(catalog.endCursor, `cursor-${id(3)}`);
    assert.equal(catalog.hasNextPage, false);
  });

  it("keeps each product at its highest version, whatever the order of arrival", () => {
    const catalog = new LiveCatalog();
    catalog.addPage(page([product(1), product(2)], false));
    const change = catalog.applyBatch({ products: [product(1, { version: 3, discountedPrice: "8.00" })] });
    assert.deepEqual(change.updated.map(({ before, after }) => [before.discountedPrice, after.discountedPrice]), [["10.00", "8.00"]]);
    // An older version, from a batch or a page read before the change, is ignored.
    assert.deepEqual(catalog.applyBatch({ products: [product(1, { version: 2, discountedPrice: "9.00" })] }).updated, []);
    catalog.addPage(page([product(1, { version: 1 })], false));
    assert.equal(catalog.rows()[0].discountedPrice, "8.00");
  });

  it("drops removed products, and a page read before their removal does not bring them back", () => {
    const catalog = new LiveCatalog();
    catalog.addPage(page([product(1), product(2)], true));
    const change = catalog.applyBatch({ removedIds: [id(1)] });
    assert.deepEqual(change.left, [id(1)]);
    assert.deepEqual(pks(catalog), [2]);
    catalog.addPage(page([product(1), product(3)], false));
    assert.deepEqual(pks(catalog), [2, 3]);
    // Moved back into the filter by a later change.
    const back = catalog.applyBatch({ products: [product(1, { version: 2 })] });
    assert.deepEqual(back.joined.map((p) => primaryKey(p.id)), [1]);
    assert.deepEqual(pks(catalog), [1, 2, 3]);
  });

  it("a removal of a product never seen hides it from the pages read after", () => {
    const catalog = new LiveCatalog();
    catalog.applyBatch({ removedIds: [id(5)] });
    catalog.addPage(page([product(4), product(5)], false));
    assert.deepEqual(pks(catalog), [4]);
  });

  it("shows a product that joins within the pages loaded, in its place", () => {
    const catalog = new LiveCatalog({ orderBy: { field: "PRICE" } });
    catalog.addPage(page([product(1, { price: "1.00" }), product(2, { price: "3.00" })], true));
    const change = catalog.applyBatch({ products: [product(9, { price: "2.00" })] });
    assert.deepEqual(change.joined.map((p) => primaryKey(p.id)), [9]);
    assert.deepEqual(pks(catalog), [1, 9, 2]);
  });

  it("leaves a product beyond the pages loaded to its page", () => {
    const catalog = new LiveCatalog({ orderBy: { field: "PRICE" } });
    catalog.addPage(page([product(1, { price: "1.00" })], true));
    assert.deepEqual(catalog.applyBatch({ products: [product(9, { price: "5.00" })] }).joined, []);
    // Its page comes, with it as it was read: the newest version stays.
    catalog.addPage(page([product(9, { price: "5.00", version: 1 })], false));
    assert.deepEqual(pks(catalog), [1, 9]);
  });

  it("moves a product whose price moves it, out of the pages loaded if need be", () => {
    const catalog = new LiveCatalog({ orderBy: { field: "PRICE" } });
    catalog.addPage(page([product(1, { price: "1.00" }), product(2, { price: "2.00" })], true));
    const change = catalog.applyBatch({ products: [product(1, { price: "9.00", version: 2 })] });
    assert.deepEqual(change.left, [id(1)]);
    assert.deepEqual(pks(catalog), [2]);
  });

  it("shows every product once the last page is loaded", () => {
    const catalog = new LiveCatalog();
    catalog.addPage(page([product(1)], false));
    catalog.applyBatch({ products: [product(7)] });
    assert.deepEqual(pks(catalog), [1, 7]);
  });
});

describe("backoffDelay", () => {
  it("doubles up to its maximum, with jitter of up to half", () => {
    const low = { base: 100, max: 1000, random: () => 0 };
    const high = { ...low, random: () => 1 };
    assert.deepEqual([0, 1, 2, 3, 4, 9].map((n) => backoffDelay(n, low)), [50, 100, 200, 400, 500, 500]);
    assert.deepEqual([0, 1, 2, 3, 4, 9].map((n) => backoffDelay(n, high)), [100, 200, 400, 800, 1000, 1000]);
  });
});

/** A client like graphql-ws's: `subscribe(payload, sink)` returns a disposer. */
class FakeClient {
  constructor() {
    this.calls = [];
  }
  subscribe(payload, sink) {
    const call = { payload, sink, disposed: false };
    this.calls.push(call);
    return () => {
      call.disposed = true;
    };
  }
  get last() {
    return this.calls.at(-1);
  }
}

/** Timers run when the test says. */
class FakeTimers {
  constructor() {
    this.pending = [];
  }
  setTimer = (callback, delay) => {
    this.pending.push({ callback, delay });
    return this.pending.length;
  };
  clearTimer = (handle) => {
    this.pending[handle - 1].callback = () => {};
  };
  runAll() {
    const due = this.pending.splice(0);
    for (const { callback } of due) callback();
    return due.map(({ delay }) => delay);
  }
}

const batch = (token, fields = {}) => ({
  data: { productStream: { resumeToken: token, snapshotComplete: true, products: [], removedIds: [], ...fields } },
});

function follow(client, timers, overrides = {}) {
  const seen = { batches: [], statuses: [], restarts: [] };
  const stop = followStream(client, {
    query: "subscription Stream …",
    resumeQuery: "subscription Resumed …",
    variables: { filter: { onSale: true }, orderBy: { field: "PRICE" }, after: "tail" },
    onBatch: (b) => seen.batches.push(b),
    onStatus: (status, detail) => seen.statuses.push(detail === undefined ? status : [status, detail]),
    onRestart: (codes) => seen.restarts.push(codes),
    delay: (attempt) => 1000 * 2 ** attempt,
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    ...overrides,
  });
  return { seen, stop };
}

describe("followStream", () => {
  it("subscribes live after the given cursor, and passes batches on", () => {
    const client = new FakeClient();
    const { seen } = follow(client, new FakeTimers());
    assert.equal(client.last.payload.query, "subscription Stream …");
    assert.deepEqual(client.last.payload.variables, {
      filter: { onSale: true },
      orderBy: { field: "PRICE" },
      after: "tail",
      live: true,
    });
    client.last.sink.next(batch("t1", { products: [product(1)] }));
    assert.equal(seen.batches.length, 1);
    assert.deepEqual(seen.statuses, ["connecting", "live"]);
  });

  it("after a drop, resumes from the last token with a growing delay", () => {
    const client = new FakeClient();
    const timers = new FakeTimers();
    const { seen } = follow(client, timers);
    client.last.sink.next(batch("t1"));
    client.last.sink.error({ code: 1006, reason: "" }); // a CloseEvent
    assert.deepEqual(timers.runAll(), [1000]);
    // The token stands for `after` and `live`.
    assert.equal(client.last.payload.query, "subscription Resumed …");
    assert.deepEqual(client.last.payload.variables, {
      filter: { onSale: true },
      orderBy: { field: "PRICE" },
      resume: "t1",
    });
    client.last.sink.error({ code: 1006, reason: "" });
    assert.deepEqual(timers.runAll(), [2000]);
    client.last.sink.next(batch("t2"));
    client.last.sink.complete(); // the server went away gracefully
    assert.deepEqual(timers.runAll(), [1000]); // a batch came: from the start again
    assert.equal(client.last.payload.variables.resume, "t2");
    assert.equal(client.calls.length, 4);
    const waits = seen.statuses.filter((status) => Array.isArray(status));
    assert.deepEqual(waits, [["reconnecting", 1000], ["reconnecting", 2000], ["reconnecting", 1000]]);
  });

  it("asks the app to start over when the server cannot resume", () => {
    const client = new FakeClient();
    const timers = new FakeTimers();
    const { seen } = follow(client, timers);
    client.last.sink.next(batch("t1"));
    client.last.sink.error({ code: 1006 });
    timers.runAll();
    client.last.sink.error([{ message: "expired", extensions: { code: "RESUME_EXPIRED" } }]);
    assert.deepEqual(seen.restarts, [["RESUME_EXPIRED"]]);
    assert.deepEqual(timers.runAll(), []); // and follows no more
    assert.equal(client.calls.length, 2);
  });

  it("reports errors of a first subscription without retrying", () => {
    const client = new FakeClient();
    const timers = new FakeTimers();
    const { seen } = follow(client, timers);
    const errors = [{ message: "bad filter", extensions: { code: "BAD_USER_INPUT" } }];
    client.last.sink.next({ errors });
    assert.deepEqual(seen.statuses.at(-1), ["failed", errors]);
    assert.ok(client.last.disposed);
    assert.deepEqual(timers.runAll(), []);
  });

  it("stops at once: no reconnection after the stop", () => {
    const client = new FakeClient();
    const timers = new FakeTimers();
    const { stop } = follow(client, timers);
    client.last.sink.error({ code: 1006 });
    stop();
    timers.runAll();
    assert.equal(client.calls.length, 1);
    assert.ok(client.last.disposed);
  });
});
