/**
 * In-process alternatives, one per sample process: effect-supervisor as a user imports it (the
 * built package, `effect-supervisor` → dist/ through the package's own `exports`) and the
 * anchors a user would reach for instead. Every alternative computes the sum of 2x over
 * 0..n-1 (or echoes a probe task) and the sample checks it.
 *
 * Usage (through bench/run.ts): node inproc.js '{"alt":"supervisor run","params":{"n":1000,…}}'
 * Params: n (tasks), warm (tasks of an untimed warm-up run first, 0 for none), workers,
 * callers, concurrency, capacity, handler ("sync" | "async").
 */
// Modules, not the "effect" barrel: the barrel loads every module (~0.8 s here) and a sample
// process pays that before its timed region and in every profile.
import { Supervisor } from "effect-supervisor"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import fastq from "fastq"
import pLimit from "p-limit"
import pMap from "p-map"
import type { Params } from "../lib/sample.js"
import { expectEqual, main, num, str, timed } from "../lib/sample.js"

type Handler = (x: number) => Effect.Effect<number>

const syncHandler: Handler = (x) => Effect.sync(() => x * 2)
const asyncHandler: Handler = (x) => Effect.promise(() => Promise.resolve(x * 2))
const handlerOf = (params: Params): Handler => {
  const name = str(params, "handler")
  if (name !== "sync" && name !== "async") throw new Error(`handler: sync | async, got ${name}`)
  return name === "async" ? asyncHandler : syncHandler
}
const double = (x: number) => x * 2

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)
const sum = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0)
const add = (s: number, a: number) => s + a

/** A run of `n` tasks returning the sum; the harness checks it against n(n-1). */
type Runner = (n: number, params: Params) => Promise<number>

/**
 * Untimed warm-up (JIT, module loading): `warmRuns` runs (default 1) of `warm` tasks each; then
 * the timed run at full size, checked, after a full GC unless `fullGc` is 0.
 */
const throughput = (name: string, runner: Runner) => async (params: Params) => {
  const n = num(params, "n")
  const warm = num(params, "warm")
  const warmRuns = params.warmRuns === undefined ? 1 : num(params, "warmRuns")
  for (let run = 0; run < warmRuns && warm > 0; run++) {
    expectEqual(`${name} (warm-up)`, await runner(warm, params), warm * (warm - 1))
  }
  let total = 0
  const sample = await timed(async () => {
    total = await runner(n, params)
  }, params.fullGc === undefined || num(params, "fullGc") !== 0)
  expectEqual(name, total, n * (n - 1))
  return sample
}

/** `execute` per task, `callers` of them in flight (`Effect.forEach` concurrency). */
const supervisorExecute: Runner = (n, params) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const sup = yield* Supervisor.make({ workers: num(params, "workers"), handler: handlerOf(params) })
    const results = yield* Effect.forEach(range(n), (x) => sup.execute(x), { concurrency: num(params, "callers") })
    return sum(results)
  })))

/** `Supervisor.run(items)`, the fold is the sum. */
const supervisorRun: Runner = (n, params) =>
  Effect.runPromise(
    Supervisor.run(range(n), {
      workers: num(params, "workers"),
      handler: handlerOf(params),
      initial: 0,
      combine: add
    }).pipe(Effect.map((summary) => summary.state))
  )

const streaming =
  (feed: (sup: Supervisor.Supervisor<number, number, never, number>, n: number) => Effect.Effect<void>) =>
  (n: number, params: Params) =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: num(params, "workers"),
        capacity: num(params, "capacity"),
        handler: handlerOf(params),
        initial: 0,
        combine: add
      })
      yield* feed(sup, n)
      yield* sup.awaitIdle
      return yield* sup.state
    })))

/** `submitStream` of a stream of n numbers into the bounded queue. */
const supervisorSubmitStream = streaming((sup, n) => sup.submitStream(Stream.range(0, n - 1)).pipe(Effect.orDie))

/** One `submit` per task (suspends while the queue is full). */
const supervisorSubmitLoop = streaming((sup, n) => {
  let i = 0
  return Effect.whileLoop({ while: () => i < n, body: () => sup.submit(i), step: () => void i++ }).pipe(Effect.orDie)
})

/**
 * A hand-written pool: `workers` Effect fibers over one Queue holding every task, each taking
 * the next one until the queue is empty. What an Effect user writes without a library; the
 * bar for the supervisor's own overhead.
 */
