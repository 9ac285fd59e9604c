import { defineConfig } from "vitest/config";

// The default suite: runs anywhere (CPU, no keys). GPU suites live in test/gpu/ (npm run test:gpu).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/gpu/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
