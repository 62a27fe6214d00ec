/**
 * Scenario 1's anchors: what users of Effect and of the promise libraries write today to run
 * N tasks with concurrency 8 and add up the results. Each returns the sum so it can be checked.
 */
import * as Effect from "effect/Effect"
import fastq from "fastq"
import pLimit from "p-limit"
import PQueue from "p-queue"
import type { Variant } from "./handlers.js"
import { effectHandler, plainHandler, promiseHandler, sum } from "./handlers.js"

export type Runner = (items: ReadonlyArray<number>) => Promise<number>

export const CONCURRENCY = 8

/** `Effect.forEach(items, handler, { concurrency: 8 })`, then a sum over the result array. */
export const effectForEach = (variant: Variant): Runner => {
  const handler = effectHandler(variant)
  return (items) =>
    Effect.runPromise(Effect.forEach(items, handler, { concurrency: CONCURRENCY }).pipe(Effect.map(sum)))
}

/** p-limit: every call queued at once, `Promise.all` over the results. */
export const pLimitRunner = (variant: Variant): Runner => {
  const fn = plainHandler(variant)
  return async (items) => {
    const limit = pLimit(CONCURRENCY)
    return sum(await Promise.all(items.map((x) => limit(fn, x))))
  }
}

/** p-queue: `add` per task, `Promise.all` over the results. */
export const pQueueRunner = (variant: Variant): Runner => {
  const fn = plainHandler(variant)
  return async (items) => {
    const queue = new PQueue({ concurrency: CONCURRENCY })
    return sum(await Promise.all(items.map((x) => queue.add(() => fn(x)))))
  }
}

/** fastq's promise API (its worker must return a promise, so "sync" is an async function). */
export const fastqPromise = (variant: Variant): Runner => {
  const worker = variant === "sync" ? async (x: number) => x * 2 : promiseHandler
  return async (items) => {
    const queue = fastq.promise(worker, CONCURRENCY)
    return sum(await Promise.all(items.map((x) => queue.push(x))))
  }
}

/** fastq's callback API: its fastest form, no promise per task at all in the sync variant. */
export const fastqCallback = (variant: Variant): Runner => (items) =>
  new Promise((resolve, reject) => {
    let total = 0
    let left = items.length
    const done = (err: Error | null, value?: number) => {
      if (err) return reject(err)
      total += value!
      if (--left === 0) resolve(total)
    }
    const queue = fastq<unknown, number, number>(
      variant === "sync"
        ? (x, cb) => cb(null, x * 2)
        : (x, cb) => void promiseHandler(x).then((v) => cb(null, v), cb),
      CONCURRENCY
    )
    if (left === 0) resolve(0)
    for (const x of items) queue.push(x, done)
  })
