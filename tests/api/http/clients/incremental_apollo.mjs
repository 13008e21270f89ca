// Apollo Client 4 with HttpLink and graphql-core 3.3's incremental delivery
// (GraphQL17Alpha9Handler): watches a query with @defer or @stream and
// prints every result it emitted, up to the last one (loading: false).
// Usage: node incremental_apollo.mjs URL QUERY [VARIABLES_JSON]
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQL17Alpha9Handler } from "@apollo/client/incremental";

const [url, query, variables = "{}"] = process.argv.slice(2);
const client = new ApolloClient({
  link: new HttpLink({ uri: url }),
  cache: new InMemoryCache(),
  incrementalHandler: new GraphQL17Alpha9Handler(),
});
const emitted = [];
await new Promise((resolve, reject) => {
  const subscription = client
    .watchQuery({ query: gql(query), variables: JSON.parse(variables), fetchPolicy: "network-only" })
    .subscribe({
      next(result) {
        if (result.dataState === "empty") return;
        const { dataState, loading, data } = result;
        emitted.push({ dataState, loading, data, error: result.error?.message ?? null });
        // Parts still to come: loading (networkStatus "streaming"), whatever dataState says.
        if ((dataState === "complete" && !loading) || result.error) {
          subscription.unsubscribe();
          resolve();
        }
      },
      error: reject,
    });
  setTimeout(() => reject(new Error("no complete result within 30 s")), 30_000).unref();
});
console.log(JSON.stringify({ emitted }));
