/** A tiny GraphQL client for the indexer (no client library in the bundle): POST, errors in words. */
export class GraphQLError extends Error {}

export async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new GraphQLError("The indexer cannot be reached; its data is unavailable for now.");
  }
  const body = (await res.json().catch(() => null)) as { data?: T; errors?: { message: string }[] } | null;
  if (body?.errors?.length) throw new GraphQLError(`The indexer refused the query: ${body.errors.map((e) => e.message).join("; ")}`);
  if (!res.ok || !body?.data) throw new GraphQLError(`The indexer answered HTTP ${res.status}.`);
  return body.data;
}

export type Page<T> = { nodes: T[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
