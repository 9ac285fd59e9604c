import { defineConfig } from "vitest/config";

// The GPU suite (an H100 with PyTorch and Triton): npm run test:gpu.
export default defineConfig({
  test: {
    include: ["test/gpu/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: "forks",
    fileParallelism: false,
  },
});
