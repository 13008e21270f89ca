// POSTs a query asking for incremental delivery and reads the response with
// meros, a multipart/mixed client; prints its parts' JSON as they came.
// Usage: node incremental_meros.mjs URL QUERY [VARIABLES_JSON]
import { meros } from "meros/browser";

const [url, query, variables = "{}"] = process.argv.slice(2);
const response = await fetch(url, {
  method: "POST",
  headers: {
    "content-type": "application/json",
    accept: "multipart/mixed;incrementalSpec=v0.2, application/json;q=0.9",
  },
  body: JSON.stringify({ query, variables: JSON.parse(variables) }),
});
const parts = await meros(response);
const result = { status: response.status, contentType: response.headers.get("content-type") };
if (parts instanceof Response) {
  result.parts = [await parts.json()];
} else {
  result.parts = [];
  for await (const part of parts) {
    if (!part.json) throw new Error(`a part that is not JSON: ${part.body}`);
    result.parts.push(part.body);
  }
}
console.log(JSON.stringify(result));
