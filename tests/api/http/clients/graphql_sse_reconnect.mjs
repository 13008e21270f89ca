// The graphql-sse reference client (createClient, distinct connections mode)
// following a live productStream and keeping, per id, the product with the
// highest version. Once its snapshot is complete it writes the file
// `<signal>` and the test cuts its connection; the client reconnects by
// itself, sending the resume token of the last batch it got as Last-Event-ID
// (graphql-sse's parser drops event ids, so it takes them from the batches).
// It stops at the first LIVE batch after a reconnect. Arguments: the base
// URL, the signal file. Prints {batches, products, connects}.
import { writeFileSync } from "node:fs";
import { createClient } from "graphql-sse";

const [baseUrl, signal] = process.argv.slice(2);
let lastToken = null;
let connects = 0;
const client = createClient({
  url: `${baseUrl}/graphql/`,
  headers: () => (lastToken ? { "Last-Event-ID": lastToken } : {}),
  retryAttempts: 100,
  retry: () => new Promise((resolve) => setTimeout(resolve, 200)),
  on: { connected: () => connects++ },
});

const STREAM = `subscription Live {
  productStream(batchSize: 50, live: true) {
    phase sequence snapshotComplete removedIds resumeToken
    products { id price version }
  }
}`;

const batches = [];
const products = {};
const timer = setTimeout(() => {
  console.error("timed out", JSON.stringify({ connects, batches: batches.length }));
  process.exit(1);
}, 30000);
for await (const result of client.iterate({ query: STREAM })) {
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  const batch = result.data.productStream;
  batches.push({ ...batch, connect: connects });
  lastToken = batch.resumeToken;
  for (const product of batch.products) {
    if (!products[product.id] || products[product.id].version <= product.version) {
      products[product.id] = product;
    }
  }
  for (const id of batch.removedIds) delete products[id];
  if (batch.snapshotComplete && connects === 1) writeFileSync(signal, "snapshot complete");
  if (batch.phase === "LIVE" && connects > 1) break;
}
clearTimeout(timer);
client.dispose();
console.log(JSON.stringify({ batches, products, connects }));
