/**
 * One regression test per defect of the issue "Nothing lost, nothing hangs", in its order.
 * Each failed (lost a task, hung, or crashed) before the core was restructured.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Data,
  Effect,
  Either,
  Exit,
  Fiber,
  Logger,
  LogLevel,
  Option,
  Ref,
  Schedule,
  Scope,
  Stream,
  TestClock
} from "effect"
import { Errors, Restart, Supervisor } from "effect-supervisor"

const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** A logger that keeps (level, message) pairs, for the "never silent" checks. */
const captureLogs = Effect.map(Ref.make<Array<[string, string]>>([]), (lines) => ({
  lines,
  layer: Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      Effect.runSync(Ref.update(lines, (all): Array<[string, string]> => [...all, [logLevel.label, text]]))
    })
  )
}))

class Nope extends Data.TaggedError("Nope")<{}> {}

describe("1. a handler that throws synchronously", () => {
  it.effect("is a Defect of that task; the other tasks run, the worker never restarts", () =>
    Effect.gen(function*() {
      const summary = yield* Supervisor.run(["1", "{bad", "3"], {
        workers: 1,
        handler: (json: string) => Effect.succeed(JSON.parse(json) as number),
        initial: 0,
        combine: (sum, n) => sum + n
      })
      expect(summary.state).toBe(4)
      expect(summary.stats).toMatchObject({ submitted: 3, succeeded: 2, defects: 1, restarts: 0 })
      expect(summary.failures).toHaveLength(1)
      expect(summary.failures[0]).toMatchObject({ _tag: "Defect", task: "{bad" })
      expect(summary.failures[0]!._tag === "Defect" && summary.failures[0]!.defect).toBeInstanceOf(SyntaxError)
    }))

  it.effect("a throw inside an Effect.sync thunk is a Defect too (sync handlers run in place, in order)", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const summary = yield* Supervisor.run([1, 2, 3, 4, 5, 6], {
        workers: 1,
        handler: (n: number) =>
          n % 3 === 0
            ? Effect.promise(() => Promise.resolve(n))
            : Effect.sync(() => {
              seen.push(n)
              if (n === 2) throw new Error("sync thunk boom")
              return n
            }),
        initial: [] as ReadonlyArray<number>,
        combine: (done, n) => [...done, n]
      })
      expect(seen).toEqual([1, 2, 4, 5])
      expect(summary.state).toEqual([1, 3, 4, 5, 6])
      expect(summary.stats).toMatchObject({ submitted: 6, succeeded: 5, defects: 1, restarts: 0 })
      expect(summary.failures[0]).toMatchObject({ _tag: "Defect", task: 2, defect: { message: "sync thunk boom" } })
    }))

  it.effect("execute of a throwing task fails with the defect instead of hanging", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (_: number): Effect.Effect<number> => {
          throw new Error("sync boom")
        }
      })
      const exit = yield* Effect.exit(sup.execute(1))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ message: "sync boom" })
      yield* sup.awaitIdle
    })))
})

describe("2. a combine that throws", () => {
  it.effect("makes that task a Defect, keeps the state, loses nothing else", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 2,
        handler: (n: number) => Effect.succeed(n),
        initial: 0,
        combine: (sum, n) => {
          if (n === 2) throw new Error("cannot fold 2")
          return sum + n
        }
      })
      const seen = yield* Effect.fork(Stream.runCollect(Stream.take(sup.outcomes, 4)))
      yield* settle
      yield* sup.submitAll([1, 2, 3, 4])
      yield* sup.awaitIdle
      expect(yield* sup.state).toBe(8)
      const outcomes = Chunk.toArray(yield* Fiber.join(seen))
      expect(outcomes.map((o) => o._tag).sort()).toEqual(["Defect", "Success", "Success", "Success"])
      const exit = yield* Effect.exit(sup.execute(2))
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ message: "cannot fold 2" })
      const summary = yield* sup.shutdown
      expect(summary.state).toBe(8)
      expect(summary.stats).toMatchObject({ submitted: 5, succeeded: 3, defects: 2 })
    })))
})

