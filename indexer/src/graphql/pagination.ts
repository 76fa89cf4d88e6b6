/**
 * Keyset (cursor) pagination: the cursor is the sort key of the last row, so page 1,000 costs what
 * page 1 costs and there is no skip limit. Cursors are opaque base64url JSON.
 */
import { GraphQLError } from "graphql";
import type { Queryable, Row } from "../db/db.ts";

export type PageArgs = { first?: number | null; after?: string | null; orderDirection?: "asc" | "desc" | null };
export type Page<T> = { nodes: T[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };

export const MAX_FIRST = 1000;

export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}

function decodeCursor(after: string, n: number): string[] {
  try {
    const v = JSON.parse(Buffer.from(after, "base64url").toString("utf8"));
    if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === "string" && /^[0-9a-zA-Zx]{0,80}$/.test(x))) return v;
  } catch {
    /* fall through */
  }
  throw badInput("`after` is not a cursor from this list: pass pageInfo.endCursor of the previous page");
}

/**
 * One page of `from` (a table or subquery) filtered by `where` (SQL with $1.. params), ordered by
 * `keys` (unique together).
 */
export async function page<T>(
  q: Queryable,
  spec: { select: string; from: string; where: string[]; params: unknown[]; keys: string[]; defaultDirection: "asc" | "desc" },
  args: PageArgs,
  map: (r: Row) => T,
): Promise<Page<T>> {
  const first = args.first ?? 50;
  if (!Number.isInteger(first) || first < 1 || first > MAX_FIRST) throw badInput(`\`first\` must be between 1 and ${MAX_FIRST}, got ${first}`);
  const dir = args.orderDirection ?? spec.defaultDirection;
  const where = [...spec.where];
  const params = [...spec.params];
  if (args.after) {
    const vals = decodeCursor(args.after, spec.keys.length);
    const ph = vals.map((v) => {
      params.push(v);
      return `$${params.length}`;
    });
    where.push(`(${spec.keys.join(", ")}) ${dir === "asc" ? ">" : "<"} (${ph.join(", ")})`);
  }
  params.push(first + 1);
  const sql = `SELECT ${spec.select} FROM ${spec.from} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY ${spec.keys.map((k) => `${k} ${dir}`).join(", ")} LIMIT $${params.length}`;
  const rows = await q.query(sql, params);
  const hasNextPage = rows.length > first;
  const shown = rows.slice(0, first);
  const last = shown[shown.length - 1];
  const keyNames = spec.keys.map((k) => k.split(".").pop()!);
  return {
    nodes: shown.map(map),
    pageInfo: { hasNextPage, endCursor: last ? Buffer.from(JSON.stringify(keyNames.map((k) => String(last[k])))).toString("base64url") : null },
  };
}
