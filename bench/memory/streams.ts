/**
 * N tasks produced one at a time (never materialized as an array), each alternative holding at
 * most a window of 1024 waiting tasks — the supervisor through its queue capacity, the promise
 * libraries through a producer that waits for a completion when the window is full.
 */
import * as Effect from "effect/Effect"
import fastq from "fastq"
import pLimit from "p-limit"
import * as Supervisor from "../../src/Supervisor.js"
import type { Peak } from "./peak.js"
import { SAMPLE_EVERY } from "./peak.js"

export const WINDOW = 1024
export const WORKERS = 8

export type Stream = (n: number, peak: Peak | undefined) => Promise<number>

/** Starts task i with `start`, keeping at most WINDOW + WORKERS in flight; returns the sum. */
const windowed = (start: (i: number) => Promise<number>): Stream => (n, peak) =>
  new Promise((resolve, reject) => {
    let total = 0
    let inFlight = 0
    let next = 0
    let done = 0
    const finish = (v: number) => {
      total += v
      inFlight--
      if (++done === n) resolve(total)
      else pump()
    }
    const pump = () => {
      while (next < n && inFlight < WINDOW + WORKERS) {
        if (peak !== undefined && next % SAMPLE_EVERY === 0) peak.sample()
        inFlight++
        start(next++).then(finish, reject)
      }
    }
    if (n === 0) resolve(0)
    else pump()
  })

export const pLimitStream: Stream = (n, peak) => {
  const limit = pLimit(WORKERS)
  const fn = (x: number) => x * 2
  return windowed((i) => limit(fn, i))(n, peak)
}

export const fastqStream: Stream = (n, peak) => {
  const queue = fastq.promise(async (x: number) => x * 2, WORKERS)
  return windowed((i) => queue.push(i))(n, peak)
}

/** `submit` one task at a time into capacity 1024 (it suspends when full), fold = sum. */
export const supervisorStream: Stream = (n, peak) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const sup = yield* Supervisor.make({
      workers: WORKERS,
      capacity: WINDOW,
      handler: (x: number) => Effect.sync(() => x * 2),
      initial: 0,
      combine: (s: number, a: number) => s + a
    })
    let i = 0
    yield* Effect.whileLoop({
      while: () => i < n,
      body: () => sup.submit(i),
      step: () => {
        if (peak !== undefined && i % SAMPLE_EVERY === 0) peak.sample()
        i++
      }
    })
    yield* sup.awaitIdle
    return yield* sup.state
  })))

export const STREAMS: Readonly<Record<string, Stream>> = {
  "supervisor submit": supervisorStream,
  "p-limit": pLimitStream,
  "fastq (promise)": fastqStream
}