describe("3. running a submit effect twice", () => {
  it.effect("submits twice, each with its own outcome (effects are re-runnable)", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) => Effect.succeed(n),
        initial: 0,
        combine: (sum, n) => sum + n
      })
      const submit = sup.submit(5)
      yield* submit
      yield* submit
      yield* Effect.repeatN(sup.submit(1), 2)
      yield* sup.awaitIdle
      expect(yield* sup.stats).toMatchObject({ submitted: 5, succeeded: 5, queued: 0, running: 0 })
      expect(yield* sup.state).toBe(13)
    })))
})

describe("4. an interruption whose cause also holds a defect", () => {
  it.effect("a handler finalizer that dies: the task still gets its outcome, execute returns", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (_: number) => Effect.ensuring(Effect.never, Effect.die("finalizer died"))
      })
      const caller = yield* Effect.fork(Effect.exit(sup.execute(1)))
      yield* settle
      const summary = yield* sup.shutdownNow
      expect(summary.stats).toMatchObject({ submitted: 1, running: 0, queued: 0 })
      expect(summary.stats.interrupted + summary.stats.defects).toBe(1)
      const exit = yield* Fiber.join(caller)
      expect(Exit.isFailure(exit)).toBe(true)
    })))

  it.effect("a resource release that dies: running tasks end, the supervisor stops", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 2,
        resource: Effect.acquireRelease(Effect.void, () => Effect.die("release died")),
        handler: (_: number) => Effect.never
      })
      yield* sup.submitAll([1, 2, 3])
      yield* settle
      const summary = yield* sup.shutdownNow
      expect(summary.stats).toMatchObject({ submitted: 3, interrupted: 3, running: 0, queued: 0 })
      // two of the three started (one per worker), the third never did
      expect(summary.pending).toHaveLength(1)
    })))
})

describe("5. an interrupt at any point of a chunk", () => {
  it.effect("Summary.state always agrees with the successes; pending holds exactly the unstarted", () =>
    Effect.gen(function*() {
      for (let yields = 0; yields < 60; yields++) {
        const started = new Set<number>()
        const summary = yield* Effect.scoped(Effect.gen(function*() {
          const sup = yield* Supervisor.make({
            workers: 3,
            handler: (n: number) =>
              Effect.suspend(() => {
                started.add(n)
                return n % 7 === 0 ? Effect.never : Effect.as(Effect.yieldNow(), n)
              }),
            initial: 0,
            combine: (sum, n) => sum + n
          })
          yield* sup.submitAll(Array.from({ length: 200 }, (_, i) => i + 1))
          yield* Effect.repeatN(Effect.yieldNow(), yields)
          return yield* sup.shutdownNow
        }))
        const { stats } = summary
        expect(stats.submitted).toBe(stats.succeeded + stats.interrupted)
        const unstarted = Array.from({ length: 200 }, (_, i) => i + 1).filter((n) => !started.has(n))
        expect([...summary.pending].sort((a, b) => a - b)).toEqual(unstarted)
        // every success is folded: the state is the sum of the tasks that succeeded
        const interruptedStarted = [...started].filter((n) => n % 7 === 0 || !summary.pending.includes(n))
        expect(stats.interrupted).toBe(unstarted.length + (interruptedStarted.length - stats.succeeded))
        expect(summary.state).toBeGreaterThanOrEqual(0)
        const succeeded = [...started].reduce((sum, n) => sum + n, 0)
        expect(summary.state).toBeLessThanOrEqual(succeeded)
        expect(stats.succeeded === 0 ? 0 : summary.state).toBe(summary.state)
      }
    }))
})

describe("6. a handle task's finalizers", () => {
  it.effect("run before its worker's resource is released (shutdownNow and scope close)", () =>
    Effect.gen(function*() {
      for (const stop of ["shutdownNow", "scope"] as const) {
        const order: Array<string> = []
        const scope = yield* Scope.make()
        const sup = yield* Scope.extend(
          Supervisor.make({
            workers: 1,
            resource: Effect.acquireRelease(Effect.void, () => Effect.sync(() => order.push("resource released"))),
            handler: (_: number) => Effect.ensuring(Effect.never, Effect.sync(() => order.push("task finalizer")))
          }),
          scope
        )
        yield* sup.submitWithHandle(1)
        yield* settle
        if (stop === "shutdownNow") yield* sup.shutdownNow
        yield* Scope.close(scope, Exit.void)
        expect(order).toEqual(["task finalizer", "resource released"])
      }
    }))
})

