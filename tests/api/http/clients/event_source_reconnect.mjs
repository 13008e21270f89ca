// A browser's EventSource (Node's, run with --experimental-eventsource)
// following a live productStream over GET. Once its snapshot is complete it
// writes the file `<signal>`, and the test cuts its connection: EventSource
// reconnects on its own with the last event's id as Last-Event-ID. It stops
// at the first LIVE batch after that. Arguments: the base URL, the signal
// file. Prints {batches, opens}.
import { writeFileSync } from "node:fs";

const [baseUrl, signal] = process.argv.slice(2);
const query = `subscription Live {
  productStream(batchSize: 50, live: true) {
    phase sequence snapshotComplete removedIds products { id price version }
  }
}`;
const source = new EventSource(`${baseUrl}/graphql/?query=${encodeURIComponent(query)}`);
const batches = [];
let opens = 0;
const timer = setTimeout(() => {
  console.error("timed out", JSON.stringify({ opens, batches: batches.length }));
  process.exit(1);
}, 30000);
source.addEventListener("open", () => opens++);
source.addEventListener("next", (event) => {
  const result = JSON.parse(event.data);
  if (result.errors) throw new Error(event.data);
  const batch = result.data.productStream;
  batches.push({ ...batch, open: opens, id: event.lastEventId });
  if (batch.snapshotComplete && opens === 1) writeFileSync(signal, "snapshot complete");
  if (batch.phase === "LIVE" && opens > 1) {
    source.close();
    clearTimeout(timer);
    console.log(JSON.stringify({ batches, opens }));
  }
});
source.addEventListener("complete", () => source.close());
