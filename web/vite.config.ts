import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// One build serves every network: addresses and URLs come from /tollgate.config.json at run time.
export default defineConfig({
  plugins: [react()],
  // @tollgate/protocol has its own copy of zod (the root holds Hardhat's zod 3): bundle one copy.
  resolve: { dedupe: ["zod"] },
  build: { target: "es2022", sourcemap: false, chunkSizeWarningLimit: 600 },
  test: {
    environment: "jsdom",
    include: ["test/unit/**/*.test.{ts,tsx}"],
    setupFiles: ["test/unit/setup.ts"],
  },
} as Parameters<typeof defineConfig>[0]);