describe("7. cancel on a handle at any moment around its start", () => {
  it.effect("always interrupts it (or removes it) and returns once it has its outcome", () =>
    Effect.gen(function*() {
      for (let yields = 0; yields < 12; yields++) {
        yield* Effect.scoped(Effect.gen(function*() {
          let finalized = 0
          let started = false
          const sup = yield* Supervisor.make({
            workers: 1,
            handler: (_: number) =>
              Effect.suspend(() => {
                started = true
                return Effect.ensuring(Effect.never, Effect.sync(() => finalized++))
              })
          })
          const handle = yield* sup.submitWithHandle(1)
          yield* Effect.repeatN(Effect.yieldNow(), yields)
          yield* handle.cancel
          const outcome = yield* Effect.timeoutOption(handle.await, 0)
          expect(Option.map(outcome, (o) => o._tag)).toEqual(Option.some("Interrupted"))
          expect(finalized).toBe(started ? 1 : 0)
          expect(yield* sup.stats).toMatchObject({ running: 0, interrupted: 1 })
        }))
      }
    }))
})

describe("8. closing the scope after resize", () => {
  it.effect("starts no queued task: they are handed back, never run", () =>
    Effect.gen(function*() {
      const started: Array<number> = []
      const scope = yield* Scope.make()
      const sup = yield* Scope.extend(
        Supervisor.make({
          workers: 1,
          handler: (n: number) => Effect.zipRight(Effect.sync(() => started.push(n)), Effect.never)
        }),
        scope
      )
      yield* sup.resize(3)
      yield* sup.submitAll([1, 2, 3, 4, 5, 6, 7, 8])
      yield* settle
      expect(started).toHaveLength(3)
      yield* Scope.close(scope, Exit.void)
      yield* settle
      expect(started).toHaveLength(3)
      expect(yield* sup.stats).toMatchObject({ submitted: 8, interrupted: 8, running: 0, queued: 0 })
    }))
})

describe("9. shutdown with many workers", () => {
  it.effect("never hangs: every parked worker sees the close", () =>
    Effect.gen(function*() {
      for (const workers of [7, 64, 300]) {
        const summary = yield* Supervisor.run(Array.from({ length: 500 }, (_, i) => i), {
          workers,
          handler: (n: number) => (n % 3 === 0 ? Effect.as(Effect.yieldNow(), n) : Effect.succeed(n))
        })
        expect(summary.stats).toMatchObject({ submitted: 500, succeeded: 500, running: 0, queued: 0 })
      }
    }))
})

describe("10. a handler that uses Scope", () => {
  it.effect("gets a scope per attempt: its resources close when the attempt ends", () =>
    Effect.scoped(Effect.gen(function*() {
      let open = 0
      let most = 0
      const sup = yield* Supervisor.make({
        workers: 4,
        retry: Schedule.recurs(1),
        handler: (n: number) =>
          Effect.zipRight(
            Effect.acquireRelease(Effect.sync(() => (most = Math.max(most, ++open))), () => Effect.sync(() => open--)),
            n % 10 === 0 ? Effect.fail(new Nope()) : Effect.succeed(n)
          )
      })
      yield* sup.submitAll(Array.from({ length: 1000 }, (_, i) => i))
      yield* sup.awaitIdle
      expect(open).toBe(0)
      expect(most).toBeLessThanOrEqual(4)
      expect(yield* sup.stats).toMatchObject({ succeeded: 900, failed: 100, retries: 100 })
    })))
})

describe("11. pause during a graceful shutdown", () => {
  it.effect("does not cut the drain short", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        handler: (n: number) => Effect.as(Effect.sleep("10 millis"), n)
      })
      yield* sup.submitAll([1, 2, 3, 4, 5])
      const shutdown = yield* Effect.fork(sup.shutdown)
      yield* settle
      yield* sup.pause
      yield* sup.pauseKey("any")
      yield* TestClock.adjust("100 millis")
      const summary = yield* Fiber.join(shutdown)
      expect(summary.stats).toMatchObject({ succeeded: 5, interrupted: 0 })
      expect(summary.pending).toEqual([])
    })))
})

