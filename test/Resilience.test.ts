import { describe, expect, it } from "@effect/vitest"
import { Clock, Data, Effect, Either, Exit, Fiber, Metric, Ref, Schedule, TestClock, Tracer } from "effect"
import { Errors, Restart, Supervisor } from "effect-supervisor"

class Flaky extends Data.TaggedError("Flaky")<{}> {}

const settle = Effect.repeatN(Effect.yieldNow(), 20)
const now = Clock.currentTimeMillis

describe("timeouts", () => {
  it.effect("a 10 s handler with timeout 1 s ends at exactly 1 s with TaskTimeout, its finalizer ran", () =>
    Effect.scoped(Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const sup = yield* Supervisor.make({
        workers: 1,
        timeout: "1 second",
        handler: (n: number) =>
          Effect.ensuring(Effect.as(Effect.sleep("10 seconds"), n), Ref.update(finalized, (f) => f + 1))
      })
      const result = yield* Effect.fork(Effect.either(sup.execute(1)))
      yield* TestClock.adjust("999 millis")
      expect(result.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const either = yield* Fiber.join(result)
      expect(Either.isLeft(either) && either.left).toBeInstanceOf(Errors.TaskTimeout)
      expect(yield* Ref.get(finalized)).toBe(1)
      expect(yield* sup.stats).toMatchObject({ failed: 1, timeouts: 1, running: 0 })
    })))

  it.effect("with retry: Schedule.recurs(2) a timing-out task makes 3 attempts, 1 s each", () =>
    Effect.scoped(Effect.gen(function*() {
      const attempts = yield* Ref.make<Array<number>>([])
      const sup = yield* Supervisor.make({
        workers: 1,
        timeout: "1 second",
        retry: Schedule.recurs(2),
        handler: (_: number) =>
          Effect.zipRight(Effect.flatMap(now, (t) => Ref.update(attempts, (a) => [...a, t])), Effect.never)
      })
      const outcome = yield* Effect.fork(Effect.either(sup.execute(1)))
      yield* TestClock.adjust("3 seconds")
      const either = yield* Fiber.join(outcome)
      expect(Either.isLeft(either) && either.left._tag).toBe("TaskTimeout")
      expect(yield* Ref.get(attempts)).toEqual([0, 1000, 2000])
      const summary = yield* sup.shutdown
      expect(summary.failures[0]).toMatchObject({ _tag: "Failure", attempts: 3 })
      expect(summary.stats).toMatchObject({ failed: 1, timeouts: 3, retries: 2 })
    })))

  it.effect("a timeout is not held up by an earlier attempt's slow finalizer; each fires at its own time", () =>
    Effect.scoped(Effect.gen(function*() {
      const ended: Array<[string, number]> = []
      const record = (what: string) => Effect.flatMap(now, (t) => Effect.sync(() => ended.push([what, t])))
      const sup = yield* Supervisor.make({
        workers: 2,
        timeout: "100 millis",
        handler: (task: { name: string; ms: number; finalizer: number }) =>
          Effect.ensuring(
            Effect.as(Effect.sleep(task.ms), task.name),
            Effect.zipRight(Effect.sleep(task.finalizer), record(`${task.name} finalized`))
          )
      })
      const a = yield* Effect.fork(Effect.either(sup.execute({ name: "a", ms: 1000, finalizer: 50 })))
      yield* TestClock.adjust("30 millis")
      const b = yield* Effect.fork(Effect.either(sup.execute({ name: "b", ms: 1000, finalizer: 0 })))
      yield* TestClock.adjust("80 millis") // t = 110: a timed out at 100 (finalizing until 150)
      yield* TestClock.adjust("20 millis") // t = 130: b times out now, not after a's finalizer
      yield* TestClock.adjust("40 millis") // t = 170
      const [ea, eb] = [yield* Fiber.join(a), yield* Fiber.join(b)]
      expect(Either.isLeft(ea) && ea.left._tag).toBe("TaskTimeout")
      expect(Either.isLeft(eb) && eb.left._tag).toBe("TaskTimeout")
      expect(ended).toEqual([["b finalized", 130], ["a finalized", 150]])
      expect(yield* sup.stats).toMatchObject({ failed: 2, timeouts: 2, running: 0 })
    })))

  it.effect("a timed handler that stops its own supervisor before it first waits is interrupted, not left running", () =>
    Effect.scoped(Effect.gen(function*() {
      const finalized: Array<number> = []
      let stopping: Effect.Effect<unknown, unknown> = Effect.void
      const sup = yield* Supervisor.make({
        workers: 1,
        timeout: "10 seconds",
        handler: (n: number) =>
          Effect.ensuring(
            // runFork runs shutdownNow until it first waits: the worker's interruption is sent
            // while this handler still runs in place
            Effect.zipRight(Effect.sync(() => void Effect.runFork(stopping)), Effect.sleep("1 hour")),
            Effect.flatMap(now, (t) => Effect.sync(() => finalized.push(n, t)))
          )
      })
      stopping = sup.shutdownNow
      const outcome = yield* Effect.fork(Effect.exit(sup.execute(1)))
      yield* settle
      expect(finalized).toEqual([1, 0])
      expect(Exit.isFailure(yield* Fiber.join(outcome))).toBe(true)
      expect(yield* sup.stats).toMatchObject({ interrupted: 1, running: 0, timeouts: 0 })
    })))

  it.effect("tasks that end in time, waiting or not, are not timed out; the scope closes after shutdown", () =>
    Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 4,
        timeout: "100 millis",
        handler: (ms: number) => ms === 0 ? Effect.succeed(ms) : Effect.as(Effect.sleep(ms), ms),
        initial: 0,
        combine: (sum: number, ms: number) => sum + ms
      })
      const tasks = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 0 : 99 - (i % 7)))
      yield* sup.submitAll(tasks)
      yield* TestClock.adjust("1 second")
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ succeeded: 40, failed: 0, timeouts: 0 })
      expect(summary.state).toBe(tasks.reduce((a, b) => a + b, 0))
    }).pipe(Effect.scoped))
})

