// urql 6 with its fetch exchange and `fetchSubscriptions: true`: a
// subscription over Server-Sent Events, read to its end, and a query through
// the same client (it accepts event streams for queries too). Arguments: the
// server's base URL, the batch size. Prints {batches, errors, query}.
import { Client, fetchExchange, gql } from "@urql/core";

const [baseUrl, batchSize] = process.argv.slice(2);
const client = new Client({
  url: `${baseUrl}/graphql/`,
  exchanges: [fetchExchange],
  fetchSubscriptions: true,
  requestPolicy: "network-only",
});

const STREAM = gql`
  subscription Snapshot($batchSize: Int!) {
    productStream(batchSize: $batchSize) {
      phase sequence snapshotComplete products { id }
    }
  }
`;

const batches = [];
const errors = [];
let done = false;
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("timed out")), 20000);
  client
    .subscription(STREAM, { batchSize: Number(batchSize) })
    .subscribe((result) => {
      // urql hands the last result out once more when the stream ends.
      if (done) return;
      for (const error of result.error?.graphQLErrors ?? []) {
        errors.push({ message: error.message, extensions: error.extensions });
      }
      if (result.error?.networkError) errors.push({ message: result.error.message });
      const batch = result.data?.productStream;
      if (batch) batches.push(batch);
      if (batch?.snapshotComplete || result.error) {
        done = true;
        clearTimeout(timer);
        resolve();
      }
    });
});
const query = await client.query(gql`{ products(first: 1) { totalCount } }`, {}).toPromise();
console.log(JSON.stringify({ batches, errors, query: query.data ?? null }));
process.exit(0);