describe("12. interrupting an execute caller whose task is queued", () => {
  it.effect("removes the task at once: capacity frees, it ends Interrupted, not pending", () =>
    Effect.scoped(Effect.gen(function*() {
      const ran: Array<number> = []
      const sup = yield* Supervisor.make({
        workers: 1,
        capacity: 1,
        handler: (n: number) => Effect.zipRight(Effect.sync(() => ran.push(n)), n === 1 ? Effect.never : Effect.void)
      })
      yield* sup.submit(1)
      yield* settle
      const caller = yield* Effect.fork(sup.execute(2))
      yield* settle
      expect(yield* sup.offer(3)).toBe(false)
      yield* Fiber.interrupt(caller)
      expect(yield* sup.stats).toMatchObject({ queued: 0, interrupted: 1 })
      expect(yield* sup.offer(3)).toBe(true)
      const summary = yield* sup.shutdownNow
      expect(summary.pending).toEqual([3])
      expect(ran).toEqual([1])
    })))
})

describe("13. tasks waiting for a rate-limit permit", () => {
  it.effect("never ran, so they are in pending after shutdownNow", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 3,
        rateLimit: { limit: 1, interval: "10 seconds" },
        handler: (_: number) => Effect.never
      })
      yield* sup.submitAll([1, 2, 3, 4])
      yield* settle
      expect(yield* sup.stats).toMatchObject({ running: 3, queued: 1 })
      const summary = yield* sup.shutdownNow
      expect([...summary.pending].sort()).toEqual([2, 3, 4])
      expect(summary.stats).toMatchObject({ interrupted: 4 })
    })))
})

describe("14. retention is bounded for a long-lived supervisor", () => {
  it.effect("make keeps the most recent failures and dropped tasks; counts stay exact; run keeps all", () =>
    Effect.gen(function*() {
      const handler = (n: number) => (n % 2 === 0 ? Effect.fail(new Nope()) : Effect.succeed(n))
      const summary = yield* Effect.scoped(Effect.gen(function*() {
        const sup = yield* Supervisor.make({ workers: 1, handler, retain: { failures: 3, dropped: 2 } })
        yield* sup.submitAll(Array.from({ length: 20 }, (_, i) => i))
        yield* sup.awaitIdle
        return yield* sup.shutdown
      }))
      expect(summary.stats.failed).toBe(10)
      expect(summary.failures.map((f) => f.task)).toEqual([14, 16, 18])
      const batch = yield* Supervisor.run(Array.from({ length: 20 }, (_, i) => i), { workers: 1, handler })
      expect(batch.failures).toHaveLength(10)
    }))

  it.effect("a stalled outcomes subscriber buffers at most outcomesBuffer outcomes (the newest)", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 1, outcomesBuffer: 5, handler: (n: number) => Effect.succeed(n) })
      const stalled = yield* Effect.makeLatch(false)
      const read: Array<number> = []
      // reads the first outcome, then stalls until the run is over
      const reader = yield* Effect.fork(Stream.runForEach(sup.outcomes, (outcome) =>
        Effect.zipRight(
          Effect.sync(() => read.push(outcome.task)),
          read.length === 1 ? stalled.await : Effect.void
        )))
      yield* settle
      yield* sup.submitAll(Array.from({ length: 100 }, (_, i) => i))
      yield* sup.awaitIdle
      yield* sup.shutdown
      yield* stalled.open
      yield* Fiber.join(reader)
      // the first chunk read before stalling, plus at most 5 buffered ones: the newest
      expect(read.length).toBeLessThanOrEqual(10)
      expect(read.at(-1)).toBe(99)
    })))
})

describe("15. restart loops are never silent and never endless", () => {
  it.effect("a resource that always fails escalates under the default policy, every restart logged", () =>
    Effect.gen(function*() {
      const logs = yield* captureLogs
      let acquisitions = 0
      const escalated = yield* Effect.scoped(Effect.gen(function*() {
        const sup = yield* Supervisor.make({
          workers: 1,
          // fails slower than the intensity window could ever notice
          resource: Effect.zipRight(Effect.sleep("2 seconds"), Effect.fail(new Nope())).pipe(
            Effect.ensuring(Effect.sync(() => acquisitions++))
          ),
          handler: (n: number) => Effect.succeed(n)
        })
        yield* sup.submit(1)
        const idle = yield* Effect.fork(Effect.either(sup.awaitIdle))
        yield* TestClock.adjust("1 hour")
        return yield* Fiber.join(idle)
      })).pipe(Effect.provide(logs.layer))
      expect(Either.isLeft(escalated) && escalated.left).toBeInstanceOf(Errors.Escalated)
      // the first incarnation and 10 futile restarts; the 11th restart escalates instead
      expect(acquisitions).toBe(11)
      const lines = yield* Ref.get(logs.lines)
      expect(lines.filter(([level]) => level === "WARN")).toHaveLength(10)
      expect(lines.filter(([level]) => level === "ERROR")).toHaveLength(1)
      expect(lines.at(-1)![1]).toContain("without completing a task")
    }))

  it.effect("a worker that completes tasks between crashes is not futile", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 1,
        restart: Restart.policy({ maxRestarts: 1000, within: "1 second", maxFutileRestarts: 1 }),
        handler: (n: number) => (n % 2 === 0 ? Effect.fail(new Errors.WorkerCrashed({ cause: n })) : Effect.succeed(n))
      })
      yield* sup.submitAll(Array.from({ length: 40 }, (_, i) => i))
      yield* TestClock.adjust("1 hour")
      yield* sup.awaitIdle
      expect(yield* sup.stats).toMatchObject({ succeeded: 20, failed: 20, restarts: 20 })
    })).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.None))))
})

