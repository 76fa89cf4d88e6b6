/**
 * The GraphQL endpoint: graphql-yoga (GraphiQL on, CORS on for the dApp's origin) with
 * GraphQL Armor's limits, so a query that is too deep, too costly or alias-bombed gets a clear
 * GraphQL error instead of a slow database.
 */
import { createServer, type Server } from "node:http";
import { readFileSync } from "node:fs";
import { createSchema, createYoga } from "graphql-yoga";
import { EnvelopArmor } from "@escape.tech/graphql-armor";
import type { Logger } from "pino";
import { resolvers, type GqlContext } from "./resolvers.ts";

export const TYPE_DEFS = readFileSync(new URL("./schema.graphql", import.meta.url), "utf8");

export const LIMITS = { maxDepth: 10, maxCost: 50_000, maxAliases: 15, maxTokens: 2_000 };

export function createGraphqlServer(context: GqlContext, log: Logger): Server {
  const armor = new EnvelopArmor({
    maxDepth: { n: LIMITS.maxDepth, flattenFragments: true },
    costLimit: { maxCost: LIMITS.maxCost, objectCost: 2, scalarCost: 1, depthCostFactor: 1.5 },
    maxAliases: { n: LIMITS.maxAliases },
    maxTokens: { n: LIMITS.maxTokens },
    blockFieldSuggestion: { enabled: false },
  });
  const yoga = createYoga({
    schema: createSchema({ typeDefs: TYPE_DEFS, resolvers: resolvers as never }),
    graphqlEndpoint: "/graphql",
    graphiql: { title: "Tollgate indexer" },
    landingPage: false,
    cors: { origin: "*", methods: ["GET", "POST", "OPTIONS"] },
    plugins: [...armor.protect().plugins],
    context: () => context,
    logging: {
      debug: (...a: unknown[]) => log.debug({ yoga: a.map(String).join(" ") }),
      info: (...a: unknown[]) => log.info({ yoga: a.map(String).join(" ") }),
      warn: (...a: unknown[]) => log.warn({ yoga: a.map(String).join(" ") }),
      error: (...a: unknown[]) => log.error({ yoga: a.map(String).join(" ") }),
    },
  });
  return createServer(yoga);
}
