/** What every thread-pool alternative offers scenario 3: a batch of tasks in, the sum out. */

export type Kind = "echo" | "fib"

export interface ThreadAlt {
  readonly name: string
  /** Runs every task (all submitted at once unless the alternative says otherwise); returns the sum. */
  readonly runAll: (kind: Kind, xs: ReadonlyArray<number>) => Promise<number>
  readonly close: () => Promise<void>
}

export const THREADS = 2

import { sibling } from "../lib/paths.js"

/** A file next to this one; "x.ts" names the compiled "x.js" when running compiled. */
export const workerUrl = (file: string): URL => sibling(file, import.meta.url)
