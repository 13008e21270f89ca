// Apollo Client 4's persisted-queries link against the server at argv[2]: a
// first client sends a new document's hash alone, is told it is not found,
// and sends it again with the document; a second client's request then
// succeeds by hash alone. Prints what each client sent and was answered.
import { createHash, randomUUID } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

const url = process.argv[2];
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
// A document the server cannot know yet: its operation name is new each run.
const name = `Count${randomUUID().replaceAll('-', '')}`;
const query = gql(`query ${name} { products(first: 1) { totalCount } }`);

function client(requests) {
  async function recordingFetch(uri, options) {
    const response = await fetch(uri, options);
    const sent = JSON.parse(options.body);
    const answer = JSON.parse(await response.clone().text());
    requests.push({
      method: options.method,
      sentQuery: typeof sent.query === 'string',
      sentHash: sent.extensions?.persistedQuery?.sha256Hash ?? null,
      status: response.status,
      codes: (answer.errors ?? []).map((error) => error.extensions?.code),
    });
    return response;
  }
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: new PersistedQueryLink({ sha256 }).concat(
      new HttpLink({ uri: url, fetch: recordingFetch }),
    ),
  });
}

const first = [];
const second = [];
const firstResult = await client(first).query({ query });
const secondResult = await client(second).query({ query });
console.log(
  JSON.stringify({
    first,
    second,
    firstData: firstResult.data,
    secondData: secondResult.data,
    hash: sha256(query.loc.source.body),
  }),
);
