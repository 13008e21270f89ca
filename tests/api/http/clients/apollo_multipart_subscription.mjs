// Apollo Client 4 with its HttpLink, which sends subscriptions over multipart
// HTTP: a live productStream, an update made once its snapshot is complete,
// until the LIVE batch with it comes. Arguments: the server's base URL, a
// staff token, the global id of the product to change (or "error", to
// subscribe with a batchSize the server refuses).
// Prints {results: [{data, errors}], completed}.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

const [baseUrl, token, productId] = process.argv.slice(2);
const url = `${baseUrl}/graphql/`;
const client = new ApolloClient({
  link: new HttpLink({ uri: url }),
  cache: new InMemoryCache(),
});

const STREAM = gql`
  subscription Live($batchSize: Int!) {
    productStream(batchSize: $batchSize, live: true) {
      phase sequence snapshotComplete resumeToken
      products { id price version }
    }
  }
`;

async function update(id, price) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: `mutation($id: ID!, $price: Decimal!) {
        updateProduct(id: $id, input: {price: $price}) { errors { message } }
      }`,
      variables: { id, price },
    }),
  });
  const body = await response.json();
  if (body.errors || body.data.updateProduct.errors.length) throw new Error(JSON.stringify(body));
}

const refused = productId === "error";
const results = [];
const completed = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("timed out: " + JSON.stringify(results))), 20000);
  const subscription = client
    .subscribe({ query: STREAM, variables: { batchSize: refused ? 0 : 100 } })
    .subscribe({
      next(result) {
        results.push({
          data: result.data ?? null,
          errors: result.error?.errors ?? (result.error ? [{ message: result.error.message }] : null),
        });
        const batch = result.data?.productStream;
        if (batch?.phase === "SNAPSHOT" && batch.snapshotComplete) {
          update(productId, "42.00").catch(reject);
        }
        if (batch?.phase === "LIVE" && batch.products.some((p) => p.id === productId)) {
          subscription.unsubscribe();
          clearTimeout(timer);
          resolve(false);
        }
      },
      error(error) {
        clearTimeout(timer);
        results.push({ data: null, errors: error.errors ?? [{ message: error.message }] });
        resolve(false);
      },
      complete() {
        clearTimeout(timer);
        resolve(true);
      },
    });
});
console.log(JSON.stringify({ results, completed }));