describe("retries", () => {
  it.effect("exponential retry attempts happen at the exact times the Schedule gives", () =>
    Effect.scoped(Effect.gen(function*() {
      const attempts = yield* Ref.make<Array<number>>([])
      const sup = yield* Supervisor.make({
        workers: 1,
        retry: Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(4))),
        handler: (_: string) =>
          Effect.flatMap(now, (t) =>
            Effect.zipRight(
              Ref.update(attempts, (a) => [...a, t]),
              t < 700 ? Effect.fail(new Flaky()) : Effect.succeed("ok")
            ))
      })
      const result = yield* Effect.fork(sup.execute("x"))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(result)).toBe("ok")
      expect(yield* Ref.get(attempts)).toEqual([0, 100, 300, 700])
      const summary = yield* sup.shutdown
      expect(summary.stats).toMatchObject({ succeeded: 1, retries: 3 })
    })))

  it.effect("retries never apply to defects; exhausted retries keep the typed error", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const summary = yield* Supervisor.run(["die", "fail"], {
        workers: 1,
        retry: Schedule.recurs(3),
        handler: (task: string) =>
          Effect.zipRight(
            Ref.update(calls, (n) => n + 1),
            task === "die" ? Effect.die("bug") : Effect.fail(new Flaky())
          )
      })
      expect(yield* Ref.get(calls)).toBe(1 + 4)
      expect(summary.failures.map((f) => f._tag).sort()).toEqual(["Defect", "Failure"])
      const failure = summary.failures.find((f) => f._tag === "Failure")!
      expect(failure).toMatchObject({ attempts: 4, task: "fail" })
      expect(failure._tag === "Failure" && failure.error).toBeInstanceOf(Flaky)
    }))
})

describe("rate limit", () => {
  it.effect("limit 2 per second, 6 tasks: starts follow the token bucket exactly", () =>
    Effect.scoped(Effect.gen(function*() {
      const starts = yield* Ref.make<Array<number>>([])
      const sup = yield* Supervisor.make({
        workers: 6,
        rateLimit: { limit: 2, interval: "1 second" },
        handler: (_: number) => Effect.flatMap(now, (t) => Ref.update(starts, (s) => [...s, t]))
      })
      yield* sup.submitAll([1, 2, 3, 4, 5, 6])
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* sup.awaitIdle
      expect(yield* Ref.get(starts)).toEqual([0, 0, 500, 1000, 1500, 2000])
    })))

  it.effect("waiting for a permit is not part of the timeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const sup = yield* Supervisor.make({
        workers: 4,
        timeout: "100 millis",
        rateLimit: { limit: 1, interval: "1 second" },
        handler: (n: number) => Effect.as(Effect.sleep("50 millis"), n)
      })
      yield* sup.submitAll([1, 2, 3, 4])
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* sup.awaitIdle
      expect(yield* sup.stats).toMatchObject({ succeeded: 4, timeouts: 0 })
    })))
})

