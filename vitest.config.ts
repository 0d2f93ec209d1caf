import { defineConfig } from "vitest/config";

// Unit tests of the TypeScript control plane. The C tests run under ctest;
// `npm test` (test/run.mjs) runs both and prints one combined tally.
export default defineConfig({
  test: {
    include: ["ts/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "build*/**"],
    environment: "node",
  },
});
