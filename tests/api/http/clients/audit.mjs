// The GraphQL-over-HTTP specification's reference audit (graphql-http's
// auditServer) against the server at argv[2]; prints every result as JSON.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
const report = await Promise.all(
  results.map(async (result) => ({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === 'ok' ? null : result.reason,
    response:
      result.status === 'ok' ? null : await result.response.text().catch(() => null),
  })),
);
console.log(JSON.stringify(report));