describe("resources and restarts", () => {
  it.effect("each worker owns its resource; it is released when the supervisor stops", () =>
    Effect.gen(function*() {
      const live = yield* Ref.make<Array<string>>([])
      const log = yield* Ref.make<Array<string>>([])
      let id = 0
      const resource = Effect.acquireRelease(
        Effect.sync(() => `r${++id}`).pipe(Effect.tap((r) => Ref.update(live, (l) => [...l, r]))),
        (r) => Ref.update(live, (l) => l.filter((x) => x !== r))
      )
      const summary = yield* Supervisor.run(Array.from({ length: 20 }, (_, i) => i), {
        workers: 3,
        resource,
        handler: (task: number, r: string) =>
          Effect.zipRight(Ref.update(log, (l) => [...l, `${task}:${r}`]), Effect.sleep("10 millis"))
      }).pipe(Effect.fork, Effect.tap(() => TestClock.adjust("1 second")), Effect.flatMap(Fiber.join))
      expect(summary.stats.succeeded).toBe(20)
      expect(yield* Ref.get(live)).toEqual([])
      const used = new Set((yield* Ref.get(log)).map((l) => l.split(":")[1]))
      expect([...used].sort()).toEqual(["r1", "r2", "r3"])
    }))

  it.effect("a resource whose acquire fails twice: restarts twice after the backoff delays, then serves", () =>
    Effect.scoped(Effect.gen(function*() {
      const attempts = yield* Ref.make<Array<number>>([])
      const releases = yield* Ref.make(0)
      const resource = Effect.acquireRelease(
        Effect.flatMap(
          now,
          (t) =>
            Effect.flatMap(
              Ref.updateAndGet(attempts, (a) => [...a, t]),
              (a) => a.length <= 2 ? Effect.fail("connection refused") : Effect.succeed(a.length)
            )
        ),
        () => Ref.update(releases, (r) => r + 1)
      )
      const sup = yield* Supervisor.make({
        workers: 1,
        resource,
        restart: Restart.policy({ backoff: Schedule.exponential("10 millis") }),
        handler: (task: number, conn: number) => Effect.succeed(task * 10 + conn)
      })
      const result = yield* Effect.fork(sup.execute(1))
      yield* TestClock.adjust("9 millis")
      expect(yield* Ref.get(attempts)).toEqual([0])
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(result)).toBe(13)
      expect(yield* Ref.get(attempts)).toEqual([0, 10, 30])
      const summary = yield* sup.shutdown
      expect(summary.stats.restarts).toBe(2)
      expect(yield* Ref.get(releases)).toBe(1)
    })))

  it.effect("a task failing with WorkerCrashed restarts its worker with a fresh resource", () =>
    Effect.scoped(Effect.gen(function*() {
      const acquired = yield* Ref.make(0)
      const released = yield* Ref.make(0)
      const resource = Effect.acquireRelease(
        Ref.updateAndGet(acquired, (n) => n + 1),
        () => Ref.update(released, (n) => n + 1)
      )
      const sup = yield* Supervisor.make({
        workers: 1,
        resource,
        handler: (task: string, generation: number) =>
          task === "crash"
            ? Effect.fail(new Errors.WorkerCrashed({ cause: "socket closed" }))
            : Effect.succeed(generation)
      })
      expect(yield* sup.execute("a")).toBe(1)
      const crashed = yield* Effect.flip(sup.execute("crash"))
      expect(crashed).toBeInstanceOf(Errors.WorkerCrashed)
      const next = yield* Effect.fork(sup.execute("b"))
      yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.join(next)).toBe(2)
      yield* sup.shutdown
      expect(yield* Ref.get(acquired)).toBe(2)
      expect(yield* Ref.get(released)).toBe(2)
      expect((yield* sup.stats).restarts).toBe(1)
    })))

  it.effect("a crash loop beyond maxRestarts escalates: nothing left running, no task lost", () =>
    Effect.gen(function*() {
      const acquired = yield* Ref.make(0)
      const released = yield* Ref.make(0)
      const resource = Effect.acquireRelease(
        Ref.update(acquired, (n) => n + 1),
        () => Ref.update(released, (n) => n + 1)
      )
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const sup = yield* Supervisor.make({
          workers: 3,
          resource,
          restart: Restart.policy({ maxRestarts: 1, within: "1 minute", backoff: Schedule.spaced("100 millis") }),
          handler: (task: number) =>
            task % 2 === 0 ? Effect.fail(new Errors.WorkerCrashed({ cause: "boom" })) : Effect.never
        })
        yield* sup.submitAll(Array.from({ length: 20 }, (_, i) => i))
        const waiter = yield* Effect.fork(Effect.either(sup.awaitIdle))
        yield* TestClock.adjust("10 seconds")
        const idle = yield* Fiber.join(waiter)
        const shutdown = yield* Effect.either(sup.shutdown)
        return { idle, shutdown, stats: yield* sup.stats }
      }))
      expect(Either.isLeft(outcome.idle) && outcome.idle.left).toBeInstanceOf(Errors.Escalated)
      expect(Either.isLeft(outcome.shutdown) && outcome.shutdown.left).toMatchObject({ _tag: "Escalated", restarts: 2 })
      const s = outcome.stats
      expect(s.running).toBe(0)
      expect(s.queued).toBe(0)
      expect(s.interrupted).toBeGreaterThan(0)
      expect(s.succeeded + s.failed + s.defects + s.interrupted + s.dropped).toBe(20)
      expect(yield* Ref.get(acquired)).toBe(yield* Ref.get(released))
    }))

  it.effect("run fails with Escalated when the restart policy gives up", () =>
    Effect.gen(function*() {
      const run = Supervisor.run([1, 2, 3], {
        workers: 1,
        resource: Effect.fail("unreachable"),
        restart: Restart.policy({ maxRestarts: 2, backoff: Schedule.spaced("1 second") }),
        handler: (n: number) => Effect.succeed(n)
      })
      const fiber = yield* Effect.fork(Effect.flip(run))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "Escalated", restarts: 3 })
    }))

  it.effect("one-for-all restarts every worker's resource", () =>
    Effect.scoped(Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      let id = 0
      const resource = Effect.acquireRelease(
        Effect.sync(() => ++id).pipe(Effect.tap((r) => Ref.update(log, (l) => [...l, `+${r}`]))),
        (r) => Ref.update(log, (l) => [...l, `-${r}`])
      )
      const sup = yield* Supervisor.make({
        workers: 3,
        resource,
        restart: Restart.policy({ strategy: "one-for-all" }),
        handler: (task: string, r: number) =>
          task === "crash" ? Effect.fail(new Errors.WorkerCrashed({ cause: "shared state broken" })) : Effect.succeed(r)
      })
      yield* settle
      expect(yield* Ref.get(log)).toEqual(["+1", "+2", "+3"])
      yield* Effect.flip(sup.execute("crash"))
      yield* TestClock.adjust("1 second")
      const after = yield* Ref.get(log)
      expect(after.filter((l) => l.startsWith("-")).sort()).toEqual(["-1", "-2", "-3"])
      expect(after.filter((l) => l.startsWith("+")).length).toBe(6)
      const generations = yield* Effect.forEach(["a", "b", "c", "d", "e", "f"], (t) => sup.execute(t), {
        concurrency: "unbounded"
      })
      expect(generations.every((g) => g > 3)).toBe(true)
      expect((yield* sup.stats).restarts).toBe(1)
    })))
})

