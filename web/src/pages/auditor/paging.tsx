/** Cursor pagination over the indexer's connections: a stack of cursors gives "previous" for free. */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useAppConfig } from "../../lib/config-context.tsx";
import { gql, type Page } from "../../lib/graphql.ts";

export function usePaged<T>(key: string, query: string, pick: (data: any) => Page<T>, variables: Record<string, unknown> = {}, pageSize = 20) {
  const cfg = useAppConfig();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const q = useQuery({
    queryKey: [key, after, variables],
    refetchInterval: 10_000,
    queryFn: async () => pick(await gql(cfg.graphqlUrl, query, { ...variables, first: pageSize, after })),
  });
  const pager = (
    <div className="row">
      <button className="secondary" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
      <span className="muted">page {cursors.length}</span>
      <button className="secondary" disabled={!q.data?.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, q.data!.pageInfo.endCursor])}>Next</button>
    </div>
  );
  return { ...q, rows: q.data?.nodes ?? [], pager };
}

export function ErrorLine({ error }: { error: unknown }) {
  return error ? <p className="field-error" role="alert">{(error as Error).message}</p> : null;
}