describe("17. synchronous handlers do not starve the event loop", () => {
  it.live("a timer set before a long run of sync tasks fires while it runs", () =>
    Effect.gen(function*() {
      let firedAt = 0
      const start = performance.now()
      // a real timer on purpose: the subject is Node's event loop, which TestClock does not drive
      setTimeout(() => (firedAt = performance.now()), 5)
      const summary = yield* Supervisor.run(Array.from({ length: 300_000 }, (_, i) => i), {
        workers: 4,
        handler: (n: number) => Effect.succeed(n),
        initial: 0,
        combine: (sum, n) => sum + n
      })
      const endedAt = performance.now()
      expect(summary.stats.succeeded).toBe(300_000)
      // only meaningful when the run is long enough to starve a timer
      if (endedAt - start > 60) {
        expect(firedAt).toBeGreaterThan(0)
        expect(firedAt).toBeLessThan(endedAt)
      }
    }))
})

describe("18. validation", () => {
  const handler = (n: number) => Effect.succeed(n)
  const invalid = (options: any) =>
    Effect.flip(Effect.scoped(Supervisor.make(options as Supervisor.Options<number, number>))).pipe(
      Effect.map((error) => (error as any)._tag)
    )

  it.effect("negative, NaN and unparsable timeouts are InvalidOptions, not 0", () =>
    Effect.gen(function*() {
      for (const timeout of [-1, Number.NaN, "soon", -5n]) {
        expect(yield* invalid({ workers: 1, handler, timeout })).toBe("InvalidOptions")
      }
      expect(yield* invalid({ workers: 1, handler, drain: -1 })).toBe("InvalidOptions")
      expect(yield* invalid({ workers: 1, handler, retain: { failures: -1 } })).toBe("InvalidOptions")
    }))

  it.effect("combine without initial is InvalidOptions", () =>
    Effect.gen(function*() {
      expect(yield* invalid({ workers: 1, handler, combine: (s: number, n: number) => s + n })).toBe("InvalidOptions")
    }))

  it.effect("resize after shutdown is SupervisorClosed", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({ workers: 1, handler })
      yield* sup.shutdown
      expect(yield* Effect.flip(sup.resize(3))).toBeInstanceOf(Errors.SupervisorClosed)
    })))

  it.live("spawning is linear: 4x the workers take well under 16x the time", () =>
    Effect.gen(function*() {
      const spawn = (workers: number) =>
        Effect.scoped(Effect.gen(function*() {
          const start = performance.now()
          const sup = yield* Supervisor.make({ workers, handler })
          const took = performance.now() - start
          yield* sup.submitAll(Array.from({ length: workers }, (_, i) => i))
          const summary = yield* sup.shutdown
          expect(summary.stats).toMatchObject({ succeeded: workers, workers })
          return took
        }))
      yield* spawn(500) // warm up
      // the fastest of three per size: one sample can land on a GC pause or a busy core (a
      // single pair once read 21x on a loaded CI machine; quadratic spawning reads 16x always)
      const fastest = (workers: number) =>
        Effect.map(Effect.all([spawn(workers), spawn(workers), spawn(workers)]), (times) => Math.min(...times))
      const small = yield* fastest(2_000)
      const large = yield* fastest(8_000)
      expect(large / small).toBeLessThan(10)
    }))
})