describe("observability", () => {
  it.effect("metrics labelled with the name equal the stats after a known run", () =>
    Effect.gen(function*() {
      const summary = yield* Supervisor.run(Array.from({ length: 12 }, (_, i) => i), {
        workers: 3,
        name: "metrics-test",
        spans: false,
        handler: (n: number) =>
          n % 4 === 0 ? Effect.fail(new Flaky()) : n % 4 === 1 ? Effect.die("x") : Effect.succeed(n)
      })
      const counter = (name: string) =>
        Metric.value(Metric.counter(`supervisor_tasks_${name}`).pipe(Metric.tagged("supervisor", "metrics-test")))
      expect((yield* counter("submitted")).count).toBe(12)
      expect((yield* counter("succeeded")).count).toBe(6)
      expect((yield* counter("failed")).count).toBe(3)
      expect((yield* counter("defects")).count).toBe(3)
      expect(summary.stats).toMatchObject({ submitted: 12, succeeded: 6, failed: 3, defects: 3 })
      const snapshot = yield* Metric.snapshot
      const histogram = (name: string) =>
        snapshot.find((pair) =>
          pair.metricKey.name === name &&
          pair.metricKey.tags.some((tag) => tag.key === "supervisor" && tag.value === "metrics-test")
        )?.metricState as { count: number } | undefined
      expect(histogram("supervisor_task_duration_ms")?.count).toBe(12)
      expect(histogram("supervisor_task_queued_ms")?.count).toBe(12)
    }))

  it.effect("a span per task named <name>.task carries the attempt count", () =>
    Effect.gen(function*() {
      const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
      const native = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (...args) => {
          const span = native.span(...args)
          spans.push(span as unknown as (typeof spans)[number])
          return span
        },
        context: (f, fiber) => native.context(f, fiber)
      })
      yield* Supervisor.run([1, 2], {
        workers: 1,
        name: "jobs",
        retry: Schedule.recurs(1),
        handler: (n: number) => n === 1 ? Effect.fail(new Flaky()) : Effect.succeed(n)
      }).pipe(Effect.withTracer(tracer))
      const taskSpans = spans.filter((s) => s.name === "jobs.task")
      expect(taskSpans.length).toBe(2)
      expect(taskSpans.map((s) => s.attributes.get("attempts")).sort()).toEqual([1, 2])
    }))
})
