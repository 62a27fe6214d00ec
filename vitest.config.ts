import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // most specific first: vite matches aliases in order, by prefix
    alias: [
      {
        find: "effect-supervisor/threads",
        replacement: fileURLToPath(new URL("./src/threads/index.ts", import.meta.url))
      },
      {
        find: "effect-supervisor/durable",
        replacement: fileURLToPath(new URL("./src/durable/index.ts", import.meta.url))
      },
      { find: /^effect-supervisor$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