const fiberPool: Runner = (n, params) =>
  Effect.runPromise(Effect.gen(function*() {
    const handler = handlerOf(params)
    const queue = yield* Queue.unbounded<number>()
    yield* Queue.offerAll(queue, range(n))
    let total = 0
    const worker = Effect.gen(function*() {
      while (true) {
        const next = yield* Queue.poll(queue)
        if (Option.isNone(next)) return
        // Not `total += yield* …`: that reads `total` before the handler suspends.
        const value = yield* handler(next.value)
        total += value
      }
    })
    yield* Effect.all(Array.from({ length: num(params, "workers") }, () => worker), {
      concurrency: "unbounded",
      discard: true
    })
    return total
  }))

const effectForEach: Runner = (n, params) =>
  Effect.runPromise(
    Effect.forEach(range(n), handlerOf(params), { concurrency: num(params, "concurrency") }).pipe(Effect.map(sum))
  )

/** p-limit: every call queued at once, `Promise.all` over the results. */
const pLimitRunner: Runner = async (n, params) => {
  const limit = pLimit(num(params, "concurrency"))
  const fn = str(params, "handler") === "async" ? (x: number) => Promise.resolve(x * 2) : double
  return sum(await Promise.all(range(n).map((x) => limit(fn, x))))
}

const pMapRunner: Runner = async (n, params) =>
  sum(await pMap(range(n), double, { concurrency: num(params, "concurrency") }))

/**
 * fastq's promise API fed by a producer that never has more than `capacity` tasks waiting
 * (it waits for a completion when the window is full), like a bounded queue's producer.
 */
const fastqStream: Runner = (n, params) => {
  const concurrency = num(params, "concurrency")
  const window = num(params, "capacity") + concurrency
  const queue = fastq.promise(async (x: number) => x * 2, concurrency)
  return new Promise((resolve, reject) => {
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
      while (next < n && inFlight < window) {
        inFlight++
        queue.push(next++).then(finish, reject)
      }
    }
    pump()
  })
}

/**
 * Start-up of a supervisor with `workers` workers: `Supervisor.make` plus the first `execute`
 * (so every worker fiber has started and parked). Not closed: the process exits after.
 */
const supervisorSpawn = async (params: Params) => {
  const workers = num(params, "workers")
  const scope = Effect.runSync(Scope.make())
  const start = (count: number) =>
    Effect.runPromise(
      Effect.gen(function*() {
        const sup = yield* Supervisor.make({ workers: count, handler: syncHandler })
        return yield* sup.execute(21)
      }).pipe(Scope.extend(scope))
    )
  expectEqual("supervisor make (warm-up)", await start(16), 42)
  let answer = 0
  const sample = await timed(async () => {
    answer = await start(workers)
  })
  expectEqual("supervisor make", answer, 42)
  return sample
}

/** The floor for spawning: fork `workers` fibers parked on one Queue, then serve one task. */
const fiberSpawn = async (params: Params) => {
  const start = (count: number) =>
    Effect.runPromise(Effect.gen(function*() {
      const queue = yield* Queue.unbounded<number>()
      const results = yield* Queue.unbounded<number>()
      for (let i = 0; i < count; i++) {
        yield* Effect.forkDaemon(Effect.forever(Effect.flatMap(Queue.take(queue), (x) => Queue.offer(results, x * 2))))
      }
      yield* Queue.offer(queue, 21)
      return yield* Queue.take(results)
    }))
  expectEqual("fiber spawn (warm-up)", await start(16), 42)
  let answer = 0
  const sample = await timed(async () => {
    answer = await start(num(params, "workers"))
  })
  expectEqual("fiber spawn", answer, 42)
  return sample
}

await main({
  "supervisor execute": throughput("supervisor execute", supervisorExecute),
  "supervisor run": throughput("supervisor run", supervisorRun),
  "supervisor submitStream": throughput("supervisor submitStream", supervisorSubmitStream),
  "supervisor submit loop": throughput("supervisor submit loop", supervisorSubmitLoop),
  "fiber pool": throughput("fiber pool", fiberPool),
  "Effect.forEach": throughput("Effect.forEach", effectForEach),
  "p-limit": throughput("p-limit", pLimitRunner),
  "p-map": throughput("p-map", pMapRunner),
  fastq: throughput("fastq", fastqStream),
  "supervisor make": supervisorSpawn,
  "fiber spawn": fiberSpawn
})
